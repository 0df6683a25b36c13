// DNS syntax checks shared by the host-like param formats (lower-case input expected).

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/** One DNS label, e.g. a Marketing Cloud tenant subdomain. */
export function isDnsLabel(value: string): boolean {
  return LABEL.test(value)
}

/** A host name of dot-separated DNS labels (no scheme, port or path). */
export function isHostname(value: string): boolean {
  return value.length <= 253 && value.split('.').every(isDnsLabel)
}
