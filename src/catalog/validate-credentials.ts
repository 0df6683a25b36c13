// Validates a Flow Service-shaped credentials body against the catalogue and splits its params into secret and public.
import type {
  CredentialsCheck,
  CredentialsInput,
  FieldError,
  NormalisedParamValue,
  RejectedCredentials
} from './credentials-check.js'
import type { ConnectionSpec } from './types.js'
import { catalog } from './catalog.js'
import { checkParams } from './check-params.js'
import { resolveAuthSpec } from './resolve-auth-spec.js'
import { resolveConnectionSpec } from './resolve-connection-spec.js'
import { resolveVersion } from './resolve-version.js'

export type { CredentialsCheck, CredentialsInput, Notice, FieldError } from './credentials-check.js'

/**
 * Never throws, whatever the input holds at run time (the HTTP schema may be looser than the types).
 * Every message names the field and what to send; none contains a secret value.
 */
export function validateCredentials(
  input: CredentialsInput,
  specs: readonly ConnectionSpec[] = catalog
): CredentialsCheck {
  const body: unknown = input
  const connectionSpec = field(body, 'connectionSpec')
  const auth = field(body, 'auth')

  const resolved = resolveConnectionSpec(field(connectionSpec, 'id'), specs)
  if (!resolved.ok) {
    return reject('unknown_connection_spec', 'connectionSpec.id names no connection spec this broker accepts.', [
      resolved.error
    ])
  }
  const { spec } = resolved
  const version = resolveVersion(spec, field(connectionSpec, 'version'))
  const params = field(auth, 'params')
  const authSpec = resolveAuthSpec(spec, field(auth, 'specName'), params, specs)
  const versionErrors = version.ok ? [] : [version.error]
  if (!authSpec.ok) {
    return reject('unknown_auth_spec', `${spec.name} has no such auth spec; see errors for the accepted names.`, [
      ...versionErrors,
      authSpec.error
    ])
  }
  const checked = checkParams(spec, authSpec.authSpec, params, specs)
  if (!version.ok) {
    return reject(
      'unknown_version',
      `${spec.name} accepts connectionSpec.version ${spec.versions.map((v) => `"${v}"`).join(', ')} only.`,
      [version.error, ...checked.errors]
    )
  }
  if (checked.errors.length > 0) {
    const count = new Set(checked.errors.map((e) => e.path)).size
    return reject(
      'invalid_params',
      `${count === 1 ? 'One param is' : `${count} params are`} wrong for ${spec.name} "${authSpec.authSpec.name}"; see errors.`,
      checked.errors
    )
  }

  const secretParams: Record<string, string> = {}
  const publicParams: Record<string, NormalisedParamValue> = {}
  for (const param of authSpec.authSpec.params) {
    const value = checked.params[param.name]
    if (value === undefined) continue
    if (param.secret) secretParams[param.name] = String(value)
    else publicParams[param.name] = value
  }
  return {
    ok: true,
    spec,
    version: version.version,
    authSpec: authSpec.authSpec,
    params: checked.params,
    secretParams,
    publicParams,
    notices: [...resolved.notices, ...version.notices, ...authSpec.notices, ...checked.notices]
  }
}

function reject(reason: RejectedCredentials['reason'], detail: string, errors: FieldError[]): RejectedCredentials {
  return { ok: false, reason, detail, errors }
}

/** Reads an own property of something that should be an object, without trusting that it is. */
function field(value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined
  return (value as Record<string, unknown>)[key]
}
