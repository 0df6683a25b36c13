// The one error schema: every error the API answers is this RFC 9457 problem (plus our `errors` list). It is a
// named schema, referenced (never inlined) by every error response; each route lists only the statuses it can give.
import { Type, type Static } from 'typebox'
import { FieldError as FieldErrorSchema, Notice as NoticeSchema } from '../../shared/field-error.js'
import { ErrorCodes, problemType, type ErrorCode } from '../../errors/app-error.js'
import { named, ref } from './components.js'
import { AllowHeader, RateLimitHeaders, RetryAfterHeader, WwwAuthenticateHeader } from './response-headers.js'

export const FieldError = named('FieldError', FieldErrorSchema)
export const Notice = named('Notice', NoticeSchema)

const problemTypes = Object.keys(ErrorCodes).map((code) => problemType(code as ErrorCode))

export const Problem = named(
  'Problem',
  Type.Object(
    {
      type: Type.String({
        description: 'URI identifying the kind of problem; the list, with meanings, is in the API description.',
        examples: problemTypes.slice(0, 3)
      }),
      title: Type.String({ description: 'Short summary of the problem type; the same for every problem of a type.' }),
      status: Type.Integer({ description: 'The HTTP status, repeated.' }),
      detail: Type.String({ description: 'What went wrong in this request, and what to do. Never a secret value.' }),
      instance: Type.Optional(Type.String({ description: 'The request id, to quote when asking for help.' })),
      errors: Type.Optional(Type.Array(ref(FieldError), { description: 'Bad input: each wrong field.' })),
      connectionId: Type.Optional(
        Type.String({ description: 'The connection concerned, e.g. one left pending by a 503 during a create.' })
      ),
      downstream: Type.Optional(
        Type.Object(
          {
            status: Type.Union([Type.Integer(), Type.Null()]),
            code: Type.Union([Type.String(), Type.Null()]),
            message: Type.Union([Type.String(), Type.Null()])
          },
          { description: "Flow Service's own answer, when it refused (secret values scrubbed)." }
        )
      )
    },
    { additionalProperties: true, description: 'application/problem+json (RFC 9457)' }
  )
)
export type Problem = Static<typeof Problem>

/** Made once: serializers are cached per schema object. */
const ProblemRef = ref(Problem)

/** A problem response, documented with its real media type. */
export const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ProblemRef } }
})

/** What a route can do that can fail, from which its error statuses follow. */
export interface RouteTraits {
  /** Needs an API key: 401, 405 (a keyed path asked with a method it does not take), 429, and 503 (the key is looked up in the database). */
  key: boolean
  /** Needs a scope that some valid keys lack: 403. */
  scoped: boolean
  /** Takes a path, query or header input with a schema: 400. */
  input: boolean
  /** Takes a JSON body: 400, 413, 415. */
  body: boolean
  /** Names one resource that may not exist (or be another team's): 404. */
  names: boolean
}

const GENERIC: Record<number, string> = {
  400: 'Bad input: which field, why, what to send (`errors`)',
  401: 'No API key, or an unknown or revoked one',
  403: 'The API key lacks the scope this operation needs',
  404: "No such resource (or another team's)",
  405: 'A method this path does not take (e.g. PUT /v1/connections); Allow lists those it takes',
  413: 'Body over 1 MiB',
  415: 'Body is not application/json',
  429: 'Too many requests for this key (or, without a valid key, from this address); see Retry-After and RateLimit-*',
  500: 'Internal error (nothing internal is said); quote `instance` when asking for help',
  503: 'The database (or another dependency) is unavailable; see Retry-After'
}

/**
 * Headers a problem of these statuses always carries, whoever words it (route-documentation.ts adds them): the
 * RFC 6750 challenge on 401, Allow on 405, the quota and Retry-After on 429.
 */
export const PROBLEM_HEADERS: Readonly<Record<string, Record<string, object>>> = {
  401: WwwAuthenticateHeader,
  405: AllowHeader,
  429: { ...RateLimitHeaders, ...RetryAfterHeader }
}

/** The error responses of a route, from what it does. Every route can answer 500. */
export function problemsOf(traits: RouteTraits): Record<string, ReturnType<typeof problemResponse>> {
  const statuses = new Set<number>([500])
  if (traits.key) for (const s of [401, 405, 429, 503]) statuses.add(s)
  if (traits.scoped) statuses.add(403)
  if (traits.input || traits.body) statuses.add(400)
  if (traits.body) for (const s of [413, 415]) statuses.add(s)
  if (traits.names) statuses.add(404)
  return Object.fromEntries([...statuses].sort((a, b) => a - b).map((s) => [s, problemResponse(GENERIC[s] ?? 'Error')]))
}
