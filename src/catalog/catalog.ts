// The catalogue of connection specs in scope. Adding or retiring a source is a data change here.
import type { ConnectionSpec } from './types.js'
import { salesforce } from './specs/salesforce.js'
import { salesforceServiceCloud } from './specs/salesforce-service-cloud.js'
import { salesforceMarketingCloud } from './specs/salesforce-marketing-cloud.js'
import { oracleServiceCloud } from './specs/oracle-service-cloud.js'

export const catalog: readonly ConnectionSpec[] = [
  salesforce,
  salesforceServiceCloud,
  salesforceMarketingCloud,
  oracleServiceCloud
]

/** Every param name that is secret in at least one auth spec (used for log redaction). */
export function secretParamNames(specs: readonly ConnectionSpec[] = catalog): string[] {
  const names = new Set<string>()
  for (const spec of specs) {
    for (const auth of spec.authSpecs) {
      for (const p of auth.params) if (p.secret) names.add(p.name)
    }
  }
  return [...names].sort()
}
