// Parses query strings as Fastify's default does, except that it remembers which names or values are not valid
// percent-encoded UTF-8 (e.g. %ED%A0%80, an encoded lone surrogate): the default keeps those as raw text, silently.
import { AppError } from '../errors/app-error.js'

const UNDECODABLE = Symbol('query fields that are not valid percent-encoded UTF-8')

type Query = Record<string, string | string[]> & { [UNDECODABLE]?: string[] }

const decode = (text: string): string | null => {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '))
  } catch {
    return null
  }
}

export function parseQueryString(text: string): Record<string, string | string[]> {
  const query: Query = Object.create(null) as Query
  const undecodable: string[] = []
  for (const pair of text.split('&')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    const rawName = eq === -1 ? pair : pair.slice(0, eq)
    const rawValue = eq === -1 ? '' : pair.slice(eq + 1)
    const decodedName = decode(rawName)
    const name = decodedName ?? rawName
    const value = decode(rawValue)
    if (decodedName === null || value === null) undecodable.push(name)
    const v = value ?? rawValue
    const previous = query[name]
    if (previous === undefined) query[name] = v
    else if (Array.isArray(previous)) previous.push(v)
    else query[name] = [previous, v]
  }
  if (undecodable.length > 0) Object.defineProperty(query, UNDECODABLE, { value: undecodable, enumerable: false })
  return query
}

/** The 400 for a query string whose percent-encoding is not UTF-8, naming the first such field. */
export function undecodableQueryProblem(query: unknown): AppError | undefined {
  const names = typeof query === 'object' && query !== null ? (query as Query)[UNDECODABLE] : undefined
  const name = names?.[0]
  if (name === undefined) return undefined
  return new AppError(
    'validation_failed',
    `Query parameter ${name} is not valid percent-encoded UTF-8. Encode the text as UTF-8 before percent-encoding it.`,
    {
      errors: [{ path: `query.${name}`, message: 'is not valid percent-encoded UTF-8' }]
    }
  )
}
