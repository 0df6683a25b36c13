// Every named schema, registered once per app (the OpenAPI document's components.schemas) and once per process
// (the shared ajv instances, fast-json-stringify). A schema referring to another comes after it.
import type { TSchema } from 'typebox'
import { ApiKeyPage, ApiKeyResource, CreateApiKeyRequest, CreatedApiKey } from './api-keys.js'
import { AuditEventResource, AuditPage, AuditVerdict } from './audit.js'
import { AuthSpecDescription, ConnectionSpecDescription, ConnectionSpecList, ParamDescription } from './catalogue.js'
import { RenameConnectionRequest, RotateCredentialsRequest } from './connection-changes.js'
import {
  ConnectionEvent,
  ConnectionEvents,
  ConnectionPage,
  ConnectionResource,
  CreateConnectionRequest,
  CreatedConnection
} from './connections.js'
import type { Named } from './components.js'
import { DependencyCheck, Liveness, Readiness } from './health.js'
import { FieldError, Notice, Problem } from './problem.js'

export const SHARED_SCHEMAS: readonly Named<TSchema>[] = [
  FieldError,
  Notice,
  Problem,
  ConnectionResource,
  CreatedConnection,
  ConnectionPage,
  ConnectionEvent,
  ConnectionEvents,
  CreateConnectionRequest,
  RenameConnectionRequest,
  RotateCredentialsRequest,
  ParamDescription,
  AuthSpecDescription,
  ConnectionSpecDescription,
  ConnectionSpecList,
  AuditEventResource,
  AuditPage,
  AuditVerdict,
  ApiKeyResource,
  CreatedApiKey,
  ApiKeyPage,
  CreateApiKeyRequest,
  DependencyCheck,
  Readiness,
  Liveness
]

/** By `$id`, as fast-json-stringify takes external schemas. */
export const sharedSchemasById = (): Record<string, TSchema> =>
  Object.fromEntries(SHARED_SCHEMAS.map((s) => [s.$id, s]))
