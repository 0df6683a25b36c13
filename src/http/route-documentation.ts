// What the OpenAPI document says of each route that the route itself need not repeat: the scope it needs (security,
// `x-required-scope` and a sentence of its description) and the error statuses that follow from what it takes and
// checks. A route declares only its answers and the problems peculiar to it (409, 422, a more precise 403 or 503).
import type { FastifyInstance, FastifySchema } from 'fastify'
import { PROBLEM_HEADERS, problemsOf } from './schemas/problem.js'
import { RateLimitHeaders, withHeaders } from './schemas/response-headers.js'

/** Registered before the routes: an onRoute hook sees only the routes added after it. */
export function registerRouteDocumentation(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const schema = route.schema as (FastifySchema & Record<string, unknown>) | undefined
    if (schema === undefined || schema.hide === true) return
    const scope = route.config?.scope
    const own = (schema.response ?? {}) as Record<string, unknown>
    const problems = problemsOf({
      key: scope !== undefined,
      scoped: scope !== undefined && scope !== 'any',
      input: schema.params !== undefined || schema.querystring !== undefined || schema.headers !== undefined,
      body: schema.body !== undefined,
      names: route.url.includes('/:id')
    })
    // The route's own answers come first, its own wording of a status wins; statuses sorted. Keyed routes are rate
    // limited per key, so their successful answers carry the quota (RateLimit-*) too; 401, 405 and 429 carry their
    // own headers whoever words them.
    const statuses = [...new Set([...Object.keys(own), ...Object.keys(problems)])].sort()
    const withOwnHeaders = (status: string, answer: object): object => {
      const headers = PROBLEM_HEADERS[status]
      if (headers !== undefined) return withHeaders(answer, headers)
      if (scope !== undefined && status.startsWith('2')) return withHeaders(answer, RateLimitHeaders)
      return answer
    }
    const response = Object.fromEntries(statuses.map((s) => [s, withOwnHeaders(s, (own[s] ?? problems[s]) as object)]))
    const documented: Record<string, unknown> = { ...schema, response }
    if (scope !== undefined && !('security' in schema)) {
      documented.security = [{ apiKey: scope === 'any' ? [] : [scope] }]
      documented['x-required-scope'] = scope
      const needs =
        scope === 'any'
          ? 'Required scope: none beyond a valid API key (`x-required-scope: any`).'
          : `Required scope: \`${scope}\`${scope === 'admin' ? '' : ' (or `admin`, which has every scope)'}.`
      documented.description = [schema.description, needs].filter((d) => d !== undefined).join('\n\n')
    }
    route.schema = documented
  })
}
