// The one shape for "this field, and why": a wrong field in a problem answer, or a normalisation the broker applied.
// A leaf module: it imports nothing from the app.
import { Type, type Static } from 'typebox'

export const FieldError = Type.Object(
  {
    path: Type.String({
      description: 'JSON Pointer into the body (/auth/params/password), or query.<name> / header.<name>.'
    }),
    message: Type.String({ description: 'Why, and what to send instead. Never contains a secret value.' })
  },
  { description: 'One wrong field and what to send instead.' }
)
export type FieldError = Static<typeof FieldError>

export const Notice = Type.Object(
  {
    path: Type.String({ description: 'JSON Pointer into the request body, e.g. /auth/params/host.' }),
    message: Type.String()
  },
  { description: 'A normalisation the broker applied to the request, reported so the caller can fix its source.' }
)
export type Notice = Static<typeof Notice>
