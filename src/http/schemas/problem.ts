// The one error schema: every error the API answers is this RFC 9457 problem (plus our `errors` list), and each
// route that can fail documents its errors with it (the health and metrics routes answer no problems of their own).
import { Type, type Static } from 'typebox'
import { FieldError } from '../../shared/field-error.js'
import {
  AllowHeader,
  RateLimitHeaders,
  RetryAfterHeader,
  WwwAuthenticateHeader,
  withHeaders
} from './response-headers.js'

export const Problem = Type.Object(
  {
    type: Type.String({ description: 'URI identifying the kind of problem.' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.Optional(Type.String({ description: 'The request id, to quote when asking for help.' })),
    errors: Type.Optional(Type.Array(FieldError)),
    connectionId: Type.Optional(Type.String()),
    downstream: Type.Optional(
      Type.Object(
        {
          status: Type.Union([Type.Integer(), Type.Null()]),
          code: Type.Union([Type.String(), Type.Null()]),
          message: Type.Union([Type.String(), Type.Null()])
        },
        { description: "Flow Service's own answer, when it refused." }
      )
    )
  },
  { additionalProperties: true, description: 'application/problem+json (RFC 9457)' }
)
export type Problem = Static<typeof Problem>

/** A problem response, documented with its real media type. */
export const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: Problem } }
})

/** Error responses every authenticated route can give. */
export const commonProblems = {
  400: problemResponse('Bad input: which field, why, what to send'),
  401: withHeaders(problemResponse('No API key, or an unknown or revoked one'), WwwAuthenticateHeader),
  403: problemResponse('The API key lacks the scope'),
  404: problemResponse("No such resource (or another team's)"),
  405: withHeaders(
    problemResponse('A method this path does not take (e.g. PUT /v1/connections); Allow lists those it takes'),
    AllowHeader
  ),
  429: withHeaders(problemResponse('Rate limited; see Retry-After and RateLimit-*'), {
    ...RateLimitHeaders,
    ...RetryAfterHeader
  }),
  500: problemResponse('Internal error (nothing internal is said)'),
  503: problemResponse('A dependency is unavailable; see Retry-After')
}
