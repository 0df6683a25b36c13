// @credential-broker/client: a typed client of the credential broker, generated from openapi/openapi.json.
export {
  createBrokerClient,
  type BrokerClient,
  type BrokerClientOptions,
  type Connection,
  type ConnectionEvent,
  type ConnectionPage,
  type CreateConnectionBody,
  type CreateConnectionOptions,
  type CreatedConnection,
  type CredentialParams,
  type ListConnectionsFilters,
  type RenameConnectionBody
} from './broker-client.js'
export { BrokerProblemError, BrokerRequestError, type BrokerProblem } from './broker-problem-error.js'
export type { paths, operations, components } from './schema.js'
