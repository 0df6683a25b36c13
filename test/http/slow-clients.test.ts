// Over a real socket: requests Node's HTTP parser refuses, slow senders, refusals that come before a body is read
// (the answer arrives while the client still owes body bytes, so nothing read it), and clients that leave.
// Timeouts are configured small; the tests wait for the socket's close, never for a fixed time.
import net from 'node:net'
import t, { type Test } from 'tap'
import { startTestBroker, type TestBroker } from '../support/test-broker.js'

let b: TestBroker
let port = 0
t.before(async () => {
  b = await startTestBroker(t, {
    poller: false,
    reconciler: false,
    env: { HTTP_HEADERS_TIMEOUT_MS: '500', HTTP_REQUEST_TIMEOUT_MS: '1000' }
  })
  await b.app.listen({ port: 0, host: '127.0.0.1' })
  port = (b.app.server.address() as net.AddressInfo).port
})

interface Exchange {
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * Sends `head` (and then `trickle` one byte at a time, every 50 ms, as long as the socket is open) and resolves with
 * the answer once the server has closed the connection.
 */
async function exchange(head: string | Buffer, trickle = 0): Promise<Exchange> {
  return await new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    let timer: NodeJS.Timeout | undefined
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', () => {}) // a reset after the answer is one way to be cut off
    socket.on('close', () => {
      clearInterval(timer)
      const text = Buffer.concat(chunks).toString('utf8')
      const [headText = '', body = ''] = text.split('\r\n\r\n', 2)
      const [statusLine = '', ...lines] = headText.split('\r\n')
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 'NaN')
      if (Number.isNaN(status)) {
        reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`))
        return
      }
      resolve({
        status,
        body,
        headers: Object.fromEntries(
          lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()])
        )
      })
    })
    socket.write(head)
    if (trickle > 0) {
      let left = trickle
      timer = setInterval(() => {
        if (left-- > 0 && socket.writable) socket.write('a')
      }, 50)
    }
  })
}

function isProblem(t: Test, res: Exchange, status: number): { type: string; instance: string } {
  t.equal(res.status, status, `status ${status}: ${res.body.slice(0, 200)}`)
  t.match(res.headers['content-type'], /^application\/problem\+json/, 'problem+json')
  t.match(res.headers['x-request-id'], /\S/, 'x-request-id')
  const body = JSON.parse(res.body) as { type: string; status: number; instance: string }
  t.equal(body.status, status)
  return body
}

const levels = (): Array<{ level: number; msg: string }> =>
  b
    .logs()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { level: number; msg: string })

void t.test('a header with a byte HTTP forbids: 400 problem+json with x-request-id', async (t) => {
  const res = await exchange('GET /health/live HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0001b\r\n\r\n')
  const body = isProblem(t, res, 400)
  t.equal(body.instance, res.headers['x-request-id'], 'the instance is the request id')
})

void t.test('headers over the size limit: 431 problem+json', async (t) => {
  const res = await exchange(`GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`)
  t.match(isProblem(t, res, 431).type, /headers-too-large$/)
})

void t.test('headers that never finish: 408 problem+json, connection closed', async (t) => {
  const res = await exchange('GET /health/live HTTP/1.1\r\nHost: x\r\n')
  t.match(isProblem(t, res, 408).type, /request-timeout$/)
})

void t.test('a body trickling in: 408 once the request timeout passes, connection closed', async (t) => {
  const head = `POST /v1/connections HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${b.adminKey}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`
  t.match(isProblem(t, await exchange(head, 100000), 408).type, /request-timeout$/)
})

void t.test(
  'no key: 401 while the body is still owed (so it was not read), then the connection is closed',
  async (t) => {
    const head =
      'POST /v1/connections HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"name":'
    const res = await exchange(head, 100000)
    isProblem(t, res, 401)
    t.equal(res.headers.connection, 'close')
  }
)

void t.test('no route: 404 while the body is still owed, then closed', async (t) => {
  const head =
    'POST /v1/nowhere HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[[[['
  isProblem(t, await exchange(head, 100000), 404)
})

void t.test('a route that takes no body answers without reading one, then closes', async (t) => {
  const del = `DELETE /v1/api-keys/00000000-0000-4000-8000-000000000000 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${b.adminKey}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[[`
  isProblem(t, await exchange(del, 100000), 404)
  const get = `GET /health/live HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[[`
  const res = await exchange(get, 100000)
  t.equal(res.status, 200, 'GET answers as if there were no body')
  t.equal(res.headers.connection, 'close')
})

void t.test('a body over the limit, by its Content-Length: 413 before reading, then closed', async (t) => {
  const head = `POST /v1/connections HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${b.adminKey}\r\nContent-Type: application/json\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\n{`
  t.match(isProblem(t, await exchange(head, 100000), 413).type, /payload-too-large$/)
})

void t.test(
  'a body read to its end and refused (a field fails validation): its 400 problem, not a bodiless 499',
  async (t) => {
    const body = JSON.stringify({ name: 'only a name' })
    const head = `POST /v1/connections HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${b.adminKey}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`
    t.match(isProblem(t, await exchange(head), 400).type, /validation/)
  }
)

void t.test('a client that leaves mid-body is logged at info, not error', async (t) => {
  const before = levels().length
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => {})
  await new Promise<void>((resolve) => socket.once('connect', resolve))
  socket.write(
    `POST /v1/connections HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${b.adminKey}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name":`
  )
  // Leave once the broker is reading the body: its key check has passed (the request is logged at debug on arrival).
  const deadline = Date.now() + 10000
  const arrived = (): boolean =>
    levels()
      .slice(before)
      .some((l) => l.msg === 'incoming request')
  while (!arrived() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  socket.destroy()
  const gone = (): boolean =>
    levels()
      .slice(before)
      .some((l) => /client closed the connection/.test(l.msg))
  while (!gone() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  t.ok(gone(), 'the departure is logged')
  t.same(
    levels()
      .slice(before)
      .filter((l) => l.level >= 50),
    [],
    'nothing at error level'
  )
})
