// Finds the auth spec a request names within its connection spec, forgiving case, spacing and punctuation only.
import type { FieldError, Notice } from './credentials-check.js'
import type { AuthSpec, ConnectionSpec } from './types.js'
import { listing, quoteShort } from './message-text.js'

export type AuthSpecResolution = { ok: true; authSpec: AuthSpec; notices: Notice[] } | { ok: false; error: FieldError }

const PATH = '/auth/specName'

/**
 * The key two names must share to be the same auth spec: letters and digits, lower-cased.
 * "basic authentication" and "OAuth 2 Client Credential" (as Adobe's tab titles spell it) then match,
 * and no two auth specs of one source share a key (the catalogue tests check it).
 */
export function authSpecKey(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '')
}

/** `params` only feeds a hint ("the params you sent fit ...") when the name matches nothing. */
export function resolveAuthSpec(
  spec: ConnectionSpec,
  specName: unknown,
  params: unknown,
  specs: readonly ConnectionSpec[]
): AuthSpecResolution {
  const accepted = spec.authSpecs.map((a) => JSON.stringify(a.name))
  if (typeof specName !== 'string') {
    return {
      ok: false,
      error: { path: PATH, message: `auth.specName must be a string. ${spec.name} accepts ${listing(accepted)}.` }
    }
  }
  const exact = spec.authSpecs.find((a) => a.name === specName)
  if (exact !== undefined) return { ok: true, authSpec: exact, notices: [] }
  const key = authSpecKey(specName)
  const near = spec.authSpecs.find((a) => authSpecKey(a.name) === key)
  if (near !== undefined && key !== '') {
    return {
      ok: true,
      authSpec: near,
      notices: [
        {
          path: PATH,
          message: `auth.specName ${quoteShort(specName)} resolved to "${near.name}", the exact name Flow Service expects.`
        }
      ]
    }
  }
  const hints: string[] = []
  const elsewhere = specs.filter((s) => s !== spec && s.authSpecs.some((a) => authSpecKey(a.name) === key))
  if (elsewhere.length > 0 && key !== '') {
    hints.push(`That auth spec belongs to ${listing(elsewhere.map((s) => s.name))}: check connectionSpec.id.`)
  }
  const fitting = authSpecsFitting(spec, params)
  if (fitting.length === 1 && fitting[0] !== undefined) hints.push(`The params sent fit "${fitting[0].name}".`)
  return {
    ok: false,
    error: {
      path: PATH,
      message: [
        `Unknown auth spec ${quoteShort(specName)} for ${spec.name}. Accepted: ${listing(accepted)}.`,
        ...hints
      ].join(' ')
    }
  }
}

/** Auth specs whose required params were all sent and that know every param sent. */
function authSpecsFitting(spec: ConnectionSpec, params: unknown): AuthSpec[] {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return []
  const sent = Object.keys(params)
  if (sent.length === 0) return []
  return spec.authSpecs.filter(
    (a) =>
      a.params.every((p) => !p.required || sent.includes(p.name)) &&
      sent.every((name) => a.params.some((p) => p.name === name))
  )
}
