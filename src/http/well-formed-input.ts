// Refuses input that is not well-formed Unicode (a lone UTF-16 surrogate such as "\ud800", which JSON escapes
// and inject can carry): the database, the secret store and Flow Service would each fail on it differently.
// Checked everywhere input enters: body values and names at any depth, query strings, path params and headers.
import type { FastifyInstance } from 'fastify'
import { AppError, type FieldProblem } from '../errors/app-error.js'
import { jsonPointer } from '../catalog/json-pointer.js'
import { MAX_JSON_DEPTH, shownName } from './json-syntax-error.js'
import { undecodableQueryProblem } from './query-string.js'

const ILL_FORMED = 'is not well-formed Unicode (it holds a lone UTF-16 surrogate, e.g. \\ud800); send valid UTF-8 text'
const ILL_FORMED_NAME = 'is a property name that is not well-formed Unicode (it holds a lone UTF-16 surrogate, e.g. \\ud800); send valid UTF-8 text'

interface Node { value: unknown, segment: string, parent: Node | null, depth: number }

function pointerOf (node: Node): string {
  const segments: string[] = []
  for (let n: Node | null = node; n !== null && n.parent !== null; n = n.parent) segments.push(shownName(n.segment))
  return jsonPointer(...segments.reverse())
}

/**
 * The first problem of a parsed JSON body: a string or property name that is not well-formed, or nesting deeper
 * than MAX_JSON_DEPTH. Iterative, so any depth costs no stack; linear in the size of the value. Never quotes a value.
 */
export function findJsonValueProblem (value: unknown): FieldProblem | undefined {
  const pending: Node[] = [{ value, segment: '', parent: null, depth: 0 }]
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    const v = node.value
    if (typeof v === 'string') {
      if (!v.isWellFormed()) return { path: pointerOf(node), message: ILL_FORMED }
      continue
    }
    if (typeof v !== 'object' || v === null) continue
    if (node.depth >= MAX_JSON_DEPTH) return { path: pointerOf(node), message: `nests deeper than ${MAX_JSON_DEPTH} levels; a connection body needs four` }
    if (Array.isArray(v)) {
      for (let k = v.length - 1; k >= 0; k--) pending.push({ value: v[k], segment: String(k), parent: node, depth: node.depth + 1 })
      continue
    }
    const keys = Object.keys(v)
    for (let k = keys.length - 1; k >= 0; k--) {
      const key = keys[k] as string
      const child: Node = { value: (v as Record<string, unknown>)[key], segment: key, parent: node, depth: node.depth + 1 }
      if (!key.isWellFormed()) return { path: pointerOf(child), message: ILL_FORMED_NAME }
      pending.push(child)
    }
  }
  return undefined
}

/** `query.name`, `params.id`, `header.x-sandbox-name`: the field names other 400s use for these parts. */
function findTextProblem (part: 'query' | 'params' | 'header', fields: unknown): FieldProblem | undefined {
  if (typeof fields !== 'object' || fields === null) return undefined
  for (const [name, value] of Object.entries(fields)) {
    const values: unknown[] = Array.isArray(value) ? value : [value]
    const bad = !name.isWellFormed() || values.some((v) => typeof v === 'string' && !v.isWellFormed())
    if (bad) return { path: `${part}.${shownName(name)}`, message: ILL_FORMED }
  }
  return undefined
}

/** Checks path params, the query string and headers of every route before its schema runs. */
export function registerWellFormedInput (app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const undecodable = undecodableQueryProblem(request.query)
    if (undecodable !== undefined) throw undecodable
    const problem = findTextProblem('params', request.params) ?? findTextProblem('query', request.query) ?? findTextProblem('header', request.headers)
    if (problem !== undefined) {
      const where = problem.path.startsWith('header.') ? `the ${problem.path.slice(7)} header` : problem.path.startsWith('query.') ? `query parameter ${problem.path.slice(6)}` : `path parameter ${problem.path.slice(7)}`
      throw new AppError('validation_failed', `The value of ${where} is not well-formed Unicode. Send valid UTF-8 text.`, { errors: [problem] })
    }
  })
}
