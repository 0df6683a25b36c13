// Flow Service echoing a request's secrets back in its error answers: whatever encoding it uses, the FlowServiceError
// (message, downstreamMessage, code, requestId, String(err), stack, cause) and a pino line of { err } hold none of it.
import t, { type Test } from 'tap'
import { createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { createFlowServiceClient } from '../../src/flow-service/flow-service-client.js'
import { FlowServiceError } from '../../src/flow-service/flow-service-error.js'
import {
  ETAG,
  capturedLogger,
  client,
  createBody,
  encodings,
  failure,
  json,
  mockUpstreams,
  type Reply
} from './helpers.js'

const SECRET = 'Pässw0rd "q"/+= \\ 😀 s3cr3t-value'
const OTHER_SECRET = 'tok_9f8e7d6c5b4a'
const forms = {
  ...encodings(SECRET),
  ...Object.fromEntries(Object.entries(encodings(OTHER_SECRET)).map(([k, v]) => [`other ${k}`, v]))
}
const enc = encodings(SECRET)
const blob = (head: string): string => Buffer.from(`${head}${SECRET}tail`).toString('base64')

/** The first encoding of either secret (whole, or its first 8 characters: an echo cut short) found in `text`. */
function leakIn(text: string): string | undefined {
  for (const [name, value] of Object.entries(forms)) {
    if (text.includes(value)) return name
    if (text.includes(value.slice(0, 8))) return `${name} (first 8 characters)`
  }
  return undefined
}

/** Every string reachable from an error: own enumerable fields and the cause chain's messages, stacks and fields. */
function textsOf(err: unknown, depth = 0): string[] {
  if (depth > 5 || typeof err !== 'object' || err === null) return typeof err === 'string' ? [err] : []
  const texts: string[] = []
  if (err instanceof Error) texts.push(err.message, err.stack ?? '', String(err))
  for (const value of Object.values(err)) texts.push(...textsOf(value, depth + 1))
  if (err instanceof Error) texts.push(...textsOf(err.cause, depth + 1))
  return texts
}

function assertNoLeak(t: Test, err: FlowServiceError, lines: readonly string[], label: string): void {
  const fields = {
    message: err.message,
    downstreamMessage: err.downstreamMessage ?? '',
    code: err.code ?? '',
    requestId: err.requestId ?? '',
    string: String(err),
    stack: err.stack ?? ''
  }
  for (const [field, text] of Object.entries(fields)) t.equal(leakIn(text), undefined, `${label}: ${field}`)
  t.equal(leakIn(textsOf(err).join('\n')), undefined, `${label}: anything reachable from the error`)
  for (const line of lines) t.equal(leakIn(line), undefined, `${label}: log line`)
}

const echoes: Array<{ label: string; reply: Reply; expect: Partial<FlowServiceError> }> = [
  {
    label: '400 in the long form',
    reply: {
      status: 400,
      body: {
        type: 'https://ns.adobe.com/aep/errors/FLOW-1415-400',
        title: `Invalid params: password=${enc.encodeURIComponent ?? ''}`,
        status: 400,
        report: {
          'detailed-message': `Param {"password":"${enc['json twice'] ?? ''}"} rejected (${enc['ascii json'] ?? ''})`,
          'request-id': enc.base64 ?? ''
        },
        errorMessage: `raw ${SECRET}`
      }
    },
    expect: { kind: 'rejected', status: 400, code: '1415-400' }
  },
  {
    label: '422 with a code and a base64 blob',
    reply: {
      status: 422,
      body: {
        code: `BAD-${SECRET}`,
        errorMessage: `Authorization: Basic ${blob('admin:')} / ${blob('ab')} / ${enc['form encoding, lower-case hex'] ?? ''}`
      }
    },
    expect: { kind: 'rejected', status: 422 }
  },
  {
    label: '500 cut short, with the secret in x-request-id',
    reply: {
      status: 500,
      body: { title: `Internal error for ${SECRET.slice(0, 12)}…`, errorDetails: { password: SECRET } },
      headers: { 'x-request-id': `req-${enc.base64url ?? ''}` }
    },
    expect: { kind: 'ambiguous', status: 500 }
  },
  {
    label: '201 without an id, echoing the body',
    reply: { status: 201, body: { message: `created ${enc.json ?? ''} and ${OTHER_SECRET}` } },
    expect: { kind: 'ambiguous', status: 201 }
  }
]

for (const { label, reply, expect } of echoes) {
  void t.test(`createConnection, ${label}: the secrets' echoes are redacted`, async (t) => {
    const up = mockUpstreams(t)
    const { logger, lines } = capturedLogger()
    up.reply('POST', reply)
    const fs = client(up, { logger })
    const err = await failure(fs.createConnection('prod', createBody, { secrets: [SECRET, OTHER_SECRET] }))
    t.match(err, { operation: 'createConnection', ...expect })
    t.match(
      err.downstreamMessage ?? err.message,
      /\[redacted\]|no connection id/,
      'the message is kept, minus the secret'
    )
    logger.warn({ err }, 'create failed')
    assertNoLeak(t, err, lines, label)
  })
}

void t.test('updateConnection: a 400 echoing the new password is redacted too', async (t) => {
  const up = mockUpstreams(t)
  const { logger, lines } = capturedLogger()
  up.reply('PATCH', {
    status: 400,
    body: { type: 'https://ns.adobe.com/aep/errors/FLOW-1415-400', errorMessage: `Bad value [${json(json(SECRET))}]` }
  })
  const err = await failure(
    client(up, { logger }).updateConnection(
      'prod',
      'c1',
      ETAG,
      [{ op: 'replace', path: '/auth/params', value: { password: SECRET } }],
      { secrets: [SECRET] }
    )
  )
  t.match(err, { kind: 'rejected', code: '1415-400', downstreamMessage: 'Bad value [[redacted]]' })
  logger.warn({ err }, 'rotation failed')
  assertNoLeak(t, err, lines, 'update')
})

void t.test('without secrets for the call, the message is left as Flow Service wrote it', async (t) => {
  const up = mockUpstreams(t)
  up.reply('POST', { status: 400, body: { errorMessage: `raw ${SECRET}` } })
  t.equal((await failure(client(up).createConnection('prod', createBody))).downstreamMessage, `raw ${SECRET}`)
})

void t.test('a malformed answer that undici chokes on: the wire error kept as cause is redacted', async (t) => {
  // A raw socket, because an HTTP server cannot be made to write an invalid response.
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.once('data', () => {
      // A header line without a colon: undici's HTTPParserError keeps the bytes from there on in its `data`.
      socket.end(`HTTP/1.1 400 Bad Request\r\nx-echo ${SECRET} ${enc.base64 ?? ''}\r\n\r\n{}`)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve()
      })
    )
  })
  const up = mockUpstreams(t)
  const { port } = server.address() as AddressInfo
  up.agent.enableNetConnect(`127.0.0.1:${port}`)
  const { logger, lines } = capturedLogger()
  const fs = createFlowServiceClient({
    url: `http://127.0.0.1:${port}/data/foundation/flowservice`,
    imsUrl: 'https://ims.test',
    clientId: 'c',
    clientSecret: 's',
    scopes: 'openid',
    orgId: 'O@AdobeOrg',
    timeoutMs: 2000,
    dispatcher: up.agent,
    logger
  })
  const err = await failure(fs.createConnection('prod', createBody, { secrets: [SECRET] }))
  t.match(err, { operation: 'createConnection', kind: 'ambiguous' })
  t.match(
    err.cause,
    { name: 'HTTPParserError', message: /does not match the HTTP\/1.1 protocol/ },
    'the wire error is kept as cause'
  )
  logger.warn({ err }, 'create failed')
  assertNoLeak(t, err, lines, 'parser error')
})
