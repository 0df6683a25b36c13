// Wraps every call of a FlowServiceClient in one function, for decorators that treat all operations alike
// (the request budget, metrics). close() passes straight through.
import type { FlowServiceClient } from './flow-service-client.js'
import type { FlowServiceOperation } from './flow-service-error.js'

export type AroundCall = <T>(operation: FlowServiceOperation, call: () => Promise<T>) => Promise<T>

export function decorateFlowServiceClient(inner: FlowServiceClient, around: AroundCall): FlowServiceClient {
  return {
    createConnection: async (sandbox, body, options) =>
      await around('createConnection', async () => await inner.createConnection(sandbox, body, options)),
    getConnection: async (sandbox, id) =>
      await around('getConnection', async () => await inner.getConnection(sandbox, id)),
    listConnections: async (sandbox, query) =>
      query.ids !== undefined && query.ids.length === 0
        ? // No ids: the client answers without a call, so there is nothing to pace or count.
          await inner.listConnections(sandbox, query)
        : await around('listConnections', async () => await inner.listConnections(sandbox, query)),
    updateConnection: async (sandbox, id, etag, ops, options) =>
      await around('updateConnection', async () => await inner.updateConnection(sandbox, id, etag, ops, options)),
    deleteConnection: async (sandbox, id, etag) =>
      await around('deleteConnection', async () => await inner.deleteConnection(sandbox, id, etag)),
    testConnection: async (sandbox, id) =>
      await around('testConnection', async () => await inner.testConnection(sandbox, id)),
    ping: async () => {
      await around('ping', async () => {
        await inner.ping()
      })
    },
    close: async () => {
      await inner.close()
    }
  }
}
