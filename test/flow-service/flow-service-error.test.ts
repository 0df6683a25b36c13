// Every outcome Flow Service or IMS can produce, and the kind a caller sees for it.
import t from 'tap'
import { errors } from 'undici'
import {
  classifyFlowServiceFailure,
  FlowServiceError,
  isFlowServiceNotFound,
  parseErrorBody,
  parseRetryAfter,
  unexpectedAnswer,
  UNEXPECTED_ANSWER,
  type FlowServiceFailure
} from '../../src/flow-service/flow-service-error.js'

const NOW = Date.parse('2025-01-01T00:00:00Z')

function answer(status: number, body?: unknown, headers: Record<string, string> = {}): FlowServiceFailure['response'] {
  return { status, headers, body: body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body) }
}

function wireError(code: string, message = code): Error {
  return Object.assign(new Error(message), { code })
}

void t.test('Adobe error body shapes', async (t) => {
  void t.test('long form: code from the type URI, message from report.detailed-message', async (t) => {
    t.same(
      parseErrorBody(
        JSON.stringify({
          type: 'https://ns.adobe.com/aep/errors/FLOW-1413-400',
          title: 'Invalid connection spec',
          status: 400,
          report: { 'detailed-message': 'Connection spec [x] not found', 'request-id': 'req-1' },
          errorMessage: 'short',
          errorDetails: 'details'
        })
      ),
      { code: '1413-400', message: 'Connection spec [x] not found', requestId: 'req-1' }
    )
  })
  void t.test('long form without report: errorMessage', async (t) => {
    t.same(
      parseErrorBody(
        JSON.stringify({
          type: 'https://ns.adobe.com/aep/errors/FLOW-1404-412',
          title: 'Precondition failed',
          errorMessage: 'Supplied version=["a"] does not match'
        })
      ),
      { code: '1404-412', message: 'Supplied version=["a"] does not match' }
    )
  })
  void t.test('short form: errorMessage, no code', async (t) => {
    t.same(
      parseErrorBody(
        JSON.stringify({
          errorMessage: 'connections not found with id = [x]',
          errorDetails: 'connections not found with id = [x]'
        })
      ),
      { message: 'connections not found with id = [x]' }
    )
  })
  void t.test('short form with only errorDetails', async (t) => {
    t.same(parseErrorBody(JSON.stringify({ errorDetails: 'only details' })), { message: 'only details' })
  })
  void t.test('gateway form: numeric error_code becomes a string', async (t) => {
    t.same(parseErrorBody(JSON.stringify({ error_code: 401013, message: 'Oauth token is not valid' })), {
      code: '401013',
      message: 'Oauth token is not valid'
    })
    t.same(parseErrorBody(JSON.stringify({ error_code: '403003', message: 'Api Key is invalid' })), {
      code: '403003',
      message: 'Api Key is invalid'
    })
  })
  void t.test('placeholder BadRequestError: detail', async (t) => {
    t.same(
      parseErrorBody(
        JSON.stringify({
          type: '/placeholder/type/uri',
          status: 400,
          title: 'BadRequestError',
          detail: 'A valid content-type must be specified'
        })
      ),
      { message: 'A valid content-type must be specified' }
    )
  })
  void t.test('IMS form: error and error_description', async (t) => {
    t.same(
      parseErrorBody(JSON.stringify({ error: 'invalid_client', error_description: 'invalid client_secret parameter' })),
      { code: 'invalid_client', message: 'invalid client_secret parameter' }
    )
  })
  void t.test('a code field with the FLOW- prefix', async (t) => {
    t.same(parseErrorBody(JSON.stringify({ code: 'FLOW-1417-400', title: 'busy' })), {
      code: '1417-400',
      message: 'busy'
    })
  })
  void t.test('empty, blank, non-JSON and non-object bodies give nothing', async (t) => {
    for (const body of [undefined, '', '   ', '<html>Bad Gateway</html>', '[1,2]', 'null', '"text"'])
      t.same(parseErrorBody(body), {}, String(body))
  })
  void t.test('a huge message is cut', async (t) => {
    t.equal(parseErrorBody(JSON.stringify({ errorMessage: 'x'.repeat(5000) })).message?.length, 1000)
  })
})

void t.test('Retry-After', async (t) => {
  t.equal(parseRetryAfter('7', NOW), 7000, 'seconds')
  t.equal(parseRetryAfter(' 1.5 ', NOW), 1500, 'fractional seconds')
  t.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', NOW), 30_000, 'HTTP date')
  t.equal(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', NOW), 0, 'a date in the past means now')
  t.equal(parseRetryAfter('soon', NOW), undefined, 'garbage is ignored')
  t.equal(parseRetryAfter(undefined, NOW), undefined)
})

void t.test('statuses', async (t) => {
  const kindOf = (
    operation: FlowServiceFailure['operation'],
    status: number,
    body?: unknown,
    headers?: Record<string, string>
  ): FlowServiceError => classifyFlowServiceFailure({ operation, response: answer(status, body, headers), now: NOW })

  void t.test('429 with Retry-After seconds is retryable after that long', async (t) => {
    const err = kindOf('createConnection', 429, undefined, { 'retry-after': '12' })
    t.match(err, { kind: 'retryable', status: 429, retryAfterMs: 12_000, operation: 'createConnection' })
    t.ok(err instanceof FlowServiceError && err instanceof Error)
  })
  void t.test('429 with Retry-After as an HTTP date', async (t) => {
    t.match(kindOf('getConnection', 429, '', { 'retry-after': 'Wed, 01 Jan 2025 00:01:00 GMT' }), {
      kind: 'retryable',
      retryAfterMs: 60_000
    })
  })
  void t.test('503 and 408 are retryable for every operation, create included', async (t) => {
    for (const status of [503, 408]) {
      t.equal(
        kindOf('createConnection', status, { type: 'https://ns.adobe.com/aep/errors/FLOW-1103-503' }).kind,
        'retryable',
        `${status}`
      )
      t.equal(kindOf('getConnection', status).kind, 'retryable')
    }
    t.equal(kindOf('createConnection', 503, { type: 'https://ns.adobe.com/aep/errors/FLOW-1103-503' }).code, '1103-503')
  })
  void t.test('500/502/504 are retryable for reads and deletes', async (t) => {
    for (const status of [500, 502, 504]) {
      for (const op of ['getConnection', 'listConnections', 'deleteConnection', 'testConnection', 'ping'] as const) {
        t.equal(kindOf(op, status).kind, 'retryable', `${op} ${status}`)
      }
    }
  })
  void t.test('500/502/504 after a create or update may hide an applied change: ambiguous', async (t) => {
    for (const status of [500, 502, 504]) {
      t.equal(kindOf('createConnection', status, { errorMessage: 'internal' }).kind, 'ambiguous', `create ${status}`)
      t.equal(kindOf('updateConnection', status).kind, 'ambiguous', `update ${status}`)
    }
  })
  void t.test('404 is not_found', async (t) => {
    t.match(kindOf('updateConnection', 404, { errorMessage: 'connections not found with id = [x]' }), {
      kind: 'not_found',
      downstreamMessage: 'connections not found with id = [x]'
    })
  })
  void t.test('412 1404-412 is precondition_failed', async (t) => {
    t.match(
      kindOf('updateConnection', 412, {
        type: 'https://ns.adobe.com/aep/errors/FLOW-1404-412',
        errorMessage: 'Supplied version=["a"] does not match the current version on entity=["b"]'
      }),
      { kind: 'precondition_failed', code: '1404-412', status: 412 }
    )
  })
  void t.test('400 1417-400 (still initializing) is busy', async (t) => {
    t.match(
      kindOf('deleteConnection', 400, {
        type: 'https://ns.adobe.com/aep/errors/FLOW-1417-400',
        title: 'Connection is initializing'
      }),
      { kind: 'busy', code: '1417-400' }
    )
  })
  void t.test('other 400s are rejected with code and message', async (t) => {
    t.match(
      kindOf('createConnection', 400, {
        type: 'https://ns.adobe.com/aep/errors/FLOW-1415-400',
        report: { 'detailed-message': 'Unknown auth spec [Basic]' }
      }),
      { kind: 'rejected', code: '1415-400', downstreamMessage: 'Unknown auth spec [Basic]' }
    )
    t.match(kindOf('updateConnection', 400, { type: 'https://ns.adobe.com/aep/errors/FLOW-1403-400' }), {
      kind: 'rejected',
      code: '1403-400'
    })
    t.match(
      kindOf('createConnection', 400, {
        type: '/placeholder/type/uri',
        status: 400,
        title: 'BadRequestError',
        detail: 'A valid content-type must be specified'
      }),
      { kind: 'rejected', downstreamMessage: 'A valid content-type must be specified' }
    )
    t.match(kindOf('createConnection', 400, { error_code: '400003', message: 'Missing x-gw-ims-org-id header' }), {
      kind: 'rejected',
      code: '400003'
    })
  })
  void t.test('422 and a 400 with an empty body are rejected', async (t) => {
    t.match(kindOf('createConnection', 422, { errorMessage: "connectionSpec.version 'version' is required" }), {
      kind: 'rejected',
      status: 422
    })
    const bare = kindOf('createConnection', 400)
    t.equal(bare.kind, 'rejected')
    t.equal(bare.code, undefined)
    t.equal(bare.downstreamMessage, undefined)
  })
  void t.test('401 and 403 gateway errors are auth', async (t) => {
    t.match(kindOf('getConnection', 401, { error_code: '401013', message: 'Oauth token is not valid' }), {
      kind: 'auth',
      code: '401013'
    })
    t.match(kindOf('createConnection', 403, { error_code: '403025', message: 'Profile is not valid' }), {
      kind: 'auth',
      code: '403025'
    })
  })
  void t.test('501 does not heal by waiting', async (t) => {
    t.equal(kindOf('getConnection', 501).kind, 'rejected')
  })
  void t.test('the request id comes from the answer, else the report, else ours', async (t) => {
    t.equal(
      classifyFlowServiceFailure({
        operation: 'getConnection',
        response: answer(500, {}, { 'x-request-id': 'theirs' }),
        requestId: 'ours'
      }).requestId,
      'theirs'
    )
    t.equal(
      classifyFlowServiceFailure({
        operation: 'getConnection',
        response: answer(500, { report: { 'request-id': 'report' } }),
        requestId: 'ours'
      }).requestId,
      'report'
    )
    t.equal(
      classifyFlowServiceFailure({ operation: 'getConnection', response: answer(500), requestId: 'ours' }).requestId,
      'ours'
    )
  })
})

void t.test('IMS token answers', async (t) => {
  const ims = (status: number, body?: unknown): FlowServiceError =>
    classifyFlowServiceFailure({ operation: 'getToken', response: answer(status, body) })
  t.match(ims(400, { error: 'invalid_client', error_description: 'invalid client_secret parameter' }), {
    kind: 'auth',
    code: 'invalid_client',
    downstreamMessage: 'invalid client_secret parameter',
    operation: 'getToken'
  })
  t.match(ims(400, { error: 'invalid_scope' }), { kind: 'auth', code: 'invalid_scope' })
  t.match(ims(401, { error: 'unauthorized_client' }), { kind: 'auth' })
  t.match(ims(500, { error: 'internal_error' }), { kind: 'retryable', code: 'internal_error' })
  t.match(ims(429), { kind: 'retryable' })
  t.match(
    classifyFlowServiceFailure({ operation: 'getToken', error: wireError('UND_ERR_HEADERS_TIMEOUT') }),
    { kind: 'retryable' },
    'minting a token twice is harmless'
  )
})

void t.test('wire errors with no answer', async (t) => {
  const classify = (operation: FlowServiceFailure['operation'], error: unknown): string =>
    classifyFlowServiceFailure({ operation, error }).kind

  void t.test(
    'connection refused, DNS failure, connect timeout: the request never left, always retryable',
    async (t) => {
      for (const error of [
        wireError('ECONNREFUSED'),
        wireError('ENOTFOUND'),
        wireError('EAI_AGAIN'),
        new errors.ConnectTimeoutError(),
        wireError('ERR_TLS_CERT_ALTNAME_INVALID')
      ]) {
        t.equal(classify('createConnection', error), 'retryable', `create ${String((error as { code?: string }).code)}`)
        t.equal(classify('updateConnection', error), 'retryable')
        t.equal(classify('getConnection', error), 'retryable')
      }
    }
  )
  void t.test('a refused connect reported by happy eyeballs as an AggregateError', async (t) => {
    t.equal(
      classify('createConnection', new AggregateError([wireError('ECONNREFUSED'), wireError('ECONNREFUSED')])),
      'retryable'
    )
  })
  void t.test('timeout or reset after sending a create or update: ambiguous', async (t) => {
    for (const error of [
      new errors.HeadersTimeoutError(),
      new errors.BodyTimeoutError(),
      new errors.SocketError('other side closed'),
      wireError('ECONNRESET'),
      wireError('EPIPE'),
      wireError('ETIMEDOUT'),
      new Error('no code')
    ]) {
      t.equal(classify('createConnection', error), 'ambiguous', `create ${error.message}`)
      t.equal(classify('updateConnection', error), 'ambiguous', `update ${error.message}`)
    }
  })
  void t.test('the same after a GET or DELETE: retryable', async (t) => {
    for (const error of [
      new errors.HeadersTimeoutError(),
      new errors.SocketError('other side closed'),
      wireError('ECONNRESET')
    ]) {
      for (const op of ['getConnection', 'listConnections', 'deleteConnection', 'testConnection', 'ping'] as const) {
        t.equal(classify(op, error), 'retryable', `${op} ${error.message}`)
      }
    }
  })
  void t.test(
    'a 201 whose body could not be read: the create may exist, so ambiguous; a GET is retryable',
    async (t) => {
      t.equal(
        classifyFlowServiceFailure({
          operation: 'createConnection',
          response: { status: 201, headers: {} },
          error: new errors.BodyTimeoutError()
        }).kind,
        'ambiguous'
      )
      t.equal(
        classifyFlowServiceFailure({
          operation: 'getConnection',
          response: { status: 200, headers: {} },
          error: new Error('bad json')
        }).kind,
        'retryable'
      )
    }
  )
  void t.test('an error body that could not be read is judged by its status', async (t) => {
    t.equal(
      classifyFlowServiceFailure({
        operation: 'createConnection',
        response: { status: 503, headers: { 'retry-after': '3' } },
        error: new errors.SocketError('closed')
      }).retryAfterMs,
      3000
    )
    t.equal(
      classifyFlowServiceFailure({
        operation: 'createConnection',
        response: { status: 400, headers: {} },
        error: new errors.SocketError('closed')
      }).kind,
      'rejected'
    )
  })
  void t.test('an error already classified passes through unchanged', async (t) => {
    const original = new FlowServiceError({ kind: 'auth', operation: 'getToken', code: 'invalid_client' })
    t.equal(classifyFlowServiceFailure({ operation: 'createConnection', error: original }), original)
  })
  void t.test('the wire error is kept as cause and named in the message', async (t) => {
    const cause = wireError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9')
    const err = classifyFlowServiceFailure({ operation: 'ping', error: cause })
    t.equal(err.cause, cause)
    t.match(err.message, /ping failed \(retryable\).*ECONNREFUSED/)
  })
})

void t.test("Flow Service's own 404 is told apart from anyone else's", async (t) => {
  t.ok(
    isFlowServiceNotFound(JSON.stringify({ errorMessage: 'connections not found with id = [c1]', errorDetails: 'x' })),
    'short form'
  )
  t.ok(isFlowServiceNotFound(JSON.stringify({ errorDetails: { id: 'c1' } })), 'errorDetails alone')
  t.ok(
    isFlowServiceNotFound(
      JSON.stringify({ type: 'https://ns.adobe.com/aep/errors/FLOW-1439-404', title: 'Not Found' })
    ),
    'long form, code in the type'
  )
  t.ok(isFlowServiceNotFound(JSON.stringify({ title: 'FLOW-1439-404' })), 'code in the title')
  t.notOk(
    isFlowServiceNotFound(JSON.stringify({ error_code: '404000', message: 'No route', errorMessage: 'x' })),
    'gateway form'
  )
  t.notOk(
    isFlowServiceNotFound(JSON.stringify({ type: 'https://ns.adobe.com/aep/errors/FLOW-1102-500' })),
    'another catalogue code'
  )
  t.notOk(isFlowServiceNotFound(''), 'empty')
  t.notOk(isFlowServiceNotFound('<html>Not Found</html>'), 'HTML')
  t.notOk(isFlowServiceNotFound('[]'), 'not an object')
  t.notOk(isFlowServiceNotFound(undefined), 'no body')
})

void t.test('a redactor is applied to every string taken from the answer, before the message is cut', async (t) => {
  const redact = (text: string): string => text.replaceAll('SECRET', '[redacted]')
  const body = { code: 'X-SECRET', errorMessage: `${'m'.repeat(995)}SECRET tail`, report: { 'request-id': 'r-SECRET' } }
  t.same(parseErrorBody(JSON.stringify(body), redact), {
    code: 'X-[redacted]',
    message: `${'m'.repeat(995)}[reda`,
    requestId: 'r-[redacted]'
  })
  const err = classifyFlowServiceFailure({
    operation: 'createConnection',
    response: answer(400, { errorMessage: 'bad SECRET' }, { 'x-request-id': 'SECRET-1' }),
    redact
  })
  t.match(err, { downstreamMessage: 'bad [redacted]', requestId: '[redacted]-1' })
})

void t.test(
  'with a redactor, the cause kept is a redacted copy that still classifies and keeps its name and code',
  async (t) => {
    const redact = (text: string): string => text.replaceAll('SECRET', '[redacted]')
    const wire = Object.assign(new Error('parse failed near SECRET', { cause: new Error('inner SECRET') }), {
      code: 'UND_ERR_SOCKET',
      data: 'SECRET bytes'
    })
    const err = classifyFlowServiceFailure({ operation: 'createConnection', error: wire, redact })
    t.equal(err.kind, 'ambiguous')
    t.match(err.cause, { message: 'parse failed near [redacted]', code: 'UND_ERR_SOCKET' })
    t.notOk(JSON.stringify(err.cause).includes('SECRET'), 'no field of the original rides along')
    t.notOk(((err.cause as Error).stack ?? '').includes('SECRET'))
    t.match((err.cause as Error).cause, { message: 'inner [redacted]' })
    t.notOk(err.message.includes('SECRET'))
    const connect = classifyFlowServiceFailure({
      operation: 'createConnection',
      error: wireError('ECONNREFUSED'),
      redact
    })
    t.equal(connect.kind, 'retryable', 'the kind is read from the original error')
    t.equal(
      classifyFlowServiceFailure({ operation: 'createConnection', error: wire }).cause,
      wire,
      'without a redactor the cause is the error itself'
    )
  }
)

void t.test('unexpectedAnswer names what was odd, never the body', async (t) => {
  const err = unexpectedAnswer(
    {
      operation: 'getConnection',
      response: answer(200, { items: ['SECRET'] }, { 'x-request-id': 'req-9' }),
      requestId: 'ours'
    },
    'retryable',
    'a 200 without the id asked'
  )
  t.match(err, {
    kind: 'retryable',
    code: UNEXPECTED_ANSWER,
    status: 200,
    requestId: 'req-9',
    operation: 'getConnection'
  })
  t.equal(err.message, 'getConnection failed (retryable): HTTP 200: unexpected_answer: a 200 without the id asked')
  t.equal(err.downstreamMessage, undefined)
})
