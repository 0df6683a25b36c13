// Turns a stored connection into what Flow Service answers (secrets replaced by ARNs, etag hidden while
// initializing) and into the unmasked view the control API gives tests.
import type { FlowConnection, ParamValue } from '../flow-service/types.js'
import type { StoredConnection } from './connection-store.js'
import { newSecretArn } from './identifiers.js'
import type { SpecRegistry } from './spec-registry.js'
import type { StoredConnectionView } from './types.js'

export function toFlowConnection(conn: StoredConnection, registry: SpecRegistry, awsAccount: string): FlowConnection {
  const secret = registry.secretParams(conn.connectionSpec.id, conn.auth.specName)
  const params: Record<string, ParamValue> = {}
  for (const [key, value] of Object.entries(conn.auth.params)) {
    if (!secret.has(key)) {
      params[key] = value
      continue
    }
    // The reference is minted once per secret version, so repeated reads show the same ARN.
    conn.secretRefs ??= {}
    params[key] = conn.secretRefs[key] ??= newSecretArn(awsAccount)
  }
  const wire: FlowConnection = {
    id: conn.id,
    createdAt: conn.createdAt,
    updatedAt: conn.updatedAt,
    createdBy: conn.createdBy,
    updatedBy: conn.updatedBy,
    createdClient: conn.createdClient,
    updatedClient: conn.updatedClient,
    sandboxId: conn.sandboxId,
    sandboxName: conn.sandboxName,
    imsOrgId: conn.imsOrgId,
    name: conn.name,
    ...(conn.description === undefined ? {} : { description: conn.description }),
    connectionSpec: { id: conn.connectionSpec.id, version: conn.connectionSpec.version },
    state: conn.state,
    auth: { specName: conn.auth.specName, params }
  }
  if (conn.state !== 'initializing') {
    wire.version = conn.etag
    wire.etag = conn.etag
  }
  return wire
}

export function toStoredView(conn: StoredConnection): StoredConnectionView {
  return {
    id: conn.id,
    sandboxName: conn.sandboxName,
    sandboxId: conn.sandboxId,
    imsOrgId: conn.imsOrgId,
    name: conn.name,
    ...(conn.description === undefined ? {} : { description: conn.description }),
    connectionSpec: { ...conn.connectionSpec },
    auth: { specName: conn.auth.specName, params: { ...conn.auth.params } },
    state: conn.state,
    etag: conn.etag,
    createdAt: conn.createdAt,
    updatedAt: conn.updatedAt,
    createdBy: conn.createdBy,
    updatedBy: conn.updatedBy,
    createdClient: conn.createdClient,
    updatedClient: conn.updatedClient,
    testResult: conn.testResult
  }
}
