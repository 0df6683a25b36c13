// The answer of credential validation: the resolved spec and split params, or each wrong field and why.
import type { ParamValue } from '../flow-service/types.js'
import type { FieldError, Notice } from '../shared/field-error.js'
import type { AuthSpec, ConnectionSpec } from './types.js'

export { FieldError, Notice } from '../shared/field-error.js'

/** A param value once the broker normalised it: Flow Service's ParamValue without numbers (sent as strings). */
export type NormalisedParamValue = Exclude<ParamValue, number>

/** The part of a Flow Service `POST /connections` body that the catalogue checks. */
export interface CredentialsInput {
  connectionSpec: { id: string; version: string }
  auth: { specName: string; params: Record<string, unknown> }
}

export type CredentialsRejectionReason =
  'unknown_connection_spec' | 'unknown_version' | 'unknown_auth_spec' | 'invalid_params'

export interface AcceptedCredentials {
  ok: true
  spec: ConnectionSpec
  /** The accepted connectionSpec.version, normalised (send this downstream, not the input). */
  version: string
  authSpec: AuthSpec
  /** Every param, normalised, in catalogue order. */
  params: Record<string, NormalisedParamValue>
  /** Exactly the params the catalogue flags secret: these go to the secret store. */
  secretParams: Record<string, string>
  /** The other params: these may be stored and shown in clear. */
  publicParams: Record<string, NormalisedParamValue>
  notices: Notice[]
}

export interface RejectedCredentials {
  ok: false
  reason: CredentialsRejectionReason
  detail: string
  errors: FieldError[]
}

export type CredentialsCheck = AcceptedCredentials | RejectedCredentials
