// The OpenAPI document as the app serves it, built from a throwaway in-memory broker (no socket, no disk).
import { randomBytes } from 'node:crypto'
import os from 'node:os'
import pino from 'pino'
import { createBroker } from '../broker.js'
import { loadConfig } from '../config.js'

export async function buildOpenApiDocument (): Promise<unknown> {
  const config = loadConfig({
    POLLER_ENABLED: 'false',
    BROKER_SECRET_KEY: randomBytes(32).toString('base64'),
    BROKER_DATA_DIR: os.tmpdir()
  })
  const broker = await createBroker(config, pino({ level: 'silent' }), { database: { kind: 'pglite', dataDir: null }, devKeyDir: null })
  try {
    await broker.app.ready()
    return broker.app.swagger()
  } finally {
    await broker.app.close()
  }
}

/** Stable text: two-space JSON with a final newline, so the committed file diffs cleanly. */
export const serializeOpenApi = (document: unknown): string => JSON.stringify(document, null, 2) + '\n'
