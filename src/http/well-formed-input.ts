// Refuses input that is not well-formed Unicode (a lone UTF-16 surrogate such as "\ud800", which JSON escapes
// and inject can carry): the database, the secret store and Flow Service would each fail on it differently.
// Checked everywhere input enters: body values and names at any depth, query strings, path params and headers.
import type { FastifyInstance } from 'fastify'
import { AppError, type FieldProblem } from '../errors/app-error.js'
import { jsonPointer } from '../catalog/json-pointer.js'
import { shownName } from './json-syntax-error.js'
import { undecodableQueryProblem } from './query-string.js'

const ILL_FORMED = 'is not well-formed Unicode (it holds a lone UTF-16 surrogate, e.g. \\ud800); send valid UTF-8 text'
const ILL_FORMED_NAME =
  'is a property name that is not well-formed Unicode (it holds a lone UTF-16 surrogate, e.g. \\ud800); send valid UTF-8 text'

interface Node {
  value: object
  segment: string
  parent: Node | null
}

function pointerOf(parent: Node | null, segment: string): string {
  const segments: string[] = [shownName(segment)]
  for (let n: Node | null = parent; n !== null && n.parent !== null; n = n.parent) segments.push(shownName(n.segment))
  return jsonPointer(...segments.reverse())
}

/**
 * The first string or property name of a parsed JSON body that is not well-formed. Iterative, so depth costs no
 * stack; linear in the size of the value, allocating only for objects and arrays. Never quotes a value.
 */
export function findJsonValueProblem(value: unknown): FieldProblem | undefined {
  if (typeof value === 'string') return value.isWellFormed() ? undefined : { path: '', message: ILL_FORMED }
  if (typeof value !== 'object' || value === null) return undefined
  const pending: Node[] = [{ value, segment: '', parent: null }]
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    const entries: Array<[string, unknown]> = Array.isArray(node.value)
      ? node.value.map((v: unknown, k) => [String(k), v])
      : Object.entries(node.value)
    for (const [segment, child] of entries) {
      if (!segment.isWellFormed()) return { path: pointerOf(node, segment), message: ILL_FORMED_NAME }
      if (typeof child === 'string') {
        if (!child.isWellFormed()) return { path: pointerOf(node, segment), message: ILL_FORMED }
      } else if (typeof child === 'object' && child !== null) pending.push({ value: child, segment, parent: node })
    }
  }
  return undefined
}

/** `query.name`, `params.id`, `header.x-sandbox-name`: the field names other 400s use for these parts. */
function findTextProblem(part: 'query' | 'params' | 'header', fields: unknown): FieldProblem | undefined {
  if (typeof fields !== 'object' || fields === null) return undefined
  for (const [name, value] of Object.entries(fields)) {
    const values: unknown[] = Array.isArray(value) ? value : [value]
    const bad = !name.isWellFormed() || values.some((v) => typeof v === 'string' && !v.isWellFormed())
    if (bad) return { path: `${part}.${shownName(name)}`, message: ILL_FORMED }
  }
  return undefined
}

/** Checks path params, the query string and headers of every route before its schema runs. */
export function registerWellFormedInput(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const undecodable = undecodableQueryProblem(request.query)
    if (undecodable !== undefined) throw undecodable
    const problem =
      findTextProblem('params', request.params) ??
      findTextProblem('query', request.query) ??
      findTextProblem('header', request.headers)
    if (problem !== undefined) {
      const where = problem.path.startsWith('header.')
        ? `the ${problem.path.slice(7)} header`
        : problem.path.startsWith('query.')
          ? `query parameter ${problem.path.slice(6)}`
          : `path parameter ${problem.path.slice(7)}`
      throw new AppError(
        'validation_failed',
        `The value of ${where} is not well-formed Unicode. Send valid UTF-8 text.`,
        { errors: [problem] }
      )
    }
  })
}
