// Turns the ways a change to a downstream connection can fail into the problem the caller sees.
import { AppError } from '../../errors/app-error.js'
import { FlowServiceError } from '../../flow-service/flow-service-error.js'
import { SecretStoreError } from '../../secrets/secret-store.js'
import { ChangeOutcomeUnknown, ConnectionStillInitializing } from './change-downstream.js'

/** Flow Service's words arrive already scrubbed of the request's secrets (the client does it where errors are built). */
export function changeProblem(err: unknown, connectionId: string): unknown {
  if (err instanceof ConnectionStillInitializing) {
    return new AppError(
      'connection_busy',
      `Flow Service refuses changes while the connection is initializing (1417-400), and it did not finish within this request's time budget. Retry after ${err.retryAfterSeconds} s.`,
      {
        retryAfterSeconds: err.retryAfterSeconds,
        extensions: { connectionId },
        cause: err
      }
    )
  }
  if (err instanceof ChangeOutcomeUnknown) {
    return new AppError(
      'downstream_unavailable',
      'Flow Service did not confirm the change, and could not be asked whether it landed. The broker settles it automatically; read the connection again later.',
      {
        retryAfterSeconds: 30,
        extensions: { connectionId },
        cause: err
      }
    )
  }
  if (err instanceof SecretStoreError && err.code === 'cas_mismatch') {
    return new AppError(
      'conflict',
      'The credentials were changed by another request at the same time. Read the connection and retry.',
      { retryAfterSeconds: 1, extensions: { connectionId }, cause: err }
    )
  }
  if (!(err instanceof FlowServiceError)) return err
  switch (err.kind) {
    case 'rejected': {
      const message = err.downstreamMessage ?? null
      return new AppError(
        'downstream_refused',
        `Flow Service refused the change${err.code !== undefined ? ` (${err.code})` : ''}: ${message ?? 'no reason given'}`,
        {
          extensions: { connectionId, downstream: { status: err.status ?? null, code: err.code ?? null, message } },
          cause: err
        }
      )
    }
    case 'precondition_failed':
      return new AppError(
        'conflict',
        'The connection changed in Flow Service while this request updated it, twice in a row. Read it again and retry.',
        { retryAfterSeconds: 1, extensions: { connectionId }, cause: err }
      )
    case 'busy':
      return new AppError(
        'connection_busy',
        'Flow Service refuses changes while the connection is initializing. Retry shortly.',
        { retryAfterSeconds: 5, extensions: { connectionId }, cause: err }
      )
    case 'not_found':
      return new AppError(
        'conflict',
        'Flow Service answered that it no longer has this connection (deleted outside the broker?). Nothing was changed; the broker confirms that answer with a second read and then records the connection as deleted.',
        { retryAfterSeconds: 10, extensions: { connectionId }, cause: err }
      )
    case 'auth':
      return new AppError(
        'downstream_unavailable',
        'The broker cannot authenticate to Flow Service; nothing was changed. Operators have been alerted; retry later.',
        { retryAfterSeconds: 60, extensions: { connectionId }, cause: err }
      )
    default:
      return new AppError('downstream_unavailable', 'Flow Service is unavailable; nothing was changed. Retry later.', {
        retryAfterSeconds: Math.max(5, Math.ceil((err.retryAfterMs ?? 0) / 1000)),
        extensions: { connectionId },
        cause: err
      })
  }
}
