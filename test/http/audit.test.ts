// GET /v1/audit and /v1/audit/verify: the history records creates, state changes (the poller's too), reads and
// denied attempts; it filters, pages newest first without repeating or skipping a row while rows keep coming,
// shows a team only its own, holds no secret value, and verify names a row altered behind the database's back
// (test/http/audit-verify.test.ts: admin only, one run at a time, incremental).
import { sql } from 'kysely'
import t from 'tap'
import { SEED_BODIES } from '../support/seed-bodies.js'
import { startTestBroker, type TestBroker } from '../support/test-broker.js'

interface AuditItem {
  id: string
  occurredAt: string
  actor: string
  actorTeam: string | null
  actorKeyId: string | null
  action: string
  connectionId: string | null
  requestId: string | null
  outcome: string
  changedFields: string[]
  detail: Record<string, unknown> | null
}
interface AuditPage {
  items: AuditItem[]
  nextCursor: string | null
}

async function auditPage(b: TestBroker, query: string, key?: string): Promise<AuditPage> {
  const res = await b.request({ method: 'GET', url: `/v1/audit${query}`, ...(key !== undefined ? { key } : {}) })
  if (res.statusCode !== 200) throw new Error(`GET /v1/audit${query}: ${res.statusCode} ${res.body}`)
  return res.json<AuditPage>()
}

const decreasing = (items: AuditItem[]): boolean =>
  items.every((item, i) => i === 0 || BigInt(item.id) < BigInt(items[i - 1]?.id ?? '0'))

void t.test(
  'the history of a connection: its create, every state change (the poller’s too) and every read, newest first',
  async (t) => {
    const b = await startTestBroker(t)
    const crm = await b.createKey('crm', ['connections:read', 'connections:write'])
    const created = await b.request({
      method: 'POST',
      url: '/v1/connections',
      key: crm,
      body: SEED_BODIES.salesforceBasicWithUrl,
      headers: { 'x-request-id': 'create-1' }
    })
    const id = created.json<{ id: string }>().id
    await b.waitForState(id, 'enabled')
    await b.request({ method: 'GET', url: `/v1/connections/${id}`, key: crm, headers: { 'x-request-id': 'read-1' } })
    await b.request({
      method: 'GET',
      url: `/v1/connections/${id}/events`,
      key: crm,
      headers: { 'x-request-id': 'events-1' }
    })
    await b.request({
      method: 'GET',
      url: `/v1/connections?name=${encodeURIComponent(SEED_BODIES.salesforceBasicWithUrl.name)}&state=enabled`,
      key: crm,
      headers: { 'x-request-id': 'list-1' }
    })

    const { items } = await auditPage(b, `?connectionId=${id}&limit=100`)
    t.ok(decreasing(items), 'newest first')
    const crmActor = items.find((i) => i.requestId === 'create-1')?.actor
    t.match(crmActor, /^key:[0-9a-f-]{36}$/)
    t.match(
      items.find((i) => i.action === 'connection.create'),
      {
        actor: crmActor,
        actorTeam: 'crm',
        requestId: 'create-1',
        outcome: 'success',
        detail: { state: 'pending' },
        changedFields: [
          'name',
          'description',
          'sandboxName',
          'connectionSpec',
          'auth.specName',
          'auth.params.environmentUrl',
          'auth.params.username',
          'auth.params.password',
          'auth.params.securityToken'
        ]
      }
    )
    const changes = items.filter((i) => i.action === 'connection.state_changed').reverse()
    t.equal(changes.length, 2, 'two state changes')
    t.match(
      changes,
      [
        {
          actor: crmActor,
          requestId: 'create-1',
          changedFields: ['state'],
          detail: { from: 'pending', to: 'initializing', observedBy: 'request' }
        },
        {
          actor: 'poller',
          actorTeam: null,
          actorKeyId: null,
          requestId: null,
          detail: { from: 'initializing', to: 'enabled', observedBy: 'poller' }
        }
      ],
      'the request’s change, then the poller’s'
    )
    t.match(
      items.find((i) => i.requestId === 'read-1'),
      { action: 'connection.read', actor: crmActor, outcome: 'success' }
    )
    t.match(
      items.find((i) => i.requestId === 'events-1'),
      { action: 'connection.events', actor: crmActor, outcome: 'success' }
    )

    const lists = await auditPage(b, '?action=connection.list')
    t.equal(lists.items.length, 1)
    t.match(
      lists.items,
      [
        {
          requestId: 'list-1',
          actor: crmActor,
          detail: { filters: { name: SEED_BODIES.salesforceBasicWithUrl.name, state: 'enabled' }, returned: 1 }
        }
      ],
      'a list read, with the filters it used'
    )
  }
)

void t.test(
  'denied attempts are in the history: a missing scope (403) and another team’s connection (404) each a row, no key (401) in a tally row',
  async (t) => {
    const b = await startTestBroker(t, { poller: false })
    const crm = await b.createKey('crm', ['connections:write', 'connections:read', 'audit:read'])
    const reader = await b.createKey('billing', ['audit:read'])
    const billing = await b.createKey('billing', ['connections:read'])
    const id = (
      await b.request({ method: 'POST', url: '/v1/connections', key: crm, body: SEED_BODIES.oracleServiceCloud })
    ).json<{ id: string }>().id

    t.equal(
      (
        await b.request({
          method: 'GET',
          url: `/v1/connections/${id}`,
          key: null,
          headers: { 'x-request-id': 'no-key' }
        })
      ).statusCode,
      401
    )
    t.equal(
      (
        await b.request({
          method: 'POST',
          url: '/v1/connections',
          key: billing,
          body: SEED_BODIES.oracleServiceCloud,
          headers: { 'x-request-id': 'no-scope' }
        })
      ).statusCode,
      403
    )
    t.equal(
      (
        await b.request({
          method: 'GET',
          url: `/v1/connections/${id}/events`,
          key: billing,
          headers: { 'x-request-id': 'other-team' }
        })
      ).statusCode,
      404
    )

    await b.app.denialTally.flush({ all: true })
    const denied = await auditPage(b, '?outcome=denied')
    t.equal(denied.items.length, 3, 'a row per refusal of a valid key, one tally row for the rest')
    t.match(denied.items, [
      {
        action: 'auth.denied',
        actor: 'anonymous',
        actorTeam: null,
        connectionId: null,
        requestId: null,
        detail: {
          status: 401,
          reason: 'no key',
          source: '127.0.0.1',
          count: 1,
          routes: { 'GET /v1/connections/:id': 1 },
          firstRequestId: 'no-key'
        }
      },
      {
        requestId: 'other-team',
        action: 'connection.events',
        actorTeam: 'billing',
        connectionId: id,
        detail: { status: 404 }
      },
      {
        requestId: 'no-scope',
        action: 'connection.create',
        actorTeam: 'billing',
        detail: { status: 403, missingScope: 'connections:write' }
      }
    ])
    t.same(
      denied.items.find((i) => i.requestId === 'other-team')?.detail,
      { status: 404 },
      'the 404 row says nothing of whose connection it was'
    )

    const own = await auditPage(b, '?outcome=denied', reader)
    t.same(
      own.items.map((i) => i.requestId),
      ['other-team', 'no-scope'],
      'billing’s reader sees billing’s own denied attempts, not the anonymous one'
    )
    const crmView = await auditPage(b, `?connectionId=${id}`, crm)
    t.same(
      crmView.items.filter((i) => i.actorTeam === 'billing'),
      [],
      'crm does not learn which other team probed its connection'
    )
    t.same(
      crmView.items.filter((i) => i.actor === 'anonymous'),
      [],
      'nor does an anonymous caller get into its history by naming it'
    )
  }
)

void t.test(
  'filters: actor, action, outcome, since (inclusive), until (exclusive), team; bad values are 400 naming the parameter',
  async (t) => {
    const b = await startTestBroker(t, { poller: false })
    const at: string[] = []
    for (const [i, action] of ['test.alpha', 'test.beta', 'test.alpha', 'test.gamma'].entries()) {
      await b.broker.audit.append({
        actor: { kind: 'key', team: i % 2 === 0 ? 'even' : 'odd', keyId: `key-${i}` },
        action,
        outcome: i === 3 ? 'failure' : 'success',
        requestId: `f-${i}`
      })
      at.push((await auditPage(b, `?action=${action}&limit=1`)).items[0]?.occurredAt ?? '')
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    const ids = async (query: string): Promise<string[]> =>
      (await auditPage(b, `${query}&action=test.alpha`.replace(/^&/, '?'))).items.map((i) => i.requestId ?? '')
    t.same(
      (await auditPage(b, '?action=test.alpha')).items.map((i) => i.requestId),
      ['f-2', 'f-0'],
      'action'
    )
    t.same(
      (await auditPage(b, '?actor=key:key-1')).items.map((i) => i.requestId),
      ['f-1'],
      'actor'
    )
    t.same(
      (await auditPage(b, '?outcome=failure')).items.map((i) => i.requestId),
      ['f-3'],
      'outcome'
    )
    t.same(
      (await auditPage(b, `?since=${at[1] ?? ''}&until=${at[3] ?? ''}`)).items
        .map((i) => i.requestId)
        .filter((r) => r?.startsWith('f-')),
      ['f-2', 'f-1'],
      'since includes its instant, until excludes its own'
    )
    t.same(await ids(`?team=even`), ['f-2', 'f-0'], 'team (admin)')
    t.same(await ids(`?team=odd`), [], 'team narrows with the other filters')
    t.same(
      (await auditPage(b, '?action=test.alpha&limit=1')).items.map((i) => i.requestId),
      ['f-2'],
      'limit'
    )

    const bad: Array<[string, string]> = [
      ['?limit=101', 'query.limit'],
      ['?limit=0', 'query.limit'],
      ['?since=yesterday', 'query.since'],
      ['?outcome=maybe', 'query.outcome'],
      ['?connectionId=42', 'query.connectionId'],
      ['?cursor=bm90LWEtY3Vyc29y', 'query.cursor'],
      [`?since=${at[2] ?? ''}&until=${at[1] ?? ''}`, 'query.until'],
      ['?sort=asc', 'query.sort']
    ]
    for (const [query, path] of bad) {
      const res = await b.request({ method: 'GET', url: `/v1/audit${query}` })
      t.equal(res.statusCode, 400, query)
      t.match(
        res.json<{ errors: Array<{ path: string }> }>().errors.map((e) => e.path),
        [path],
        `${query} names ${path}`
      )
    }
  }
)

void t.test(
  'a team’s audit reader sees its team’s rows and its own connections’ poller rows, never another team’s',
  async (t) => {
    const b = await startTestBroker(t)
    const crm = await b.createKey('crm', ['connections:write', 'connections:read', 'audit:read'])
    const billing = await b.createKey('billing', ['connections:write', 'connections:read', 'audit:read'])
    const crmId = (
      await b.request({ method: 'POST', url: '/v1/connections', key: crm, body: SEED_BODIES.oracleServiceCloud })
    ).json<{ id: string }>().id
    const billingId = (
      await b.request({ method: 'POST', url: '/v1/connections', key: billing, body: SEED_BODIES.marketingCloud })
    ).json<{ id: string }>().id
    await b.waitForState(crmId, 'enabled')
    await b.waitForState(billingId, 'enabled')

    const everything = await auditPage(b, '?limit=100', crm)
    t.ok(
      everything.items.length > 0 && everything.items.every((i) => i.actorTeam === 'crm'),
      'without a filter: crm’s own rows only'
    )
    const own = await auditPage(b, `?connectionId=${crmId}&limit=100`, crm)
    t.ok(
      own.items.some((i) => i.actor === 'poller'),
      'with its connection named: that connection’s poller rows too'
    )
    t.ok(
      own.items.every((i) => i.actorTeam === 'crm' || i.actorTeam === null),
      'and nobody else’s'
    )
    const foreign = await auditPage(b, `?connectionId=${billingId}&limit=100`, crm)
    t.same(foreign.items, [], 'another team’s connection: nothing, not even its poller rows')
    const asTeam = await auditPage(b, '?team=billing&limit=100', crm)
    t.ok(
      asTeam.items.every((i) => i.actorTeam === 'crm'),
      'a team key cannot ask for another team'
    )

    const admin = await auditPage(b, '?team=billing&limit=100')
    t.ok(admin.items.length > 0 && admin.items.every((i) => i.actorTeam === 'billing'), 'admin narrows to any team')
    const adminAll = await auditPage(b, '?limit=100')
    t.ok(
      adminAll.items.some((i) => i.actorTeam === 'crm') &&
        adminAll.items.some((i) => i.actorTeam === 'billing') &&
        adminAll.items.some((i) => i.actor === 'poller'),
      'admin sees every row'
    )
  }
)

void t.test(
  'pages come newest first and never repeat or skip a row while rows are appended between and during pages',
  async (t) => {
    const b = await startTestBroker(t, { poller: false })
    const db = b.broker.database.db
    const append = async (n: number, tag: string): Promise<void> => {
      await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          await b.broker.audit.append({
            actor: { kind: 'system', name: 'poller' },
            action: 'test.concurrent',
            outcome: 'success',
            requestId: `${tag}-${i}`
          })
        })
      )
    }
    await append(40, 'before')

    const seen: AuditItem[] = []
    let cursor: string | null = null
    let pages = 0
    let top: string | undefined
    do {
      const [page]: [AuditPage, void] = await Promise.all([
        auditPage(b, `?limit=7${cursor !== null ? `&cursor=${cursor}` : ''}`),
        append(3, `during-${pages}`)
      ])
      top ??= page.items[0]?.id
      seen.push(...page.items)
      cursor = page.nextCursor
      pages += 1
      await append(2, `between-${pages}`)
    } while (cursor !== null)

    if (top === undefined) throw new Error('no first page')
    t.ok(pages > 5, `several pages (${pages})`)
    t.ok(decreasing(seen), 'ids strictly decrease across all pages: nothing repeated, nothing out of order')
    const existing = await db
      .selectFrom('audit_events')
      .select('id')
      .where('id', '<=', top)
      .orderBy('id', 'desc')
      .execute()
    t.same(
      seen.map((i) => i.id),
      existing.map((r) => r.id),
      'exactly the rows up to the first page’s newest: nothing skipped'
    )
    t.ok(
      (await db.selectFrom('audit_events').select('id').where('id', '>', top).execute()).length >= 2 * pages,
      'rows appended meanwhile wait for a fresh first page'
    )
  }
)

void t.test('verify: an intact chain is valid; a row altered behind the database’s back is named', async (t) => {
  const b = await startTestBroker(t, { poller: false })
  const db = b.broker.database.db
  const crm = await b.createKey('crm', ['connections:write'])
  for (const body of [SEED_BODIES.oracleServiceCloud, SEED_BODIES.marketingCloud, SEED_BODIES.salesforceOAuth]) {
    await b.request({ method: 'POST', url: '/v1/connections', key: crm, body })
  }
  const rows = await db.selectFrom('audit_events').select(['id', 'action']).orderBy('id').execute()

  const intact = await b.request({ method: 'GET', url: '/v1/audit/verify?full=true' })
  t.equal(intact.statusCode, 200)
  t.same(
    intact.json(),
    { valid: true, checked: rows.length, full: true, startedAfterId: null, verifiedThroughId: rows.at(-1)?.id },
    'every row checked, all hold'
  )

  const victim = rows.find((r) => r.action === 'connection.create')
  if (victim === undefined) throw new Error('no create row')
  // As a superuser would: switch the append-only trigger off, change history, switch it back on.
  await sql`alter table audit_events disable trigger audit_events_no_update_delete`.execute(db)
  await sql`update audit_events set actor = 'key:someone-else' where id = ${victim.id}`.execute(db)
  await sql`alter table audit_events enable trigger audit_events_no_update_delete`.execute(db)

  const broken = await b.request({ method: 'GET', url: '/v1/audit/verify?full=true' })
  t.same(
    broken.json(),
    {
      valid: false,
      checked: rows.findIndex((r) => r.id === victim.id) + 1,
      firstBrokenId: victim.id,
      full: true,
      startedAfterId: null,
      verifiedThroughId: null
    },
    'the altered row is named'
  )
  const verifications = (await auditPage(b, '?action=audit.verify')).items
  t.equal(verifications.length, 2)
  t.match(
    verifications,
    [
      { outcome: 'failure', detail: { valid: false, firstBrokenId: victim.id } },
      { outcome: 'success', detail: { valid: true } }
    ],
    'each verification is itself in the history'
  )
  await t.rejects(
    sql`update audit_events set actor = 'x' where id = ${victim.id}`.execute(db),
    /append-only/,
    'the trigger is back on'
  )
})

void t.test('no secret value reaches an audit row or the audit API, whatever the request did', async (t) => {
  const b = await startTestBroker(t)
  const crm = await b.createKey('crm', ['connections:write', 'connections:read'])
  const secrets = [
    'Pw-7c1e-only-in-vault',
    'Tok-9b2f-only-in-vault',
    'Cs-4d8a-only-in-vault',
    'Cs-rejected-3e5d-only-in-vault'
  ]
  const basic = {
    ...SEED_BODIES.salesforceBasicWithUrl,
    auth: {
      ...SEED_BODIES.salesforceBasicWithUrl.auth,
      params: { ...SEED_BODIES.salesforceBasicWithUrl.auth.params, password: secrets[0], securityToken: secrets[1] }
    }
  }
  const oauth = {
    ...SEED_BODIES.salesforceOAuth,
    auth: {
      ...SEED_BODIES.salesforceOAuth.auth,
      params: { ...SEED_BODIES.salesforceOAuth.auth.params, clientSecret: secrets[2] }
    }
  }
  const rejected = {
    ...oauth,
    name: 'rejected downstream',
    auth: { ...oauth.auth, params: { ...oauth.auth.params, clientSecret: secrets[3] } }
  }

  const a = (await b.request({ method: 'POST', url: '/v1/connections', key: crm, body: basic })).json<{ id: string }>()
    .id
  const c = (await b.request({ method: 'POST', url: '/v1/connections', key: crm, body: oauth })).json<{ id: string }>()
    .id
  // Flow Service quoting the secret back in its refusal.
  b.emulator.control.injectFault('create', {
    kind: 'reject',
    code: '400-012',
    message: `invalid client secret ${secrets[3] ?? ''}`
  })
  t.equal(
    (await b.request({ method: 'POST', url: '/v1/connections', key: crm, body: rejected })).statusCode,
    422,
    'a downstream rejection'
  )
  t.equal(
    (
      await b.request({
        method: 'POST',
        url: '/v1/connections',
        key: crm,
        body: { ...basic, connectionSpec: { id: 'nope', version: '1.0' } }
      })
    ).statusCode,
    400,
    'an invalid create'
  )
  t.equal(
    (await b.request({ method: 'POST', url: '/v1/connections', key: null, body: basic })).statusCode,
    401,
    'an unauthenticated create'
  )
  await b.waitForState(a, 'enabled')
  await b.waitForState(c, 'enabled')
  await b.request({ method: 'GET', url: `/v1/connections/${a}`, key: crm })
  await b.request({ method: 'GET', url: `/v1/connections/${c}/events`, key: crm })
  await b.request({ method: 'GET', url: '/v1/connections?state=enabled', key: crm })

  const rows = JSON.stringify(await b.broker.database.db.selectFrom('audit_events').selectAll().execute())
  const pages: string[] = []
  let cursor: string | null = null
  do {
    const res = await b.request({
      method: 'GET',
      url: `/v1/audit?limit=10${cursor !== null ? `&cursor=${cursor}` : ''}`
    })
    pages.push(res.body)
    cursor = res.json<AuditPage>().nextCursor
  } while (cursor !== null)
  t.ok(rows.includes('auth.params.password'), 'the audit names the secret fields that were set')
  for (const secret of secrets) {
    t.notOk(rows.includes(secret), `${secret}: in no audit row`)
    t.notOk(pages.join('\n').includes(secret), `${secret}: in no audit API answer`)
  }
})
