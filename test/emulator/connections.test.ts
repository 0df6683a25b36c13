// Connections: create, read, update, delete, test, as Flow Service answers them, with their errors.
import t from 'tap'
import {
  harness,
  MARKETING_CLOUD,
  QUOTED_ETAG,
  SALESFORCE,
  salesforceBody,
  SECRET_ARN,
  SERVICE_CLOUD,
  UUID
} from './helpers.js'

void t.test('create', async (t) => {
  const h = await harness(t)

  void t.test('201 with the new id and a quoted etag, and a Location', async (t) => {
    const res = await h.flow('POST', '/connections', { body: salesforceBody() })
    t.equal(res.status, 201)
    const body = res.json as { id: string; etag: string }
    t.same(Object.keys(body).sort(), ['etag', 'id'])
    t.match(body.id, UUID)
    t.match(body.etag, QUOTED_ETAG, 'the etag value itself contains double quotes')
    t.equal(res.headers.get('location'), `/data/foundation/flowservice/connections/${body.id}`)
  })

  void t.test('stores every param, secret ones in clear, for tests to inspect', async (t) => {
    const { id } = await h.create({ name: 'stored as sent' })
    const stored = h.emu.control.storedConnection(id)
    t.match(stored, {
      name: 'stored as sent',
      sandboxName: 'prod',
      auth: {
        specName: 'Basic Authentication',
        params: { password: 'hunter2-very-secret', securityToken: 'tok-5up3r-s3cr3t' }
      },
      connectionSpec: { id: SALESFORCE, version: '1.0' }
    })
  })

  void t.test('accepts every spec of the catalogue with its auth specs', async (t) => {
    const res = await h.flow('POST', '/connections', {
      body: {
        name: 'SFMC',
        auth: {
          specName: 'Client-Id-Secret Based Authentication',
          params: { host: 'acme.rest.marketingcloudapis.com', clientId: 'cid', clientSecret: 'cs' }
        },
        connectionSpec: { id: MARKETING_CLOUD, version: '1.0' }
      }
    })
    t.equal(res.status, 201)
  })

  void t.test('an unknown connectionSpec.id is 1413-400', async (t) => {
    const res = await h.flow('POST', '/connections', {
      body: salesforceBody({ connectionSpec: { id: '00000000-0000-0000-0000-000000000000', version: '1.0' } })
    })
    t.equal(res.status, 400)
    t.match(res.json, { type: 'https://ns.adobe.com/aep/errors/FLOW-1413-400', status: 400 })
  })

  void t.test('the seed’s mistyped Service Cloud id is not Adobe’s business: 1413-400', async (t) => {
    const res = await h.flow('POST', '/connections', {
      body: salesforceBody({ connectionSpec: { id: SERVICE_CLOUD.slice(1), version: '1.0' } })
    })
    t.equal(res.status, 400)
    t.match((res.json as { type: string }).type, /1413-400$/)
  })

  void t.test('an auth.specName the spec does not have is 1415-400', async (t) => {
    const body = salesforceBody()
    body.auth.specName = 'Client-Id-Secret Based Authentication'
    const res = await h.flow('POST', '/connections', { body })
    t.equal(res.status, 400)
    t.match(res.json, { type: /FLOW-1415-400$/, errorMessage: /Client-Id-Secret Based Authentication/ })
  })

  void t.test('a missing connectionSpec.version is 422', async (t) => {
    const res = await h.flow('POST', '/connections', {
      body: { ...salesforceBody(), connectionSpec: { id: SALESFORCE } }
    })
    t.equal(res.status, 422)
    t.match(res.json, { status: 422, errorMessage: /version/ })
  })

  void t.test('a missing name is 400', async (t) => {
    const { name: _omit, ...body } = salesforceBody()
    const res = await h.flow('POST', '/connections', { body })
    t.equal(res.status, 400)
    t.match(res.json, { errorMessage: /name/ })
  })

  void t.test('a missing required param is 400 naming it', async (t) => {
    const body = salesforceBody()
    delete body.auth.params.securityToken
    const res = await h.flow('POST', '/connections', { body })
    t.equal(res.status, 400)
    t.match(res.json, { errorMessage: /securityToken/ })
  })

  void t.test('an empty body is 1405-400', async (t) => {
    const res = await h.flow('POST', '/connections', { body: '', headers: { 'content-type': 'application/json' } })
    t.equal(res.status, 400)
    t.match((res.json as { type: string }).type, /1405-400$/)
  })

  void t.test('malformed JSON is 400', async (t) => {
    const res = await h.flow('POST', '/connections', {
      body: '{"name": "x", "auth": {"params": ',
      headers: { 'content-type': 'application/json' }
    })
    t.equal(res.status, 400)
    t.match(res.json, { errorMessage: /JSON/ })
  })

  void t.test('rejected creates store nothing', async (t) => {
    const before = h.emu.control.storedConnections().length
    await h.flow('POST', '/connections', {
      body: { ...salesforceBody(), connectionSpec: { id: 'nope', version: '1.0' } }
    })
    t.equal(h.emu.control.storedConnections().length, before)
  })
})

void t.test('get', async (t) => {
  const h = await harness(t)

  void t.test('200 with {items: [connection]} carrying every documented field', async (t) => {
    const { id } = await h.create()
    const res = await h.flow('GET', `/connections/${id}`)
    t.equal(res.status, 200)
    const body = res.json as { items: Array<Record<string, unknown>> }
    t.equal(body.items.length, 1, 'an array even for one id')
    const conn = body.items[0] as Record<string, unknown>
    t.same(
      Object.keys(conn).sort(),
      [
        'auth',
        'connectionSpec',
        'createdAt',
        'createdBy',
        'createdClient',
        'description',
        'etag',
        'id',
        'imsOrgId',
        'name',
        'sandboxId',
        'sandboxName',
        'state',
        'updatedAt',
        'updatedBy',
        'updatedClient',
        'version'
      ].sort()
    )
    t.match(conn, {
      id,
      createdAt: Number,
      updatedAt: Number,
      createdBy: h.emu.credentials.clientId,
      createdClient: h.emu.credentials.clientId,
      sandboxId: UUID,
      sandboxName: 'prod',
      imsOrgId: h.emu.credentials.orgId,
      name: 'ACME Salesforce',
      description: 'CRM of ACME',
      connectionSpec: { id: SALESFORCE, version: '1.0' },
      state: 'enabled'
    })
    t.match(conn.etag, QUOTED_ETAG)
    t.equal(conn.version, conn.etag, 'version and etag carry the same string')
  })

  void t.test('secret params come back as Secrets Manager ARNs, others in clear', async (t) => {
    const { id } = await h.create()
    const conn = await h.read(id)
    const params = (conn.auth as { params: Record<string, string> }).params
    t.equal(params.username, 'integration@acme.com')
    t.equal(params.environmentUrl, 'https://acme.my.salesforce.com')
    t.match(params.password, SECRET_ARN)
    t.match(params.securityToken, SECRET_ARN)
    t.not(params.password, params.securityToken, 'one reference per secret')
    const again = await h.read(id)
    t.equal((again.auth as { params: Record<string, string> }).params.password, params.password, 'stable across reads')
  })

  void t.test('no secret value appears anywhere in a GET answer', async (t) => {
    const { id } = await h.create()
    const res = await h.flow('GET', `/connections/${id}`)
    t.notMatch(res.text, 'hunter2-very-secret')
    t.notMatch(res.text, 'tok-5up3r-s3cr3t')
  })

  void t.test('an unknown id is 404 in Adobe’s long form', async (t) => {
    const id = '4890fc95-5a1f-4983-94bb-e060c08e3f00'
    const res = await h.flow('GET', `/connections/${id}`)
    t.equal(res.status, 404)
    t.match(res.json, {
      type: 'https://ns.adobe.com/aep/errors/FLOW-1439-404',
      title: String,
      status: 404,
      report: { 'detailed-message': `connections not found with id = [${id}]`, 'request-id': String },
      errorMessage: `connections not found with id = [${id}]`,
      errorDetails: `connections not found with id = [${id}]`
    })
  })

  void t.test('test answers {result: true}, or what the control API sets', async (t) => {
    const { id } = await h.create()
    const ok = await h.flow('GET', `/connections/${id}/test`)
    t.equal(ok.status, 200)
    t.same(ok.json, { result: true })
    h.emu.control.setTestResult(id, false)
    t.same((await h.flow('GET', `/connections/${id}/test`)).json, { result: false })
    t.equal((await h.flow('GET', '/connections/nope/test')).status, 404)
  })
})

void t.test('update (PATCH)', async (t) => {
  const h = await harness(t)
  const patch = (id: string, ops: unknown, ifMatch?: string, path = `/connections/${id}`): ReturnType<typeof h.flow> =>
    h.flow('PATCH', path, { body: ops, headers: ifMatch === undefined ? {} : { 'if-match': ifMatch } })

  void t.test('replace /name and add /description with the quoted etag: 200 {id, etag} with a new etag', async (t) => {
    const { id } = await h.create()
    const before = await h.read(id)
    const res = await patch(
      id,
      [
        { op: 'replace', path: '/name', value: 'Renamed' },
        { op: 'add', path: '/description', value: 'new words' }
      ],
      before.etag as string
    )
    t.equal(res.status, 200)
    const body = res.json as { id: string; etag: string }
    t.equal(body.id, id)
    t.match(body.etag, QUOTED_ETAG)
    t.not(body.etag, before.etag, 'every update changes the etag')
    const after = await h.read(id)
    t.match(after, {
      name: 'Renamed',
      description: 'new words',
      etag: body.etag,
      updatedBy: h.emu.credentials.clientId
    })
    t.ok((after.updatedAt as number) >= (before.updatedAt as number))
  })

  void t.test('remove /description', async (t) => {
    const { id } = await h.create()
    const res = await patch(id, [{ op: 'remove', path: '/description' }], (await h.read(id)).etag as string)
    t.equal(res.status, 200)
    t.notOk('description' in (await h.read(id)))
  })

  void t.test('replace /auth/params swaps the whole params object and mints new secret references', async (t) => {
    const { id } = await h.create()
    const before = await h.read(id)
    const params = {
      environmentUrl: 'https://acme.my.salesforce.com',
      username: 'integration@acme.com',
      password: 'rotated!',
      securityToken: 'rotated-token'
    }
    const res = await patch(id, [{ op: 'replace', path: '/auth/params', value: params }], before.etag as string)
    t.equal(res.status, 200)
    t.same(h.emu.control.storedConnection(id)?.auth.params, params)
    const after = await h.read(id)
    t.not(
      (after.auth as { params: Record<string, string> }).params.password,
      (before.auth as { params: Record<string, string> }).params.password
    )
  })

  void t.test('replace /auth/params missing a required param is 400 and changes nothing', async (t) => {
    const { id } = await h.create()
    const etag = (await h.read(id)).etag as string
    const res = await patch(id, [{ op: 'replace', path: '/auth/params', value: { password: 'only-this' } }], etag)
    t.equal(res.status, 400)
    t.equal((await h.read(id)).etag, etag)
  })

  void t.test('without If-Match: 1403-400', async (t) => {
    const { id } = await h.create()
    const res = await patch(id, [{ op: 'replace', path: '/name', value: 'x' }])
    t.equal(res.status, 400)
    t.match((res.json as { type: string }).type, /FLOW-1403-400$/)
  })

  void t.test('a stale etag: 412 1404-412 naming both versions', async (t) => {
    const { id } = await h.create()
    const first = (await h.read(id)).etag as string
    const second = (
      await patch(id, [{ op: 'replace', path: '/name', value: 'one' }], first).then((r) => r.json as { etag: string })
    ).etag
    const res = await patch(id, [{ op: 'replace', path: '/name', value: 'two' }], first)
    t.equal(res.status, 412)
    t.match(res.json, {
      type: /FLOW-1404-412$/,
      status: 412,
      errorMessage: `Supplied version=[${first}] does not match the current version on entity=[${second}]`
    })
    t.equal((await h.read(id)).name, 'one')
  })

  void t.test('the etag without its quotes is a mismatch too', async (t) => {
    const { id } = await h.create()
    const etag = (await h.read(id)).etag as string
    const res = await patch(id, [{ op: 'replace', path: '/name', value: 'x' }], etag.slice(1, -1))
    t.equal(res.status, 412)
  })

  void t.test('while initializing: 1417-400', async (t) => {
    h.emu.control.setReadyDelayMs(60_000)
    t.teardown(() => {
      h.emu.control.setReadyDelayMs(0)
    })
    const { id, etag } = await h.create()
    const res = await patch(id, [{ op: 'replace', path: '/name', value: 'x' }], etag)
    t.equal(res.status, 400)
    t.match((res.json as { type: string }).type, /FLOW-1417-400$/)
  })

  void t.test('in a state Flow Service is busy with (enabled-finalizing): 1416-400', async (t) => {
    const { id } = await h.create()
    const etag = (await h.read(id)).etag as string
    h.emu.control.forceState(id, 'enabled-finalizing')
    const res = await patch(id, [{ op: 'replace', path: '/name', value: 'x' }], etag)
    t.equal(res.status, 400)
    t.match((res.json as { type: string }).type, /FLOW-1416-400$/)
  })

  void t.test('a disabled connection can be updated', async (t) => {
    const { id } = await h.create()
    h.emu.control.forceState(id, 'disabled')
    const res = await patch(id, [{ op: 'replace', path: '/name', value: 'x' }], (await h.read(id)).etag as string)
    t.equal(res.status, 200)
  })

  void t.test('upper-case ops (as the published YAML shows) are refused', async (t) => {
    const { id } = await h.create()
    const res = await patch(id, [{ op: 'REPLACE', path: '/name', value: 'x' }], (await h.read(id)).etag as string)
    t.equal(res.status, 400)
  })

  void t.test('a body that is an object, not a JSON Patch array, is refused', async (t) => {
    const { id } = await h.create()
    const res = await patch(id, { op: 'replace', path: '/name', value: 'x' }, (await h.read(id)).etag as string)
    t.equal(res.status, 400)
  })

  void t.test('another path is refused', async (t) => {
    const { id } = await h.create()
    const res = await patch(
      id,
      [{ op: 'replace', path: '/connectionSpec/id', value: 'x' }],
      (await h.read(id)).etag as string
    )
    t.equal(res.status, 400)
  })

  void t.test('an unknown id is 404', async (t) => {
    const res = await patch('nope', [{ op: 'replace', path: '/name', value: 'x' }], '"x"')
    t.equal(res.status, 404)
  })

  void t.test('the trailing-slash path of the published spec works', async (t) => {
    const { id } = await h.create()
    const res = await patch(
      id,
      [{ op: 'replace', path: '/name', value: 'slash' }],
      (await h.read(id)).etag as string,
      `/connections/${id}/`
    )
    t.equal(res.status, 200)
  })
})

void t.test('delete', async (t) => {
  const h = await harness(t)

  void t.test('204 with an empty body; a later GET is 404', async (t) => {
    const { id } = await h.create()
    const res = await h.remove(id)
    t.equal(res.status, 204)
    t.equal(res.text, '')
    t.equal((await h.flow('GET', `/connections/${id}`)).status, 404)
    t.equal(h.emu.control.storedConnection(id), undefined)
  })

  void t.test('the trailing-slash path works', async (t) => {
    const { id } = await h.create()
    t.equal((await h.remove(id, `/connections/${id}/`)).status, 204)
  })

  void t.test('a second delete is 404', async (t) => {
    const { id } = await h.create()
    const etag = (await h.read(id)).etag as string
    t.equal((await h.flow('DELETE', `/connections/${id}`, { headers: { 'if-match': etag } })).status, 204)
    t.equal((await h.flow('DELETE', `/connections/${id}`, { headers: { 'if-match': etag } })).status, 404)
  })

  void t.test('while initializing: 1417-400, and the connection stays', async (t) => {
    h.emu.control.setReadyDelayMs(60_000)
    t.teardown(() => {
      h.emu.control.setReadyDelayMs(0)
    })
    const { id, etag } = await h.create()
    const res = await h.flow('DELETE', `/connections/${id}`, { headers: { 'if-match': etag } })
    t.equal(res.status, 400)
    t.match((res.json as { type: string }).type, /FLOW-1417-400$/)
    t.ok(h.emu.control.storedConnection(id))
  })

  void t.test('without If-Match: 1403-400 as for PATCH, and the connection stays', async (t) => {
    const { id } = await h.create()
    for (const headers of [{}, { 'if-match': '' }]) {
      const res = await h.flow('DELETE', `/connections/${id}`, { headers })
      t.equal(res.status, 400)
      t.match(res.json, {
        type: 'https://ns.adobe.com/aep/errors/FLOW-1403-400',
        title: 'Header is missing',
        errorMessage: /If-Match/
      })
    }
    t.ok(h.emu.control.storedConnection(id))
  })

  void t.test('a stale If-Match is 412 1404-412, and the connection stays', async (t) => {
    const { id, etag: createEtag } = await h.create()
    const current = (await h.read(id)).etag as string
    t.not(current, createEtag, 'enabling changed the etag: the create etag is stale')
    for (const stale of [createEtag, '"00000000-0000-0200-0000-000000000000"', current.slice(1, -1)]) {
      const res = await h.flow('DELETE', `/connections/${id}`, { headers: { 'if-match': stale } })
      t.equal(res.status, 412, `If-Match ${stale}`)
      t.match(res.json, {
        type: 'https://ns.adobe.com/aep/errors/FLOW-1404-412',
        errorMessage: /does not match the current version/
      })
    }
    t.ok(h.emu.control.storedConnection(id))
    t.equal((await h.flow('DELETE', `/connections/${id}`, { headers: { 'if-match': current } })).status, 204)
  })
})

void t.test('sandboxes are isolated', async (t) => {
  const h = await harness(t)
  const { id } = await h.create({ name: 'in dev' }, 'dev')

  void t.test('a connection made in one sandbox is not visible in another', async (t) => {
    t.equal((await h.flow('GET', `/connections/${id}`, { sandbox: 'dev' })).status, 200)
    t.equal((await h.flow('GET', `/connections/${id}`, { sandbox: 'prod' })).status, 404)
    const list = await h.flow('GET', '/connections', { sandbox: 'prod' })
    t.same((list.json as { items: unknown[] }).items, [])
    const count = await h.flow('GET', '/connections?count=true', { sandbox: 'prod' })
    t.same(count.json, { count: 0 })
  })

  void t.test('nor can it be updated or deleted from there', async (t) => {
    const etag = (await h.read(id, 'dev')).etag as string
    const res = await h.flow('PATCH', `/connections/${id}`, {
      sandbox: 'prod',
      body: [{ op: 'replace', path: '/name', value: 'x' }],
      headers: { 'if-match': etag }
    })
    t.equal(res.status, 404)
    t.equal(
      (await h.flow('DELETE', `/connections/${id}`, { sandbox: 'prod', headers: { 'if-match': etag } })).status,
      404
    )
  })

  void t.test('it carries its own sandbox name and a stable sandbox id', async (t) => {
    const conn = await h.read(id, 'dev')
    t.equal(conn.sandboxName, 'dev')
    const other = await h.create({ name: 'also dev' }, 'dev')
    t.equal((await h.read(other.id, 'dev')).sandboxId, conn.sandboxId)
    const prod = await h.create({ name: 'prod' })
    t.not((await h.read(prod.id)).sandboxId, conn.sandboxId)
  })

  void t.test('the control API lists per sandbox', async (t) => {
    t.ok(h.emu.control.storedConnections('dev').every((c) => c.sandboxName === 'dev'))
    t.ok(h.emu.control.storedConnections('prod').every((c) => c.sandboxName === 'prod'))
  })
})
