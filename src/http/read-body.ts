// Reads a request body into memory up to a limit, refusing early when the declared length is already too large.
import type { Readable } from 'node:stream'
import { AppError } from '../errors/app-error.js'

/** The client closed the connection before its body had arrived: nobody is left to answer. */
export class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError'
  readonly code = 'CLIENT_GONE'
}

export function tooLarge(limit: number): AppError {
  return new AppError(
    'payload_too_large',
    `The body is larger than ${limit / (1024 * 1024)} MiB. A connection body is a few hundred bytes; check what is being sent.`
  )
}

export async function readBody(payload: Readable, limit: number, declaredLength: string | undefined): Promise<Buffer> {
  const declared = declaredLength === undefined ? undefined : Number(declaredLength)
  if (declared !== undefined && declared > limit) throw tooLarge(limit)
  return await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let received = 0
    const finish = (err: Error | null): void => {
      payload.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose)
      if (err !== null) {
        reject(err)
        return
      }
      if (declared !== undefined && received !== declared) {
        reject(new AppError('validation_failed', 'Content-Length does not match the body sent.'))
        return
      }
      resolve(Buffer.concat(chunks, received))
    }
    const onData = (chunk: Buffer): void => {
      received += chunk.length
      // Stop collecting at once: the rest is never buffered (the answer closes the connection).
      if (received > limit) {
        payload.pause()
        finish(tooLarge(limit))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = (): void => {
      finish(null)
    }
    const onError = (): void => {
      finish(new ClientGoneError('the client closed the connection before its body arrived'))
    }
    const onClose = (): void => {
      finish(new ClientGoneError('the client closed the connection before its body arrived'))
    }
    payload.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose)
  })
}
