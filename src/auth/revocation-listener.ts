// Hears API key revocations made by any replica (or the keys CLI) through PostgreSQL LISTEN/NOTIFY, so every
// replica's caller cache forgets a revoked key within milliseconds. One dedicated connection; when it fails, the
// cache is turned off (every request asks the database) until it listens again.
import pg from 'pg'
import type { Logger } from 'pino'
import type { CallerCache } from './caller-cache.js'

/** The channel revokeApiKey notifies, with the key id as payload, when its transaction commits. */
export const REVOCATION_CHANNEL = 'broker_api_key_revoked'

export interface RevocationListenerOptions {
  url: string
  cache: CallerCache
  logger: Logger
  /** First reconnect delay; doubles up to maxRetryMs. */
  retryMs?: number
  maxRetryMs?: number
}

export class RevocationListener {
  /** The connection listening, or being set up to. */
  #client: pg.Client | undefined
  #stopped = false
  #timer: NodeJS.Timeout | undefined
  #delayMs: number

  constructor(private readonly options: RevocationListenerOptions) {
    this.#delayMs = options.retryMs ?? 1000
    options.cache.listening = false
  }

  /** Resolves once listening, or after the first attempt failed (it keeps retrying in the background). */
  async start(): Promise<void> {
    await this.#connect()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.options.cache.listening = false
    const client = this.#client
    this.#client = undefined
    await client?.end().catch(() => {})
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return
    const client = new pg.Client({
      connectionString: this.options.url,
      application_name: 'broker-key-revocations',
      connectionTimeoutMillis: 5000,
      keepAlive: true
    })
    client.on('error', (err) => {
      this.#lost(client, err)
    })
    client.on('end', () => {
      this.#lost(client)
    })
    this.#client = client
    client.on('notification', (message) => {
      if (message.channel === REVOCATION_CHANNEL && message.payload !== undefined)
        this.options.cache.forgetKey(message.payload)
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${REVOCATION_CHANNEL}`)
      if (this.#client !== client) return
      this.#delayMs = this.options.retryMs ?? 1000
      this.options.cache.listening = true
    } catch (err) {
      this.#lost(client, err)
    }
  }

  #lost(client: pg.Client, err?: unknown): void {
    if (this.#client !== client) return
    this.#client = undefined
    this.options.cache.listening = false
    client.end().catch(() => {})
    if (this.#stopped) return
    this.options.logger.warn(
      { err, retryInMs: this.#delayMs },
      'not hearing API key revocations; the key cache is off until reconnected'
    )
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      void this.#connect()
    }, this.#delayMs)
    this.#timer.unref()
    this.#delayMs = Math.min(this.#delayMs * 2, this.options.maxRetryMs ?? 30_000)
  }
}
