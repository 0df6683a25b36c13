// FlowServiceClient over real sockets: refused connections, timeouts and resets, before vs after the request left.
import t from 'tap'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createFlowServiceClient, type FlowServiceClient } from '../../src/flow-service/flow-service-client.js'
import { FlowServiceError } from '../../src/flow-service/flow-service-error.js'
import type { CreateConnectionBody } from '../../src/flow-service/types.js'

type Handler = (req: IncomingMessage, res: ServerResponse) => void

interface Upstream {
  url: string
  requests: () => number
  close: () => Promise<void>
}

async function listen(handler: Handler): Promise<Upstream> {
  let requests = 0
  const server = createServer((req, res) => {
    requests++
    handler(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve()
        })
      )
    }
  }
}

/** IMS that always grants. */
async function ims(t: { teardown: (fn: () => Promise<void>) => void }): Promise<string> {
  const upstream = await listen((_req, res) => {
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ access_token: 'tok', token_type: 'bearer', expires_in: 86399 }))
  })
  t.teardown(upstream.close)
  return upstream.url
}

async function clientFor(
  t: { teardown: (fn: () => Promise<void>) => void },
  flowUrl: string,
  timeoutMs = 300
): Promise<FlowServiceClient> {
  const fs = createFlowServiceClient({
    url: `${flowUrl}/data/foundation/flowservice`,
    imsUrl: await ims(t),
    clientId: 'client',
    clientSecret: 'secret',
    scopes: 'openid',
    orgId: 'ORG@AdobeOrg',
    timeoutMs
  })
  t.teardown(fs.close)
  return fs
}

async function failure(promise: Promise<unknown>): Promise<FlowServiceError> {
  try {
    await promise
  } catch (err) {
    if (err instanceof FlowServiceError) return err
    throw err
  }
  throw new Error('expected a FlowServiceError')
}

const body: CreateConnectionBody = {
  name: 'n',
  auth: { specName: 'Basic Authentication', params: { host: 'h', username: 'u', password: 'p' } },
  connectionSpec: { id: 'ba5126ec-c9ac-11eb-b8bc-0242ac130003', version: '1.0' }
}

/** Reads the whole request, then does `then` with it: proof the request left the client. */
function afterRequest(then: Handler): Handler {
  return (req, res) => {
    req.resume()
    req.on('end', () => {
      then(req, res)
    })
  }
}

void t.test('a refused connection is retryable, for a create as for a read', async (t) => {
  const gone = await listen(() => {})
  await gone.close()
  const fs = await clientFor(t, gone.url)
  t.match(await failure(fs.createConnection('prod', body)), { kind: 'retryable', operation: 'createConnection' })
  t.match(await failure(fs.getConnection('prod', 'c1')), { kind: 'retryable', operation: 'getConnection' })
})

void t.test('no answer within the timeout after a POST was sent: ambiguous', async (t) => {
  const silent = await listen(afterRequest(() => {}))
  t.teardown(silent.close)
  const fs = await clientFor(t, silent.url)
  const err = await failure(fs.createConnection('prod', body))
  t.match(err, { kind: 'ambiguous', operation: 'createConnection' })
  t.match((err.cause as { code?: string }).code, 'UND_ERR_HEADERS_TIMEOUT')
  t.equal(silent.requests(), 1)
})

void t.test('no answer within the timeout after a PATCH was sent: ambiguous', async (t) => {
  const silent = await listen(afterRequest(() => {}))
  t.teardown(silent.close)
  const fs = await clientFor(t, silent.url)
  t.match(await failure(fs.updateConnection('prod', 'c1', '"e"', [])), {
    kind: 'ambiguous',
    operation: 'updateConnection'
  })
})

void t.test('no answer within the timeout after a GET or DELETE: retryable', async (t) => {
  const silent = await listen(afterRequest(() => {}))
  t.teardown(silent.close)
  const fs = await clientFor(t, silent.url)
  t.match(await failure(fs.getConnection('prod', 'c1')), { kind: 'retryable', operation: 'getConnection' })
  t.match(await failure(fs.deleteConnection('prod', 'c1', '"e"')), { kind: 'retryable', operation: 'deleteConnection' })
})

void t.test('the socket reset after a POST was received: ambiguous; after a GET: retryable', async (t) => {
  const resetting = await listen(
    afterRequest((req) => {
      req.socket.destroy()
    })
  )
  t.teardown(resetting.close)
  const fs = await clientFor(t, resetting.url)
  t.match(await failure(fs.createConnection('prod', body)), { kind: 'ambiguous', operation: 'createConnection' })
  t.match(await failure(fs.getConnection('prod', 'c1')), { kind: 'retryable', operation: 'getConnection' })
})

void t.test('a 201 whose body stalls past the timeout: ambiguous', async (t) => {
  const stalling = await listen(
    afterRequest((_req, res) => {
      res.writeHead(201, { 'content-type': 'application/json', 'content-length': '100' })
      res.write('{"id":')
    })
  )
  t.teardown(stalling.close)
  const fs = await clientFor(t, stalling.url)
  t.match(await failure(fs.createConnection('prod', body)), { kind: 'ambiguous', status: 201 })
})

void t.test('a healthy round trip over a real socket, with the base path kept', async (t) => {
  let seenPath: string | undefined
  const healthy = await listen(
    afterRequest((req, res) => {
      seenPath = req.url
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'c1', etag: '"1"' }))
    })
  )
  t.teardown(healthy.close)
  const fs = await clientFor(t, healthy.url)
  t.same(await fs.createConnection('prod', body), { id: 'c1', etag: '"1"' })
  t.equal(seenPath, '/data/foundation/flowservice/connections')
})
