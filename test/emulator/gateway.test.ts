// Header checks: the gateway's answers for token, api key and org problems; Flow Service's for sandbox and content type.
import t from 'tap'
import { harness, salesforceBody } from './helpers.js'

void t.test('gateway and header checks', async (t) => {
  const h = await harness(t)

  void t.test('no Authorization header: 403 403010', async (t) => {
    const res = await h.flow('GET', '/connections', { headers: { authorization: undefined } })
    t.equal(res.status, 403)
    t.same(res.json, { error_code: '403010', message: 'Oauth token is missing.' })
  })

  void t.test('a token IMS never minted: 401 401013', async (t) => {
    const res = await h.flow('GET', '/connections', { headers: { authorization: 'Bearer not-a-real-token' } })
    t.equal(res.status, 401)
    t.same(res.json, { error_code: '401013', message: 'Oauth token is not valid' })
  })

  void t.test('a token without the Bearer scheme: 401 401013', async (t) => {
    const res = await h.flow('GET', '/connections', { headers: { authorization: h.token } })
    t.equal(res.status, 401)
    t.equal((res.json as { error_code: string }).error_code, '401013')
  })

  void t.test('no x-api-key: 403 403000', async (t) => {
    const res = await h.flow('GET', '/connections', { headers: { 'x-api-key': undefined } })
    t.equal(res.status, 403)
    t.same(res.json, { error_code: '403000', message: 'Api Key is required' })
  })

  void t.test('an x-api-key that is not the client id: 403 403003', async (t) => {
    const res = await h.flow('GET', '/connections', { headers: { 'x-api-key': 'another-client' } })
    t.equal(res.status, 403)
    t.same(res.json, { error_code: '403003', message: 'Api Key is invalid' })
  })

  void t.test('no x-gw-ims-org-id: 400 400003', async (t) => {
    const res = await h.flow('GET', '/connections', { headers: { 'x-gw-ims-org-id': undefined } })
    t.equal(res.status, 400)
    t.equal((res.json as { error_code: string }).error_code, '400003')
  })

  void t.test('another org: 403 403025 (not entitled)', async (t) => {
    const res = await h.flow('GET', '/connections', { headers: { 'x-gw-ims-org-id': 'OTHER@AdobeOrg' } })
    t.equal(res.status, 403)
    t.equal((res.json as { error_code: string }).error_code, '403025')
  })

  void t.test('the token is checked before the api key', async (t) => {
    const res = await h.flow('GET', '/connections', { headers: { authorization: undefined, 'x-api-key': undefined } })
    t.equal((res.json as { error_code: string }).error_code, '403010')
  })

  void t.test('no x-sandbox-name: 2105-400 in Flow Service long form', async (t) => {
    const res = await h.flow('GET', '/connections', { headers: { 'x-sandbox-name': undefined } })
    t.equal(res.status, 400)
    t.match(res.json, {
      type: 'https://ns.adobe.com/aep/errors/FLOW-2105-400',
      status: 400,
      title: String,
      report: { 'detailed-message': String, 'request-id': String },
      errorMessage: /x-sandbox-name/
    })
  })

  void t.test('an upper-case sandbox name: 2105-400', async (t) => {
    const res = await h.flow('GET', '/connections', { sandbox: 'Prod' })
    t.equal(res.status, 400)
    t.match((res.json as { type: string }).type, /2105-400$/)
  })

  const contentTypeError = {
    type: '/placeholder/type/uri',
    status: 400,
    title: 'BadRequestError',
    detail: 'A valid content-type must be specified'
  }

  void t.test('POST without Content-Type: the placeholder BadRequestError', async (t) => {
    const res = await h.flow('POST', '/connections', { body: salesforceBody(), headers: { 'content-type': undefined } })
    t.equal(res.status, 400)
    t.same(res.json, contentTypeError)
    t.equal(h.emu.control.storedConnections().length, 0, 'nothing created')
  })

  void t.test('POST with text/plain: the same error', async (t) => {
    const res = await h.flow('POST', '/connections', {
      body: salesforceBody(),
      headers: { 'content-type': 'text/plain' }
    })
    t.equal(res.status, 400)
    t.same(res.json, contentTypeError)
  })

  void t.test('application/json with a charset is fine', async (t) => {
    const res = await h.flow('POST', '/connections', {
      body: salesforceBody(),
      headers: { 'content-type': 'application/json; charset=utf-8' }
    })
    t.equal(res.status, 201)
  })

  void t.test('PATCH without Content-Type: the same error', async (t) => {
    const { id } = await h.create()
    const etag = (await h.read(id)).etag as string
    const res = await h.flow('PATCH', `/connections/${id}`, {
      body: [{ op: 'replace', path: '/name', value: 'x' }],
      headers: { 'content-type': undefined, 'if-match': etag }
    })
    t.equal(res.status, 400)
    t.same(res.json, contentTypeError)
  })

  void t.test('an unknown path is a 404', async (t) => {
    const res = await h.flow('GET', '/flows')
    t.equal(res.status, 404)
  })

  void t.test('a wrong method is a 405', async (t) => {
    const res = await h.flow('PUT', '/connections')
    t.equal(res.status, 405)
  })

  void t.test('every answer carries x-request-id, echoing the caller’s', async (t) => {
    const res = await h.flow('GET', '/connections', { headers: { 'x-request-id': 'req-123' } })
    t.equal(res.headers.get('x-request-id'), 'req-123')
  })
})
