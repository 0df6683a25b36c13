// Reads whatever users paste for a Marketing Cloud tenant (bare subdomain, REST/auth/SOAP host or URL) into its parts.
import { isDnsLabel } from './hostname.js'

export const MARKETING_CLOUD_DOMAIN = 'marketingcloudapis.com'

export interface MarketingCloudAddress {
  /** The tenant subdomain, e.g. acme-ab12c3d4e5fg6hijk7lmnop8qrst; undefined when it could not be read. */
  subdomain: string | undefined
  /** Which endpoint host was given: `rest`, `auth`, `soap`; undefined for a bare subdomain. */
  service: 'rest' | 'auth' | 'soap' | undefined
  /** A path, query or other part beyond the host and one trailing slash was given. */
  hasExtra: boolean
  /** What was stripped or changed to get here, for the notice. */
  changes: string[]
}

const HOST = /^([a-z0-9-]+)\.(rest|auth|soap)\.marketingcloudapis\.com$/

/** Parses a trimmed value. Never throws; an unreadable value gives `subdomain: undefined`. */
export function parseMarketingCloudAddress(trimmed: string): MarketingCloudAddress {
  const changes: string[] = []
  let rest = trimmed.toLowerCase()
  if (rest !== trimmed) changes.push('lower-cased')
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//.exec(rest)
  if (scheme !== null) {
    // Only the host is kept, so http and https are equally harmless to strip; any other scheme is a mistake.
    if (scheme[1] !== 'https' && scheme[1] !== 'http')
      return { subdomain: undefined, service: undefined, hasExtra: true, changes }
    rest = rest.slice(scheme[0].length)
    changes.push(`${scheme[1]}:// removed`)
  }
  let hasExtra = false
  const slash = rest.search(/[/?#]/)
  if (slash >= 0) {
    const tail = rest.slice(slash)
    rest = rest.slice(0, slash)
    if (tail === '/') changes.push('trailing slash removed')
    else hasExtra = true
  }
  if (/[@:\s]/.test(rest)) return { subdomain: undefined, service: undefined, hasExtra: true, changes }
  if (isDnsLabel(rest)) return { subdomain: rest, service: undefined, hasExtra, changes }
  const m = HOST.exec(rest)
  if (m?.[1] !== undefined && isDnsLabel(m[1])) {
    return { subdomain: m[1], service: m[2] as 'rest' | 'auth' | 'soap', hasExtra, changes }
  }
  return { subdomain: undefined, service: undefined, hasExtra, changes }
}

/** `{subdomain}.rest.marketingcloudapis.com`, the `host` the Client-Id-Secret auth spec takes. */
export function marketingCloudRestHost(subdomain: string): string {
  return `${subdomain}.rest.${MARKETING_CLOUD_DOMAIN}`
}
