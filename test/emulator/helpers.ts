// Shared by the emulator tests: start an emulator for one test, mint a token, call Flow Service with the right headers.
import type { Test } from 'tap'
import { startEmulator } from '../../src/emulator/emulator.js'
import type { EmulatorOptions, RunningEmulator } from '../../src/emulator/types.js'

export const SALESFORCE = 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5'
export const SERVICE_CLOUD = 'cb66ab34-8619-49cb-96d1-39b37ede86ea'
export const MARKETING_CLOUD = 'ea1c2a08-b722-11eb-8529-0242ac130003'
export const SCOPES = 'openid,AdobeID,read_organizations,additional_info.projectedProductContext,session'

/** A quoted etag, as Flow Service writes it: "\"1400dd53-0000-0200-0000-5f3f23450000\"". */
export const QUOTED_ETAG = /^"[0-9a-f]{8}-0000-0200-0000-[0-9a-f]{12}"$/
export const SECRET_ARN =
  /^arn:aws:secretsmanager:us-east-1:[0-9]{12}:secret:acp_security\/[0-9a-f-]{36}-[A-Za-z0-9]{6}$/
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export interface Answer {
  status: number
  headers: Headers
  text: string
  /** Parsed JSON body, undefined when empty. */
  json: unknown
}

export interface Harness {
  emu: RunningEmulator
  token: string
  /** Calls Flow Service (path relative to /data/foundation/flowservice) with valid headers unless overridden. */
  flow: (
    method: string,
    path: string,
    init?: { body?: unknown; headers?: Record<string, string | undefined>; sandbox?: string }
  ) => Promise<Answer>
  /** Creates a Salesforce Basic Authentication connection and returns its id and create etag. */
  create: (overrides?: Partial<CreateBody>, sandbox?: string) => Promise<{ id: string; etag: string }>
  /** GET /connections/{id} and its single item. */
  read: (id: string, sandbox?: string) => Promise<Record<string, unknown>>
  /** DELETE /connections/{id} with the current etag in If-Match, as Flow Service requires. */
  remove: (id: string, path?: string) => Promise<Answer>
}

export interface CreateBody {
  name: string
  description?: string
  auth: { specName: string; params: Record<string, string | number | boolean> }
  connectionSpec: { id: string; version: string }
}

export function salesforceBody(overrides: Partial<CreateBody> = {}): CreateBody {
  return {
    name: 'ACME Salesforce',
    description: 'CRM of ACME',
    auth: {
      specName: 'Basic Authentication',
      params: {
        environmentUrl: 'https://acme.my.salesforce.com',
        username: 'integration@acme.com',
        password: 'hunter2-very-secret',
        securityToken: 'tok-5up3r-s3cr3t'
      }
    },
    connectionSpec: { id: SALESFORCE, version: '1.0' },
    ...overrides
  }
}

export async function answer(res: Response): Promise<Answer> {
  const text = await res.text()
  let json: unknown
  if (text !== '') {
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
  }
  return { status: res.status, headers: res.headers, text, json }
}

export async function fetchToken(emu: RunningEmulator, form?: Record<string, string>): Promise<Answer> {
  const body = new URLSearchParams(
    form ?? {
      grant_type: 'client_credentials',
      client_id: emu.credentials.clientId,
      client_secret: emu.credentials.clientSecret,
      scope: SCOPES
    }
  )
  return await answer(
    await fetch(`${emu.imsUrl}/ims/token/v3`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body
    })
  )
}

export async function mintToken(emu: RunningEmulator): Promise<string> {
  const res = await fetchToken(emu)
  if (res.status !== 200) throw new Error(`token call failed: ${res.status} ${res.text}`)
  return (res.json as { access_token: string }).access_token
}

export function flowHeaders(emu: RunningEmulator, token: string, sandbox = 'prod'): Record<string, string> {
  return {
    authorization: `Bearer ${token}`,
    'x-api-key': emu.credentials.clientId,
    'x-gw-ims-org-id': emu.credentials.orgId,
    'x-sandbox-name': sandbox
  }
}

/** Starts an emulator for this test (readyDelayMs 0 unless given) and closes it in teardown. */
export async function harness(t: Test, options: EmulatorOptions = {}): Promise<Harness> {
  const emu = await startEmulator({ readyDelayMs: 0, ...options })
  t.teardown(async () => {
    await emu.close()
  })
  const token = await mintToken(emu)

  const flow: Harness['flow'] = async (method, path, init = {}) => {
    const headers: Record<string, string> = {}
    const merged = {
      ...flowHeaders(emu, token, init.sandbox),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers
    }
    for (const [k, v] of Object.entries(merged)) if (v !== undefined) headers[k] = v
    const body =
      init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body)
    return await answer(
      await fetch(`${emu.flowServiceUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) })
    )
  }

  const create: Harness['create'] = async (overrides, sandbox) => {
    const res = await flow('POST', '/connections', {
      body: salesforceBody(overrides),
      ...(sandbox === undefined ? {} : { sandbox })
    })
    if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.text}`)
    return res.json as { id: string; etag: string }
  }

  const read: Harness['read'] = async (id, sandbox) => {
    const res = await flow('GET', `/connections/${id}`, sandbox === undefined ? {} : { sandbox })
    if (res.status !== 200) throw new Error(`get failed: ${res.status} ${res.text}`)
    return (res.json as { items: Array<Record<string, unknown>> }).items[0] as Record<string, unknown>
  }

  const remove: Harness['remove'] = async (id, path = `/connections/${id}`) => {
    const etag = (await read(id)).etag as string
    return await flow('DELETE', path, { headers: { 'if-match': etag } })
  }

  return { emu, token, flow, create, read, remove }
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}
