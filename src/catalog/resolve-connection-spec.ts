// Finds the connection spec a request names: by id, case- and whitespace-insensitively, or by a known mistyped alias.
import type { FieldError, Notice } from './credentials-check.js'
import type { ConnectionSpec } from './types.js'
import { quoteShort } from './message-text.js'

export type ConnectionSpecResolution =
  { ok: true; spec: ConnectionSpec; notices: Notice[] } | { ok: false; error: FieldError }

const PATH = '/connectionSpec/id'

export function resolveConnectionSpec(id: unknown, specs: readonly ConnectionSpec[]): ConnectionSpecResolution {
  if (typeof id !== 'string') {
    return {
      ok: false,
      error: { path: PATH, message: `connectionSpec.id must be a string. Accepted ids: ${acceptedIds(specs)}.` }
    }
  }
  const key = id.trim().toLowerCase()
  for (const spec of specs) {
    if (spec.id.toLowerCase() === key) {
      const notices =
        id === spec.id
          ? []
          : [
              {
                path: PATH,
                message: `connectionSpec.id written in its canonical form ${spec.id} (${spec.name}); ids are compared without case or surrounding whitespace.`
              }
            ]
      return { ok: true, spec, notices }
    }
  }
  for (const spec of specs) {
    const alias = spec.aliases.find((a) => a.id.toLowerCase() === key)
    if (alias !== undefined) {
      return {
        ok: true,
        spec,
        notices: [
          {
            path: PATH,
            message: `connectionSpec.id ${alias.id} was replaced by ${spec.id} (${spec.name}): ${alias.why}`
          }
        ]
      }
    }
  }
  return {
    ok: false,
    error: { path: PATH, message: `Unknown connection spec id ${quoteShort(id)}. Accepted ids: ${acceptedIds(specs)}.` }
  }
}

/** `cfc0fee1-… (Salesforce), ba5126ec-… (Oracle Service Cloud, beta)`. */
function acceptedIds(specs: readonly ConnectionSpec[]): string {
  return specs.map((s) => `${s.id} (${s.name}${s.beta === true ? ', beta' : ''})`).join(', ')
}
