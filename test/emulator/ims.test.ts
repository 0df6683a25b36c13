// IMS: POST /ims/token/v3 with the client-credentials grant, its errors, and tokens the gateway then refuses.
import t from 'tap'
import { startEmulator } from '../../src/emulator/emulator.js'
import { answer, fetchToken, flowHeaders, SCOPES } from './helpers.js'

void t.test('IMS token endpoint', async (t) => {
  const emu = await startEmulator({ readyDelayMs: 0, tokenTtlSeconds: 120 })
  t.teardown(async () => {
    await emu.close()
  })
  const good = {
    grant_type: 'client_credentials',
    client_id: emu.credentials.clientId,
    client_secret: emu.credentials.clientSecret,
    scope: SCOPES
  }

  void t.test('mints a bearer token with the configured TTL in seconds', async (t) => {
    const res = await fetchToken(emu)
    t.equal(res.status, 200)
    const body = res.json as Record<string, unknown>
    t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'token_type'])
    t.equal(body.token_type, 'bearer')
    t.equal(body.expires_in, 120)
    t.match(body.access_token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'JWT-shaped, like IMS tokens')
  })

  void t.test('each call mints a different token', async (t) => {
    const a = await fetchToken(emu)
    const b = await fetchToken(emu)
    t.not((a.json as { access_token: string }).access_token, (b.json as { access_token: string }).access_token)
  })

  void t.test('defaults to 86399 seconds, what IMS answers', async (t) => {
    const other = await startEmulator()
    t.teardown(async () => {
      await other.close()
    })
    const res = await fetchToken(other)
    t.equal((res.json as { expires_in: number }).expires_in, 86399)
  })

  void t.test('an unknown client id is invalid_client', async (t) => {
    const res = await fetchToken(emu, { ...good, client_id: 'someone-else' })
    t.equal(res.status, 400)
    t.same(res.json, { error: 'invalid_client', error_description: 'invalid client_id parameter' })
  })

  void t.test('a wrong client secret is invalid_client / invalid client_secret parameter', async (t) => {
    const res = await fetchToken(emu, { ...good, client_secret: 'nope' })
    t.equal(res.status, 400)
    t.same(res.json, { error: 'invalid_client', error_description: 'invalid client_secret parameter' })
  })

  void t.test('a missing client secret is invalid_client too', async (t) => {
    const { client_secret: _omit, ...rest } = good
    const res = await fetchToken(emu, rest)
    t.equal(res.status, 400)
    t.equal((res.json as { error: string }).error, 'invalid_client')
  })

  void t.test('a missing scope is invalid_scope', async (t) => {
    const { scope: _omit, ...rest } = good
    const res = await fetchToken(emu, rest)
    t.equal(res.status, 400)
    t.equal((res.json as { error: string }).error, 'invalid_scope')
  })

  void t.test('another grant type is unsupported_grant_type', async (t) => {
    const res = await fetchToken(emu, { ...good, grant_type: 'authorization_code' })
    t.equal(res.status, 400)
    t.equal((res.json as { error: string }).error, 'unsupported_grant_type')
  })

  void t.test('a JSON body is invalid_request: IMS takes a form', async (t) => {
    const res = await answer(
      await fetch(`${emu.imsUrl}/ims/token/v3`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(good)
      })
    )
    t.equal(res.status, 400)
    t.equal((res.json as { error: string }).error, 'invalid_request')
  })

  void t.test('GET is not allowed', async (t) => {
    const res = await fetch(`${emu.imsUrl}/ims/token/v3`)
    t.equal(res.status, 405)
    await res.arrayBuffer()
  })

  void t.test('tokens the control API expires or revokes get 401013 from the gateway', async (t) => {
    const list = async (token: string): Promise<number> => {
      const res = await fetch(`${emu.flowServiceUrl}/connections`, { headers: flowHeaders(emu, token) })
      await res.arrayBuffer()
      return res.status
    }
    const first = (await fetchToken(emu)).json as { access_token: string }
    t.equal(await list(first.access_token), 200)
    emu.control.expireTokens()
    const expired = await answer(
      await fetch(`${emu.flowServiceUrl}/connections`, { headers: flowHeaders(emu, first.access_token) })
    )
    t.equal(expired.status, 401)
    t.same(expired.json, { error_code: '401013', message: 'Oauth token is not valid' })

    const second = (await fetchToken(emu)).json as { access_token: string }
    const third = (await fetchToken(emu)).json as { access_token: string }
    t.equal(await list(second.access_token), 200, 'a token minted after expiry works')
    emu.control.revokeTokens(second.access_token)
    t.equal(await list(second.access_token), 401, 'the revoked token is refused')
    t.equal(await list(third.access_token), 200, 'other tokens still work')
    emu.control.revokeTokens()
    t.equal(await list(third.access_token), 401, 'revoking with no token revokes all')
  })

  void t.test('a token past its TTL is refused', async (t) => {
    const short = await startEmulator({ tokenTtlSeconds: 1 })
    t.teardown(async () => {
      await short.close()
    })
    const token = ((await fetchToken(short)).json as { access_token: string }).access_token
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const res = await fetch(`${short.flowServiceUrl}/connections`, { headers: flowHeaders(short, token) })
    await res.arrayBuffer()
    t.equal(res.status, 401)
  })
})
