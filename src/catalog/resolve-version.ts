// Checks connectionSpec.version against the versions a connection spec accepts.
import type { FieldError, Notice } from './credentials-check.js'
import type { ConnectionSpec } from './types.js'
import { listing, quoteShort } from './message-text.js'

export type VersionResolution = { ok: true; version: string; notices: Notice[] } | { ok: false; error: FieldError }

const PATH = '/connectionSpec/version'

export function resolveVersion(spec: ConnectionSpec, version: unknown): VersionResolution {
  const accepted = listing(spec.versions.map((v) => JSON.stringify(v)))
  if (typeof version !== 'string') {
    return {
      ok: false,
      error: { path: PATH, message: `connectionSpec.version must be a string; ${spec.name} accepts ${accepted}.` }
    }
  }
  const trimmed = version.trim()
  // `1` for `1.0` is the same version written short, as with apiVersion; anything else is a real mismatch.
  const found = spec.versions.find((v) => v === trimmed || (/^\d+$/.test(trimmed) && v === `${trimmed}.0`))
  if (found === undefined) {
    return {
      ok: false,
      error: { path: PATH, message: `Unknown version ${quoteShort(version)} for ${spec.name}. Accepted: ${accepted}.` }
    }
  }
  const notices =
    found === version
      ? []
      : [{ path: PATH, message: `connectionSpec.version ${quoteShort(version)} written as "${found}".` }]
  return { ok: true, version: found, notices }
}
