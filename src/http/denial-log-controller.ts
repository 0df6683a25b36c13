// Fastify's per-request log lines, at debug for requests refused for want of a valid key: a flood of wrong keys
// must not become a flood of log lines (the denial tally logs once per source, reason and minute instead).
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'

export class DenialLogController extends LogController {
  readonly #quietlyIncoming = new WeakSet<FastifyRequest>()

  /**
   * `presumedDenied` tells, before any hook ran, whether a request is likely to be refused for want of a key (no
   * usable header, or a key this replica does not remember). Its "incoming request" line goes to debug; if it
   * then succeeds, its "request completed" line carries the request instead, so nothing is lost at info.
   */
  constructor(private readonly presumedDenied: (request: FastifyRequest) => boolean) {
    super()
  }

  override incomingRequest(request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return
    if (this.presumedDenied(request)) {
      this.#quietlyIncoming.add(request)
      request.log.debug({ req: request }, 'incoming request')
    } else super.incomingRequest(request, reply)
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return
    if (error == null && request.deniedWithoutKey)
      reply.log.debug({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed')
    else if (error == null && this.#quietlyIncoming.has(request))
      reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed')
    else super.requestCompleted(error, request, reply)
  }
}
