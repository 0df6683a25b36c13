// Low-level HTTP plumbing: the Reply value handlers return, writing it, reading bodies, cancellable waits.
import type { IncomingMessage, ServerResponse } from 'node:http'

/** What a handler answers. Handlers return values instead of writing, so a fault can drop the answer after the work. */
export interface Reply {
  status: number
  headers?: Record<string, string>
  /** Serialised as JSON; undefined sends an empty body. */
  body?: unknown
  /** Sent as it is instead of `body`, under `contentType`: for answers that are not JSON although they claim to be. */
  raw?: { text: string; contentType: string }
}

const JSON_TYPE = 'application/json;charset=utf-8'

export function sendReply(res: ServerResponse, reply: Reply, requestId: string): void {
  if (res.headersSent || res.destroyed) return
  const headers: Record<string, string | number> = { 'x-request-id': requestId, ...reply.headers }
  if (reply.raw !== undefined) {
    headers['content-type'] = reply.raw.contentType
    headers['content-length'] = Buffer.byteLength(reply.raw.text)
    res.writeHead(reply.status, headers)
    res.end(reply.raw.text)
    return
  }
  if (reply.body === undefined || reply.status === 204) {
    headers['content-length'] = 0
    res.writeHead(reply.status, headers)
    res.end()
    return
  }
  const payload = JSON.stringify(reply.body)
  headers['content-type'] = JSON_TYPE
  headers['content-length'] = Buffer.byteLength(payload)
  res.writeHead(reply.status, headers)
  res.end(payload)
}

/** Drops the connection without an answer, the way a lost packet or a crashed gateway looks to the client. */
export function dropSocket(req: IncomingMessage): void {
  req.socket.destroy()
}

export class BodyTooLarge extends Error {
  override readonly name = 'BodyTooLarge'
}

/** Reads the whole body; bodies here are small JSON or form documents. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    const buf = chunk as Buffer
    size += buf.length
    if (size > maxBytes) throw new BodyTooLarge(`body larger than ${maxBytes} bytes`)
    chunks.push(buf)
  }
  return Buffer.concat(chunks, size)
}

/** The media type of a Content-Type header, lower-cased, without parameters. */
export function mediaType(header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const semi = header.indexOf(';')
  const type = (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase()
  return type === '' ? undefined : type
}

export function singleHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/**
 * Timers the emulator can cancel all at once on close: held requests and delays must not keep the process alive
 * or fire after the server is gone.
 */
export class TimerSet {
  private readonly pending = new Map<NodeJS.Timeout, () => void>()

  /** Resolves true after ms, or false when cancelled first (by cancelAll or by the signal, e.g. the client leaving). */
  async wait(ms: number, signal?: AbortSignal): Promise<boolean> {
    return await new Promise<boolean>((resolve) => {
      if (signal?.aborted === true) {
        resolve(false)
        return
      }
      const onAbort = (): void => {
        clearTimeout(timer)
        this.pending.delete(timer)
        resolve(false)
      }
      const timer = setTimeout(() => {
        this.pending.delete(timer)
        signal?.removeEventListener('abort', onAbort)
        resolve(true)
      }, ms)
      this.pending.set(timer, () => {
        signal?.removeEventListener('abort', onAbort)
        resolve(false)
      })
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  cancelAll(): void {
    for (const [timer, cancel] of this.pending) {
      clearTimeout(timer)
      cancel()
    }
    this.pending.clear()
  }
}
