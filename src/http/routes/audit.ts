// /v1/audit: the history operators query, and the chain check (admin, one run at a time, incremental). Reading
// the history and checking it are themselves audited, by their use cases.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Kysely } from 'kysely'
import { AuditChainVerifier } from '../../audit/audit-chain-verifier.js'
import type { AuditReader } from '../../audit/audit-history.js'
import type { AuditLog } from '../../audit/audit-log.js'
import { readAuditHistory } from '../../audit/read-audit-history.js'
import { verifyAuditLog } from '../../audit/verify-audit-log.js'
import { isAdmin, type Caller } from '../../auth/scopes.js'
import { isTeamConnection } from '../../connections/visible-connections.js'
import type { Database } from '../../db/schema.js'
import { AuditPage, AuditQuery, AuditVerdict, AuditVerifyQuery } from '../schemas/audit.js'
import { auditContextOf, callerOf } from '../authenticate.js'
import { setNextLink } from '../next-link.js'
import { LinkHeader, withHeaders } from '../schemas/response-headers.js'
import { problemResponse } from '../schemas/problem.js'
import { answer } from '../schemas/components.js'

export const auditRoutes: FastifyPluginAsyncTypebox<{ db: Kysely<Database>; audit: AuditLog }> = async (
  app,
  { db, audit }
) => {
  app.get(
    '/v1/audit',
    {
      config: { scope: 'audit:read', action: 'audit.list' },
      schema: {
        operationId: 'listAuditEvents',
        tags: ['audit'],
        summary: 'The audit history, newest first, filtered',
        description:
          'Admin keys see every row and may narrow to one team; other audit:read keys see the rows their team acted, plus, when connectionId names one of their connections, its rows by the poller and by unauthenticated callers.',
        querystring: AuditQuery,
        response: { 200: withHeaders(answer('One page of the audit history, newest first.', AuditPage), LinkHeader) }
      }
    },
    async (request, reply) => {
      const reader = auditReaderOf(db, callerOf(request), request.query.team)
      const page = await readAuditHistory({ db, audit }, auditContextOf(request), reader, request.query)
      setNextLink(request, reply, page.nextCursor)
      return page
    }
  )

  const verifier = new AuditChainVerifier(db)
  app.get(
    '/v1/audit/verify',
    {
      config: { scope: 'admin', action: 'audit.verify' },
      schema: {
        operationId: 'verifyAuditChain',
        tags: ['audit'],
        summary: 'Recompute the hash chain and name the first row that does not hold',
        description:
          "Admin only. Walks the rows appended since the last run that found the chain intact (that run's newest row is remembered in the database), or, with full=true, every row. One run at a time across all replicas: a call while one runs gets 409 with Retry-After and should come back; it is not queued.",
        querystring: AuditVerifyQuery,
        response: {
          200: answer('What the run found: valid, or the first row that does not hold.', AuditVerdict),
          409: problemResponse('A verification is already running; see Retry-After')
        }
      }
    },
    async (request) => await verifyAuditLog({ verifier, audit }, auditContextOf(request), { full: request.query.full })
  )
}

/** Admin keys read as operators (narrowed to `team` when asked); any other key as its team. */
function auditReaderOf(db: Kysely<Database>, caller: Caller, team: string | undefined): AuditReader {
  if (isAdmin(caller)) return { kind: 'operator', ...(team !== undefined ? { team } : {}) }
  return {
    kind: 'team',
    team: caller.team,
    ownsConnection: async (id) => await isTeamConnection({ db }, caller.team, id)
  }
}
