// Turns a failed catalogue check into the AppError the API answers with.
import type { CredentialsCheck } from '../catalog/validate-credentials.js'
import { AppError, type ErrorCode } from '../errors/app-error.js'

type Failed = Extract<CredentialsCheck, { ok: false }>

const CODES: Record<Failed['reason'], ErrorCode> = {
  unknown_connection_spec: 'unknown_connection_spec',
  unknown_version: 'unknown_connection_spec',
  unknown_auth_spec: 'unknown_auth_spec',
  invalid_params: 'invalid_params'
}

export function credentialsProblem(check: Failed): AppError {
  // One problem: say it in the detail too, so a human reading only `detail` knows what to send.
  const only = check.errors.length === 1 ? check.errors[0] : undefined
  const detail = only === undefined ? check.detail : `${check.detail} ${only.message}`
  return new AppError(CODES[check.reason], detail, { errors: check.errors })
}
