// Validates create bodies and JSON Patch documents the way Flow Service does, naming the catalogue code it answers.
import type { ParamValue } from '../flow-service/types.js'
import type { KnownAuthSpec, SpecRegistry } from './spec-registry.js'

/** A class, not a plain shape, so it cannot be confused with a params object that has a `code` key. */
export class ValidationError {
  constructor(
    readonly code: string,
    readonly message: string
  ) {}
}

export interface ValidCreate {
  name: string
  description?: string
  connectionSpec: { id: string; version: string }
  auth: { specName: string; params: Record<string, ParamValue> }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function fail(code: string, message: string): ValidationError {
  return new ValidationError(code, message)
}

export function validateCreate(body: unknown, registry: SpecRegistry): ValidCreate | ValidationError {
  if (!isObject(body)) return fail('1100-400', 'The request body must be a JSON object.')

  const spec = body.connectionSpec
  if (!isObject(spec)) return fail('1100-400', 'connectionSpec is required.')
  if (typeof spec.id !== 'string' || spec.id === '')
    return fail('1413-400', 'The provided spec id is invalid. Please provide a valid spec id and try again.')
  const known = registry.connectionSpec(spec.id)
  if (known === undefined)
    return fail('1413-400', `The provided spec id ${spec.id} is invalid. Please provide a valid spec id and try again.`)
  if (spec.version === undefined || spec.version === null || spec.version === '')
    return fail('1100-422', 'connectionSpec.version is required.')
  if (typeof spec.version !== 'string' || !known.spec.versions.includes(spec.version)) {
    return fail(
      '1413-400',
      `Version ${JSON.stringify(spec.version)} of connection spec ${spec.id} is invalid. Known versions: ${known.spec.versions.join(', ')}.`
    )
  }

  if (typeof body.name !== 'string' || body.name.trim() === '')
    return fail('1100-400', 'name is required and must be a non-empty string.')
  if (body.description !== undefined && body.description !== null && typeof body.description !== 'string') {
    return fail('1100-400', 'description must be a string.')
  }

  const auth = body.auth
  if (!isObject(auth)) return fail('1100-400', 'auth is required.')
  if (typeof auth.specName !== 'string' || auth.specName === '') return fail('1100-400', 'auth.specName is required.')
  const authSpec = known.auth.get(auth.specName)
  if (authSpec === undefined) {
    return fail('1415-400', `Authentication spec '${auth.specName}' not found for connection spec id ${spec.id}.`)
  }
  const params = validateParams(auth.params, authSpec, spec.id)
  if (params instanceof ValidationError) return params

  return {
    name: body.name,
    ...(typeof body.description === 'string' ? { description: body.description } : {}),
    connectionSpec: { id: spec.id, version: spec.version },
    auth: { specName: auth.specName, params }
  }
}

/** Values must be JSON scalars and every required param of the auth spec present, as Adobe's JSON schema demands. */
export function validateParams(
  value: unknown,
  authSpec: KnownAuthSpec,
  specId: string
): Record<string, ParamValue> | ValidationError {
  if (!isObject(value)) return fail('1100-400', 'auth.params is required and must be an object.')
  const params: Record<string, ParamValue> = {}
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      return fail('1100-400', `auth.params.${key} must be a string, a number or a boolean.`)
    }
    params[key] = v
  }
  for (const name of authSpec.required) {
    if (!(name in params) || params[name] === '') {
      return fail(
        '1100-400',
        `Validation of auth params failed for connection spec ${specId} and auth spec '${authSpec.spec.name}': required key [${name}] not found.`
      )
    }
  }
  return params
}

export interface ValidPatch {
  name?: string
  description?: string | null
  params?: Record<string, ParamValue>
}

const PATCH_PATHS = ['/name', '/description', '/auth/params']

/** A JSON Patch array with lower-case add/replace/remove on /name, /description, /auth/params; applied in order. */
export function validatePatch(
  body: unknown,
  authSpec: KnownAuthSpec | undefined,
  specId: string
): ValidPatch | ValidationError {
  if (!Array.isArray(body)) return fail('1100-400', 'The request body must be a JSON Patch array of operations.')
  if (body.length === 0)
    return fail('1405-400', 'The request body cannot be null or empty. Please provide a request body and try again.')
  const patch: ValidPatch = {}
  for (const [i, op] of body.entries()) {
    if (!isObject(op)) return fail('1100-400', `Patch operation ${i} must be an object.`)
    if (op.op !== 'add' && op.op !== 'replace' && op.op !== 'remove') {
      return fail(
        '1100-400',
        `Patch operation ${i}: op must be one of add, replace, remove (lower case), got ${JSON.stringify(op.op)}.`
      )
    }
    if (typeof op.path !== 'string' || !PATCH_PATHS.includes(op.path)) {
      return fail(
        '1100-400',
        `Patch operation ${i}: path must be one of ${PATCH_PATHS.join(', ')}, got ${JSON.stringify(op.path)}.`
      )
    }
    if (op.op === 'remove') {
      if (op.path !== '/description') return fail('1100-400', `Patch operation ${i}: ${op.path} cannot be removed.`)
      patch.description = null
      continue
    }
    if (!('value' in op)) return fail('1100-400', `Patch operation ${i}: value is required for ${op.op}.`)
    if (op.path === '/name') {
      if (typeof op.value !== 'string' || op.value.trim() === '')
        return fail('1100-400', `Patch operation ${i}: name must be a non-empty string.`)
      patch.name = op.value
    } else if (op.path === '/description') {
      if (typeof op.value !== 'string') return fail('1100-400', `Patch operation ${i}: description must be a string.`)
      patch.description = op.value
    } else {
      // JSON Patch replaces the whole params object, which is why Adobe's examples resend every param.
      if (authSpec === undefined)
        return fail('1100-400', `Patch operation ${i}: the connection's auth spec is unknown.`)
      const params = validateParams(op.value, authSpec, specId)
      if (params instanceof ValidationError) return params
      patch.params = params
    }
  }
  return patch
}
