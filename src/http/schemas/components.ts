// Named schemas: each has an `$id`, is listed in shared.ts and registered from there (app.addSchema for the OpenAPI
// document, the shared ajv instances and fast-json-stringify in schema-compilers.ts), and routes refer to it with `ref(...)` instead of
// inlining it, so the document has components.schemas and generated clients get named types.
import { Type, type Static, type TSchema, type TUnsafe } from 'typebox'

export type Named<T extends TSchema> = T & { $id: string }

/** The schema under a name: a copy with `$id` (the original, used by other layers, stays anonymous). */
export function named<T extends TSchema>(id: string, schema: T): Named<T> {
  return { ...schema, $id: id }
}

const refs = new Map<string, object>()

/**
 * A reference to a named schema, typed as what it names. The same arguments give the same object: validators and
 * serializers are cached per schema object, and route schemas are made again with every app.
 */
export function ref<T extends TSchema>(schema: Named<T>, options: Record<string, unknown> = {}) {
  const key = `${schema.$id}\u0000${JSON.stringify(options)}`
  let made = refs.get(key)
  if (made === undefined) {
    made = Type.Unsafe<Static<T>>({ $ref: `${schema.$id}#`, ...options })
    refs.set(key, made)
  }
  return made as TUnsafe<Static<T>>
}

/**
 * A success answer of a route: a reference to the named schema, with what the answer means (@fastify/swagger takes
 * it as the response's description and keeps only the `$ref` in the media type).
 */
export const answer = <T extends TSchema>(description: string, schema: Named<T>) => ref(schema, { description })

/** One page of a cursor-paged list, under a name: its items and the cursor of the next page (null on the last). */
export function page<T extends TSchema>(
  id: string,
  item: Named<T>,
  description: string,
  notes: { items?: string; nextCursor?: string } = {}
) {
  return named(
    id,
    Type.Object(
      {
        items: Type.Array(ref(item), notes.items !== undefined ? { description: notes.items } : {}),
        nextCursor: Type.Union([Type.String(), Type.Null()], {
          description: notes.nextCursor ?? 'Pass as `cursor` for the next page; null on the last page.'
        })
      },
      { description }
    )
  )
}
