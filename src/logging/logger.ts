// The process logger: pino JSON (pretty on a terminal when the dev dependency pino-pretty is there), redaction derived
// from the catalogue, and an error serializer that emits only known-safe fields.
import { createRequire } from 'node:module'
import pino, { type Logger, type LoggerOptions } from 'pino'
import { redactionPaths } from '../catalog/redaction-paths.js'

export interface SafeError {
  type: string
  message: string
  code?: string
  kind?: string
  status?: number
  stack?: string
  cause?: SafeError
}

/**
 * HTTP client errors (axios in node-vault, undici) carry the request config, headers and body as enumerable
 * properties — tokens and secret params included. Only a fixed set of fields ever reaches a log line.
 */
export function serializeError(err: unknown, depth = 0): SafeError {
  if (!(err instanceof Error)) return { type: typeof err, message: typeof err === 'string' ? err : 'non-error thrown' }
  const e = err as Error & { code?: unknown; kind?: unknown; status?: unknown; statusCode?: unknown }
  const out: SafeError = { type: e.name, message: e.message }
  if (typeof e.code === 'string') out.code = e.code
  if (typeof e.kind === 'string') out.kind = e.kind
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined
  if (status !== undefined) out.status = status
  if (e.stack !== undefined) out.stack = e.stack
  if (e.cause !== undefined && depth < 5) out.cause = serializeError(e.cause, depth + 1)
  return out
}

export function loggerOptions(level: string, extra: LoggerOptions = {}): LoggerOptions {
  return {
    level,
    redact: { paths: redactionPaths(), censor: '[redacted]' },
    serializers: { err: serializeError, error: serializeError },
    ...extra
  }
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  if (destination !== undefined) return pino(loggerOptions(level), destination)
  // pino-pretty is a dev dependency: the image (npm ci --omit=dev) has none and logs JSON.
  const pretty = process.stdout.isTTY && process.env.NODE_ENV !== 'production' && hasPinoPretty()
  return pino(
    loggerOptions(
      level,
      pretty
        ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } }
        : {}
    )
  )
}

function hasPinoPretty(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty')
    return true
  } catch {
    return false
  }
}
