// Checks auth.params against one auth spec: missing, unknown and malformed params, each with its own error.
import type { FieldError, Notice, NormalisedParamValue } from './credentials-check.js'
import type { AuthSpec, ConnectionSpec, ParamSpec } from './types.js'
import { jsonPointer } from './json-pointer.js'
import { describeType, listing, nameForMessage } from './message-text.js'
import { normaliseParamValue } from './normalise-param-value.js'

export interface ParamsCheck {
  /** The params that passed, normalised, in catalogue order. */
  params: Record<string, NormalisedParamValue>
  notices: Notice[]
  errors: FieldError[]
}

/** Beyond this many unknown params the rest are summed up in one error, so a junk body cannot inflate the answer. */
const MAX_UNKNOWN_REPORTED = 20
/** Longer names cannot be a param of any spec; they are reported without a path to them. */
const MAX_NAME_LENGTH = 128

const PARAMS_PATH = '/auth/params'

export function checkParams(
  spec: ConnectionSpec,
  authSpec: AuthSpec,
  params: unknown,
  specs: readonly ConnectionSpec[]
): ParamsCheck {
  const out: Record<string, NormalisedParamValue> = {}
  const notices: Notice[] = []
  const errors: FieldError[] = []
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    errors.push({
      path: PARAMS_PATH,
      message: `auth.params must be an object of param names to values, not ${describeType(params)}. ${acceptedParams(authSpec)}`
    })
    return { params: out, notices, errors }
  }
  const sent = params as Record<string, unknown>

  const unknown = Object.keys(sent).filter((name) => !authSpec.params.some((p) => p.name === name))
  for (const name of unknown.slice(0, MAX_UNKNOWN_REPORTED)) {
    errors.push(
      name.length > MAX_NAME_LENGTH
        ? {
            path: PARAMS_PATH,
            message: `A param name of ${name.length} characters is not a param of "${authSpec.name}". ${acceptedParams(authSpec)}`
          }
        : { path: jsonPointer('auth', 'params', name), message: unknownParamMessage(name, spec, authSpec, specs) }
    )
  }
  if (unknown.length > MAX_UNKNOWN_REPORTED) {
    errors.push({
      path: PARAMS_PATH,
      message: `${unknown.length - MAX_UNKNOWN_REPORTED} more unknown params are not listed. ${acceptedParams(authSpec)}`
    })
  }

  for (const param of authSpec.params) {
    const path = jsonPointer('auth', 'params', param.name)
    const name = nameForMessage(param.name)
    const value = Object.hasOwn(sent, param.name) ? sent[param.name] : undefined
    if (value === undefined) {
      if (param.required) errors.push({ path, message: `Missing required param ${name}: ${param.description}` })
      continue
    }
    if (!param.required && (value === null || (typeof value === 'string' && value.trim() === ''))) {
      // The docs say an optional param "left blank" means the default (e.g. the latest apiVersion): leave it out.
      notices.push({
        path,
        message: `${name} was ${value === null ? 'null' : 'empty'} and is left out, so Flow Service applies its default.`
      })
      continue
    }
    const checked = normaliseParamValue(param, value)
    if (!checked.ok) {
      errors.push({ path, message: checked.message })
      continue
    }
    out[param.name] = checked.value
    for (const message of checked.notes) notices.push({ path, message })
  }
  return { params: out, notices, errors }
}

function unknownParamMessage(
  name: string,
  spec: ConnectionSpec,
  authSpec: AuthSpec,
  specs: readonly ConnectionSpec[]
): string {
  const shown = nameForMessage(name)
  const parts = [`Unknown param ${shown} for auth spec "${authSpec.name}" of ${spec.name}.`]
  const loose = (n: string): string => n.toLowerCase().replace(/[^a-z0-9]/g, '')
  const near = authSpec.params.find((p) => loose(p.name) === loose(name))
  const siblings = spec.authSpecs.filter((a) => a !== authSpec && hasParam(a, name))
  const others = specs.filter((s) => s !== spec && s.authSpecs.some((a) => hasParam(a, name)))
  if (near !== undefined) {
    parts.push(`Did you mean \`${near.name}\`? Param names are case-sensitive.`)
  } else if (siblings.length > 0) {
    const which = siblings.length === 1 ? 'that auth.specName' : 'one of those auth.specName values'
    parts.push(
      `${shown} belongs to ${listing(siblings.map((a) => `"${a.name}"`))} of ${spec.name}: send it with ${which}, or leave it out.`
    )
  } else if (others.length > 0) {
    parts.push(
      `${shown} is a param of ${listing(others.map((s) => s.name))}, not of ${spec.name}: check connectionSpec.id.`
    )
  }
  parts.push(acceptedParams(authSpec))
  return parts.join(' ')
}

function hasParam(authSpec: AuthSpec, name: string): boolean {
  return authSpec.params.some((p: ParamSpec) => p.name === name)
}

function acceptedParams(authSpec: AuthSpec): string {
  return `Accepted params: ${listing(authSpec.params.map((p) => `${p.name}${p.required ? '' : ' (optional)'}`))}.`
}
