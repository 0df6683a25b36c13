// The trace of one create, exported to memory: the request's server span, and under it every SQL statement, the
// secret store (Vault) calls, the IMS token call and the Flow Service calls, with their semantic-convention
// attributes; Flow Service receives the request's traceparent and x-request-id; and no exported span holds a secret
// value, the Vault token or the IMS client secret.
import { SpanKind, SpanStatusCode } from '@opentelemetry/api'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace'
import t from 'tap'
import { startTestApp } from '../support/test-broker.js'
import { startVaultTarget } from '../support/vault-setup.js'

const SECRETS = {
  password: `pw-${Math.random().toString(36).slice(2, 12)}-trace`,
  securityToken: `st-${Math.random().toString(36).slice(2, 12)}-trace`
}
const BODY = {
  name: 'Traced Salesforce account',
  description: 'Salesforce account using basic authentication',
  auth: {
    specName: 'Basic Authentication',
    params: {
      environmentUrl: 'https://acme-enterprise-3126.my.salesforce.com',
      username: 'acme-salesforce',
      ...SECRETS
    }
  },
  connectionSpec: { id: 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5', version: '1.0' }
}
const INBOUND_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const INBOUND_PARENT = `00-${INBOUND_TRACE_ID}-00f067aa0ba902b7-01`

const exporter = new InMemorySpanExporter()
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] })
const vault = await startVaultTarget()
t.teardown(async () => {
  await vault.close()
})
const b = await startTestApp(t, {
  tracerProvider: provider,
  env: { SECRET_STORE: 'vault', VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken }
})
t.teardown(async () => {
  await provider.shutdown()
})

async function finishedSpans(): Promise<ReadableSpan[]> {
  await provider.forceFlush()
  return exporter.getFinishedSpans()
}

const id = (span: ReadableSpan): string => span.spanContext().spanId
const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId

/** Every value a span exports: names, attributes, events, status, resource. */
function exportedText(spans: readonly ReadableSpan[]): string {
  return JSON.stringify(
    spans.map((s) => ({
      name: s.name,
      attributes: s.attributes,
      events: s.events,
      status: s.status,
      links: s.links,
      resource: s.resource.attributes
    }))
  )
}

void t.test('one create: the request span and, under it, database, Vault, IMS and Flow Service spans', async (t) => {
  exporter.reset()
  b.emulator.control.reset()
  const res = await b.request({
    method: 'POST',
    url: '/v1/connections',
    body: BODY,
    headers: { 'x-request-id': 'trace-create-1', traceparent: INBOUND_PARENT }
  })
  t.equal(res.statusCode, 201)
  const spans = await finishedSpans()

  const servers = spans.filter((s) => s.kind === SpanKind.SERVER)
  t.equal(servers.length, 1, 'one server span')
  const server = servers[0]
  if (server === undefined) return
  t.equal(server.name, 'POST /v1/connections')
  t.equal(server.spanContext().traceId, INBOUND_TRACE_ID, "the caller's traceparent is continued")
  t.equal(parentOf(server), '00f067aa0ba902b7')
  t.match(server.attributes, {
    'http.request.method': 'POST',
    'http.route': '/v1/connections',
    'url.path': '/v1/connections',
    'http.response.status_code': 201,
    'broker.request_id': 'trace-create-1'
  })
  t.equal(server.status.code, SpanStatusCode.UNSET)

  // Every span of the request is in its trace and descends from its server span.
  const byId = new Map(spans.map((s) => [id(s), s]))
  const underServer = (s: ReadableSpan): boolean => {
    for (let parent = parentOf(s); parent !== undefined;) {
      if (parent === id(server)) return true
      const next = byId.get(parent)
      parent = next === undefined ? undefined : parentOf(next)
    }
    return false
  }
  const others = spans.filter((s) => s !== server)
  t.ok(others.length > 0)
  t.same(
    others.filter((s) => !underServer(s)).map((s) => s.name),
    [],
    'no span of the request outside its tree'
  )

  const statements = others.filter((s) => s.attributes['db.system.name'] === 'postgresql')
  t.ok(statements.length >= 3, `database statements traced (${statements.length})`)
  for (const s of statements) {
    t.equal(s.kind, SpanKind.CLIENT)
    t.type(s.attributes['db.query.text'], 'string')
    t.equal(s.name, s.attributes['db.operation.name'])
  }
  t.ok(
    statements.some(
      (s) => s.name === 'INSERT' && /insert into "connections"/.test(String(s.attributes['db.query.text']))
    ),
    'the connection row insert is a statement span'
  )
  t.ok(
    statements.some((s) => parentOf(s) === id(server)),
    'statements of the request itself are children of the server span'
  )

  const vaultSpans = others.filter((s) => s.attributes['broker.secret_store.kind'] === 'vault')
  t.ok(
    vaultSpans.some((s) => s.attributes['broker.secret_store.operation'] === 'write' && parentOf(s) === id(server)),
    'the Vault write is a child of the request'
  )

  const outgoing = others.filter((s) => s.attributes['broker.flow_service.operation'] !== undefined)
  const ims = outgoing.find((s) => s.attributes['broker.flow_service.operation'] === 'getToken')
  const create = outgoing.find((s) => s.attributes['broker.flow_service.operation'] === 'createConnection')
  t.ok(ims, 'the IMS token call is traced')
  t.ok(create, 'the Flow Service create is traced')
  if (ims === undefined || create === undefined) return
  for (const s of [ims, create]) {
    t.equal(s.kind, SpanKind.CLIENT)
    t.equal(s.name, 'POST')
    t.equal(parentOf(s), id(server), `${String(s.attributes['broker.flow_service.operation'])}: child of the request`)
    t.equal(s.attributes['http.request.method'], 'POST')
    t.equal(s.attributes['server.address'], '127.0.0.1')
    t.type(s.attributes['server.port'], 'number')
  }
  t.equal(ims.attributes['http.response.status_code'], 200)
  t.match(ims.attributes['url.full'], /^http:\/\/127\.0\.0\.1:\d+\/ims\/token\/v3$/)
  t.match(create.attributes['url.full'], /\/data\/foundation\/flowservice\/connections$/)
  t.equal(create.attributes['http.response.status_code'], 201)
  t.equal(create.attributes['broker.request_id'], 'trace-create-1')

  // Flow Service got the trace context of its own span, and the request's id.
  const received = b.emulator.control.recentRequests().find((r) => r.operation === 'create')
  t.equal(received?.requestId, 'trace-create-1', 'x-request-id forwarded to Flow Service')
  t.equal(received?.traceparent, `00-${INBOUND_TRACE_ID}-${id(create)}-01`, 'traceparent of the create span sent')

  // No secret anywhere in what was exported.
  const text = exportedText(spans)
  const forbidden = {
    ...SECRETS,
    vaultToken: vault.rootToken,
    imsClientSecret: b.emulator.credentials.clientSecret
  }
  t.same(
    Object.entries(forbidden)
      .filter(([, value]) => text.includes(value))
      .map(([name]) => name),
    [],
    'no secret value, Vault token or client secret in any span'
  )
  t.notMatch(text, /authorization|bearer /i, 'no Authorization header')
})

void t.test('a poller batch and a reconciler sweep are spans of their own, with their calls under them', async (t) => {
  const res = await b.request({ method: 'POST', url: '/v1/connections', body: BODY })
  t.equal(res.statusCode, 201)
  exporter.reset()
  await b.waitForState(res.json<{ id: string }>().id, 'enabled')
  await b.broker.reconciler.sweep()
  const spans = await finishedSpans()

  const batches = spans.filter((s) => s.name === 'poller batch' && (s.attributes['broker.poller.claimed'] ?? 0) !== 0)
  t.ok(batches.length > 0, 'a batch that claimed work')
  const batch = batches[0]
  if (batch === undefined) return
  t.equal(parentOf(batch), undefined, 'a batch is a root span')
  const children = spans.filter((s) => parentOf(s) === id(batch))
  t.ok(
    children.some((s) => s.attributes['broker.flow_service.operation'] === 'listConnections'),
    'its Flow Service list call is a child'
  )
  t.ok(
    children.some((s) => s.attributes['db.system.name'] === 'postgresql'),
    'its statements (the claim) are children'
  )
  const listed = b.emulator.control.recentRequests().filter((r) => r.operation === 'list')
  t.ok(listed.length > 0 && listed.every((r) => r.traceparent !== undefined && r.requestId !== undefined))

  const sweep = spans.find((s) => s.name === 'reconciler sweep')
  t.ok(sweep, 'the reconciler sweep is a span')
  if (sweep !== undefined) {
    t.equal(sweep.attributes['broker.reconciler.deferred'], 0)
    t.ok(spans.some((s) => parentOf(s) === id(sweep) && s.attributes['db.system.name'] === 'postgresql'))
  }
})
