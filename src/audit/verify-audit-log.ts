// The use case behind GET /v1/audit/verify: one run of the chain check (see AuditChainVerifier), audited with its
// verdict. A run refused because another is under way leaves no row: nothing was checked.
import { AppError } from '../errors/app-error.js'
import type { AuditChainVerifier, AuditVerification } from './audit-chain-verifier.js'
import type { AuditContext, AuditLog } from './audit-log.js'

// A run over what is new takes well under a second; a full one over 300 000 rows a few.
const VERIFY_RETRY_AFTER_SECONDS = 5

export async function verifyAuditLog(
  deps: { verifier: AuditChainVerifier; audit: AuditLog },
  ctx: AuditContext,
  options: { full: boolean }
): Promise<AuditVerification> {
  const outcome = await deps.verifier.verify(options)
  if (outcome.kind === 'busy') {
    throw new AppError(
      'conflict',
      'A verification of the audit chain is already running. Retry later; the next run covers every row appended until it starts.',
      { retryAfterSeconds: VERIFY_RETRY_AFTER_SECONDS }
    )
  }
  const { verification } = outcome
  await deps.audit.append({
    ...ctx,
    action: 'audit.verify',
    outcome: verification.valid ? 'success' : 'failure',
    detail: { ...verification }
  })
  return verification
}
