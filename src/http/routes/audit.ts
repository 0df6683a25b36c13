// /v1/audit: the history operators query, and the chain check. Reading the history is itself audited.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Kysely } from 'kysely'
import { auditReaderOf, listAuditPage } from '../../audit/audit-history.js'
import { appendAudit, keyActor } from '../../audit/audit-log.js'
import { verifyAuditChain } from '../../audit/verify-audit-chain.js'
import type { Database } from '../../db/schema.js'
import { AuditPage, AuditQuery, AuditVerdict } from '../audit-schemas.js'
import { callerOf } from '../authenticate.js'
import { listFilters } from '../list-filters.js'
import { commonProblems } from '../problem-schema.js'

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

  app.get('/v1/audit/verify', {
    config: { scope: 'audit:read', action: 'audit.verify' },
    schema: {
      operationId: 'verifyAuditChain',
      tags: ['audit'],
      summary: 'Recompute the hash chain and name the first row that does not hold',
      response: { 200: AuditVerdict, ...commonProblems }
    }
  }, async (request) => {
    const verdict = await verifyAuditChain(db)
    await appendAudit(db, { actor: keyActor(callerOf(request)), action: 'audit.verify', requestId: request.id, outcome: verdict.valid ? 'success' : 'failure', detail: { ...verdict } })
    return verdict
  })
}
