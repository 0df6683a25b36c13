// A pino logger (with the broker's own options) whose lines tests can read back.
import { Writable } from 'node:stream'
import type { Logger } from 'pino'
import { createLogger } from '../../src/logging/logger.js'

export interface CapturedLogger {
  logger: Logger
  /** Every line logged so far, parsed. */
  lines: () => Array<Record<string, unknown>>
}

export function captureLogger(level = 'debug'): CapturedLogger {
  const lines: string[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'))
      done()
    }
  })
  return {
    logger: createLogger(level, sink),
    lines: () =>
      lines
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
  }
}
