// Parses JSON bodies; a broken body is a 400 that says where it broke (and never quotes it).
import type { FastifyInstance } from 'fastify'
import secureJson from 'secure-json-parse'
import { AppError } from '../errors/app-error.js'
import { locateJsonSyntaxError } from './json-syntax-error.js'

export function registerJsonBodyParser (app: FastifyInstance): void {
  app.removeContentTypeParser(['application/json'])
  app.addContentTypeParser(/^application\/([\w.-]+\+)?json$/, { parseAs: 'string' }, (_request, body: string, done) => {
    const text = body
    if (text.trim() === '') {
      done(new AppError('malformed_json', 'The body is empty. Send a JSON object.', { errors: [{ path: '', message: 'empty body' }] }), undefined)
      return
    }
    try {
      done(null, secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' }))
    } catch (err) {
      const where = locateJsonSyntaxError(text)
      if (where === undefined) {
        done(new AppError('malformed_json', 'The body uses a reserved property name (__proto__ or constructor.prototype). Remove it.', { errors: [{ path: '', message: 'reserved property name' }] }), undefined)
        return
      }
      const after = where.after !== null ? `, just after "${where.after}"` : ''
      const detail = `The body is not valid JSON: at line ${where.line}, column ${where.column}${after}, expected ${where.expected}.`
      done(new AppError('malformed_json', detail, {
        errors: [{ path: where.after === null ? '' : '/' + where.after.split('.').join('/'), message: `line ${where.line}, column ${where.column}: expected ${where.expected}` }],
        extensions: { line: where.line, column: where.column },
        cause: err
      }), undefined)
    }
  })
}
