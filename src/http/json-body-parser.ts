// The only body parser. Lazy: a route that takes no body, or no route at all, never reads one (the answer then
// closes the connection, so the unread bytes are never taken for a next request). Bodies are JSON, read up to the
// route's limit, decoded as strict UTF-8 and parsed in time linear in their size; a broken body is a 400 that says
// where it broke (and never quotes it).
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { IncomingMessage } from 'node:http'
import secureJson from 'secure-json-parse'
import { jsonPointer } from '../catalog/json-pointer.js'
import { AppError } from '../errors/app-error.js'
import { findJsonShapeProblem, locateJsonSyntaxError, shownName } from './json-syntax-error.js'
import { readBody } from './read-body.js'
import { findJsonValueProblem } from './well-formed-input.js'

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i

/** Whether the route a request matched reads a body at all. */
export function takesBody(request: FastifyRequest): boolean {
  return !request.is404 && request.routeOptions.schema?.body !== undefined
}

export function registerJsonBodyParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', async (request: FastifyRequest, payload: IncomingMessage) => {
    if (!takesBody(request)) return undefined
    const type = request.headers['content-type']
    const mediaType = (type ?? '').split(';')[0]?.trim() ?? ''
    if (!JSON_MEDIA_TYPE.test(mediaType)) {
      throw new AppError(
        'unsupported_media_type',
        `Content-Type ${type ?? '(none)'} is not accepted. Send the body as application/json.`
      )
    }
    const bytes = await readBody(payload, request.routeOptions.bodyLimit, request.headers['content-length'])
    return parseJsonBody(bytes)
  })
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Parses a JSON request body; throws the AppError that says what is wrong with it. */
export function parseJsonBody(bytes: Uint8Array): unknown {
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch (err) {
    throw new AppError('malformed_json', 'The body is not valid UTF-8. Send JSON encoded as UTF-8.', {
      errors: [{ path: '', message: 'not valid UTF-8' }],
      cause: err
    })
  }
  if (text.trim() === '') {
    throw new AppError('malformed_json', 'The body is empty. Send a JSON object.', {
      errors: [{ path: '', message: 'empty body' }]
    })
  }
  // Before JSON.parse: deep nesting costs it far more per byte than anything else does.
  const shape = findJsonShapeProblem(text)
  if (shape !== undefined) {
    throw new AppError(
      'validation_failed',
      `The body ${shape.detail} (at line ${shape.line}, column ${shape.column}). A connection body is a small object; check what is being sent.`,
      {
        errors: [{ path: '', message: `${shape.detail} (line ${shape.line}, column ${shape.column})` }],
        extensions: { line: shape.line, column: shape.column }
      }
    )
  }
  let value: unknown
  try {
    value = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' })
  } catch (err) {
    const where = locateJsonSyntaxError(text)
    if (where === undefined) {
      throw new AppError(
        'malformed_json',
        'The body uses a reserved property name (__proto__ or constructor.prototype). Remove it.',
        { errors: [{ path: '', message: 'reserved property name' }] }
      )
    }
    const after = where.after !== null ? `, just after "${where.after}"` : ''
    const detail = `The body is not valid JSON: at line ${where.line}, column ${where.column}${after}, expected ${where.expected}.`
    throw new AppError('malformed_json', detail, {
      errors: [
        {
          path: where.afterPath === null ? '' : jsonPointer(...where.afterPath.map((p) => shownName(String(p)))),
          message: `line ${where.line}, column ${where.column}: expected ${where.expected}`
        }
      ],
      extensions: { line: where.line, column: where.column },
      cause: err
    })
  }
  const problem = findJsonValueProblem(value)
  if (problem !== undefined) {
    throw new AppError('validation_failed', `The body is not valid: ${problem.path || '(root)'} ${problem.message}.`, {
      errors: [problem]
    })
  }
  return value
}
