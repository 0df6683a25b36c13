// Checks one present param value against its catalogue format and normalises it where that is safe.
// Secret values are never altered and never appear in a message; other values appear only when short.
import type { NormalisedParamValue } from './credentials-check.js'
import type { ParamFormat, ParamSpec } from './types.js'
import { isHostname } from './hostname.js'
import { marketingCloudRestHost, parseMarketingCloudAddress } from './marketing-cloud-address.js'
import { describeType, nameForMessage, quoteShort } from './message-text.js'

/** Longest value accepted for any param, in UTF-16 code units (a JWT is far shorter; this bounds storage and logs). */
export const MAX_PARAM_LENGTH = 4096

export type ParamValueCheck =
  { ok: true; value: NormalisedParamValue; notes: string[] } | { ok: false; message: string }

type FormatCheck = (param: ParamSpec, trimmed: string) => ParamValueCheck

const ok = (value: NormalisedParamValue, notes: string[] = []): ParamValueCheck => ({ ok: true, value, notes })
const fail = (message: string): ParamValueCheck => ({ ok: false, message })

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/

/** `value` is what the caller sent for `param` (present and not null; the caller handles absence). */
export function normaliseParamValue(param: ParamSpec, value: unknown): ParamValueCheck {
  const name = nameForMessage(param.name)
  if (param.format === 'boolean') return normaliseBoolean(param, value)
  if (param.format === 'api-version' && typeof value === 'number') return apiVersionFromNumber(param, value)
  if (typeof value !== 'string') return fail(`${name} must be a string, not ${describeType(value)}.`)
  if (value.length > MAX_PARAM_LENGTH)
    return fail(`${name} is too long: ${value.length} characters, at most ${MAX_PARAM_LENGTH}.`)
  const trimmed = value.trim()
  if (trimmed === '') return fail(`${name} must not be empty: ${param.description}`)
  if (param.secret) {
    // Stored and sent exactly as given: a password may really end in a space, and guessing would lock users out.
    const notes =
      trimmed === value
        ? []
        : [
            `${name} starts or ends with whitespace; it was kept exactly as sent because secrets are never altered. Check that this is intended.`
          ]
    return ok(value, notes)
  }
  if (CONTROL.test(trimmed)) return fail(`${name} must not contain control characters such as line breaks or tabs.`)
  const checked = FORMATS[param.format](param, trimmed)
  if (checked.ok && trimmed !== value) {
    return ok(checked.value, [`${name}: leading and trailing whitespace removed.`, ...checked.notes])
  }
  return checked
}

const FORMATS: Record<Exclude<ParamFormat, 'boolean'>, FormatCheck> = {
  text: (_param, trimmed) => ok(trimmed),
  'salesforce-url': salesforceUrl,
  'https-url': httpsUrl,
  'api-version': apiVersion,
  'marketing-cloud-rest-host': marketingCloudRestHostFormat,
  'marketing-cloud-subdomain': marketingCloudSubdomain,
  hostname
}

function normaliseBoolean(param: ParamSpec, value: unknown): ParamValueCheck {
  const name = nameForMessage(param.name)
  if (typeof value === 'boolean') return ok(value)
  if (typeof value === 'string') {
    const word = value.trim().toLowerCase()
    if (word === 'true' || word === 'false') {
      return ok(word === 'true', [
        `${name} was the string ${quoteShort(value)}; converted to the JSON boolean ${word}.`
      ])
    }
  }
  return fail(`${name} must be a boolean, true or false, not ${describeType(value)}.`)
}

const API_VERSION = /^\d{2,3}\.\d$/

function apiVersion(param: ParamSpec, trimmed: string): ParamValueCheck {
  const name = nameForMessage(param.name)
  if (API_VERSION.test(trimmed)) return ok(trimmed)
  // Adobe's docs: "if you are using API version 52, then you must input the value as 52.0".
  if (/^\d{2,3}$/.test(trimmed)) {
    return ok(`${trimmed}.0`, [
      `${name} ${quoteShort(trimmed)} written with a decimal as "${trimmed}.0", as the Salesforce source requires.`
    ])
  }
  return fail(
    `${name} must be a Salesforce REST API version with one decimal, such as "${param.example ?? '60.0'}"; got ${quoteShort(trimmed)}.`
  )
}

function apiVersionFromNumber(param: ParamSpec, value: number): ParamValueCheck {
  const name = nameForMessage(param.name)
  // JSON `60.0` parses to 60: the decimal the docs insist on is restored, as a string.
  const text = Number.isInteger(value) ? `${value}.0` : String(value)
  if (!API_VERSION.test(text)) {
    return fail(
      `${name} must be a Salesforce REST API version string with one decimal, such as "${param.example ?? '60.0'}".`
    )
  }
  return ok(text, [`${name} was the number ${text}; sent as the string "${text}", which Flow Service expects.`])
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i

function salesforceUrl(param: ParamSpec, trimmed: string): ParamValueCheck {
  const name = nameForMessage(param.name)
  const example = param.example ?? 'https://acme.my.salesforce.com'
  const expected = `${name} must be the https URL of a Salesforce instance, such as ${example}`
  const changes: string[] = []
  let text = trimmed
  const scheme = SCHEME.exec(text)
  if (scheme === null) {
    // A bare host is unambiguous: Salesforce instances are only reachable over https.
    if (!/^[a-z0-9.-]+\/?$/i.test(text)) return fail(`${expected}.`)
    text = `https://${text}`
    changes.push('https:// added')
  }
  const url = parseUrl(text)
  if (url === undefined) return fail(`${expected}.`)
  // Userinfo may hold a password: say nothing about the URL's content.
  if (url.username !== '' || url.password !== '')
    return fail(`${name} must not contain a user name or password; send the instance URL alone, such as ${example}.`)
  const host = url.hostname
  const suggestion = host.endsWith('.salesforce.com') && isHostname(host) ? `https://${host}` : example
  if (url.protocol === 'http:') return fail(`${name} must use https, not http: send ${suggestion}`)
  if (url.protocol !== 'https:') return fail(`${expected}.`)
  if (!isHostname(host)) return fail(`${expected}.`)
  if (host.endsWith('.force.com')) {
    // Lightning and Visualforce hosts serve the UI; the API lives on the My Domain host.
    const myDomain = host.replace(/\.lightning\.force\.com$/, '.my.salesforce.com')
    const hint = myDomain.endsWith('.my.salesforce.com')
      ? `probably https://${myDomain}`
      : `it ends in .my.salesforce.com, such as ${example}`
    return fail(
      `${name} is a Salesforce user-interface address (${quoteShort(host)}); send the My Domain URL of the instance: ${hint}.`
    )
  }
  if (!host.endsWith('.salesforce.com'))
    return fail(`${expected}; the host must end in .salesforce.com, got ${quoteShort(host)}.`)
  if (url.port !== '') return fail(`${name} must not name a port: send ${suggestion}`)
  if (url.search !== '' || url.hash !== '' || trimmed.includes('?') || trimmed.includes('#')) {
    return fail(`${name} must not have a query or fragment: send ${suggestion}`)
  }
  if (url.pathname !== '/') return fail(`${name} must be the instance URL alone, without a path: send ${suggestion}`)
  const canonical = `https://${host}`
  if (text.endsWith('/')) changes.push('trailing slash removed')
  const asSent = text.replace(/\/$/, '')
  if (asSent !== canonical)
    changes.push(asSent.toLowerCase() === canonical ? 'lower-cased' : 'written in canonical form')
  return changes.length === 0
    ? ok(canonical)
    : ok(canonical, [`${name} normalised to ${canonical} (${changes.join(', ')}).`])
}

function httpsUrl(param: ParamSpec, trimmed: string): ParamValueCheck {
  const name = nameForMessage(param.name)
  const url = parseUrl(trimmed)
  const expected = `${name} must be an https URL${param.example === undefined ? '' : `, such as ${param.example}`}`
  if (url === undefined || !SCHEME.test(trimmed)) return fail(`${expected}.`)
  if (url.username !== '' || url.password !== '') return fail(`${name} must not contain a user name or password.`)
  if (url.protocol === 'http:') return fail(`${name} must use https, not http.`)
  if (url.protocol !== 'https:') return fail(`${expected}.`)
  return ok(trimmed)
}

function marketingCloudRestHostFormat(param: ParamSpec, trimmed: string): ParamValueCheck {
  const name = nameForMessage(param.name)
  const example = param.example ?? marketingCloudRestHost('acme-ab12c3d4e5fg6hijk7lmnop8qrst')
  const address = parseMarketingCloudAddress(trimmed)
  const sub = address.subdomain
  if (sub === undefined) {
    return fail(
      `${name} must be the REST host of your Marketing Cloud tenant, {subdomain}.rest.marketingcloudapis.com, such as ${example}; ` +
        'the subdomain is the first part of your auth URL https://{subdomain}.auth.marketingcloudapis.com/.'
    )
  }
  const restHost = marketingCloudRestHost(sub)
  if (address.hasExtra) return fail(`${name} must be a host name without path or query: send ${restHost}`)
  switch (address.service) {
    case undefined:
      return ok(restHost, [
        `${name} was the bare subdomain ${quoteShort(sub)}; expanded to ${restHost}, the {subdomain}.rest.marketingcloudapis.com host the Marketing Cloud source requires.`
      ])
    case 'auth':
      return ok(restHost, [
        `${name} was the tenant's auth host (${sub}.auth.marketingcloudapis.com); replaced by the REST host of the same tenant, ${restHost}, which the Marketing Cloud source requires.`
      ])
    case 'soap':
      return fail(
        `${name} is the SOAP host of your tenant; the Marketing Cloud source needs its REST host: send ${restHost}`
      )
    case 'rest':
      return address.changes.length === 0
        ? ok(restHost)
        : ok(restHost, [`${name} normalised to ${restHost} (${address.changes.join(', ')}).`])
  }
}

function marketingCloudSubdomain(param: ParamSpec, trimmed: string): ParamValueCheck {
  const name = nameForMessage(param.name)
  const address = parseMarketingCloudAddress(trimmed)
  const sub = address.subdomain
  if (sub === undefined) {
    return fail(
      `${name} must be your Marketing Cloud tenant subdomain, such as ${param.example ?? 'acme-ab12c3d4e5fg6hijk7lmnop8qrst'}: ` +
        'the first part of your auth URL https://{subdomain}.auth.marketingcloudapis.com/.'
    )
  }
  if (address.hasExtra) return fail(`${name} must be the tenant subdomain alone: send ${sub}`)
  if (address.service !== undefined) {
    // The REST, auth and SOAP hosts of a tenant share its subdomain, so keeping that part is exact.
    return ok(sub, [
      `${name} was a host name (${sub}.${address.service}.marketingcloudapis.com); only its subdomain ${quoteShort(sub)} is kept.`
    ])
  }
  return address.changes.length === 0
    ? ok(sub)
    : ok(sub, [`${name} normalised to ${quoteShort(sub)} (${address.changes.join(', ')}).`])
}

function hostname(param: ParamSpec, trimmed: string): ParamValueCheck {
  const name = nameForMessage(param.name)
  const expected = `${name} must be a bare host name${param.example === undefined ? '' : `, such as ${param.example}`}, without scheme, port or path`
  const changes: string[] = []
  let text = trimmed
  const scheme = /^(https?):\/\//i.exec(text)
  if (scheme !== null) {
    text = text.slice(scheme[0].length)
    changes.push(`${scheme[1]?.toLowerCase() ?? ''}:// removed`)
  }
  if (text.endsWith('/')) {
    text = text.slice(0, -1)
    changes.push('trailing slash removed')
  }
  const lower = text.toLowerCase()
  if (lower !== text) changes.push('lower-cased')
  if (!isHostname(lower)) return fail(`${expected}.`)
  return changes.length === 0
    ? ok(lower)
    : ok(lower, [`${name} normalised to ${quoteShort(lower)} (${changes.join(', ')}).`])
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text)
  } catch {
    return undefined
  }
}
