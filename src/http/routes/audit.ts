// /v1/audit: the history operators query, and the chain check (admin, one run at a time, incremental). Reading
// the history and checking it are themselves audited.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Kysely } from 'kysely'
import { auditReaderOf, listAuditPage } from '../../audit/audit-history.js'
import { appendAudit, keyActor } from '../../audit/audit-log.js'
import { AuditChainVerifier } from '../../audit/audit-chain-verifier.js'
import type { Database } from '../../db/schema.js'
import { AppError } from '../../errors/app-error.js'
import { AuditPage, AuditQuery, AuditVerdict, AuditVerifyQuery } from '../audit-schemas.js'
import { callerOf } from '../authenticate.js'
import { listFilters } from '../list-filters.js'
import { commonProblems, problemResponse } from '../problem-schema.js'

// A run over what is new takes well under a second; a full one over 300 000 rows a few.
const VERIFY_RETRY_AFTER_SECONDS = 5

export const auditRoutes: FastifyPluginAsyncTypebox<{ db: Kysely<Database> }> = async (app, { db }) => {
  app.get('/v1/audit', {
    config: { scope: 'audit:read', action: 'audit.list' },
    schema: {
      operationId: 'listAuditEvents',
      tags: ['audit'],
      summary: 'The audit history, newest first, filtered',
      description: 'Admin keys see every row and may narrow to one team; other audit:read keys see the rows their team acted, plus, when connectionId names one of their connections, its rows by the poller and by unauthenticated callers.',
      querystring: AuditQuery,
      response: { 200: AuditPage, ...commonProblems }
    }
  }, async (request) => {
    const caller = callerOf(request)
    const { since, until, team, ...rest } = request.query
    const page = await listAuditPage(db, auditReaderOf(caller, team), {
      ...rest,
      ...(since !== undefined ? { since: new Date(since) } : {}),
      ...(until !== undefined ? { until: new Date(until) } : {})
    })
    // After the read, so a page never holds the row of its own reading.
    await appendAudit(db, { actor: keyActor(caller), action: 'audit.list', connectionId: request.query.connectionId ?? null, requestId: request.id, outcome: 'success', detail: { filters: listFilters(request.query), returned: page.items.length } })
    return page
  })

  const verifier = new AuditChainVerifier(db)
  app.get('/v1/audit/verify', {
    config: { scope: 'admin', action: 'audit.verify' },
    schema: {
      operationId: 'verifyAuditChain',
      tags: ['audit'],
      summary: 'Recompute the hash chain and name the first row that does not hold',
      description: 'Admin only. Walks the rows appended since the last run that found the chain intact (that run\'s newest row is remembered in the database), or, with full=true, every row. One run at a time across all replicas: a call while one runs gets 409 with Retry-After and should come back; it is not queued.',
      querystring: AuditVerifyQuery,
      response: { 200: AuditVerdict, ...commonProblems, 409: problemResponse('A verification is already running; see Retry-After') }
    }
  }, async (request) => {
    const outcome = await verifier.verify({ full: request.query.full })
    if (outcome.kind === 'busy') {
      throw new AppError('conflict', 'A verification of the audit chain is already running. Retry later; the next run covers every row appended until it starts.', { retryAfterSeconds: VERIFY_RETRY_AFTER_SECONDS })
    }
    const { verification } = outcome
    await appendAudit(db, { actor: keyActor(callerOf(request)), action: 'audit.verify', requestId: request.id, outcome: verification.valid ? 'success' : 'failure', detail: { ...verification } })
    return verification
  })
}
