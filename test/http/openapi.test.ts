// The committed openapi/openapi.json is what the app serves; regenerate with `npm run openapi` when routes change.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { fromRoot } from '../support/project-root.js'
import { buildOpenApiDocument, serializeOpenApi } from '../../src/openapi-document.js'

void t.test('openapi/openapi.json matches the routes (run `npm run openapi` after changing a route)', async (t) => {
  const committed = await readFile(fromRoot('openapi/openapi.json'), 'utf8')
  t.equal(serializeOpenApi(await buildOpenApiDocument()), committed)
})

void t.test('every route has an operationId, tags, and documented error responses', async (t) => {
  const doc = (await buildOpenApiDocument()) as {
    paths: Record<
      string,
      Record<string, { operationId?: string; tags?: string[]; responses?: Record<string, unknown> }>
    >
  }
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      t.ok(op.operationId, `${method} ${path}: operationId`)
      t.ok(op.tags?.length, `${method} ${path}: tags`)
      if (path.startsWith('/v1/')) t.ok(op.responses?.['401'], `${method} ${path}: 401 documented`)
    }
  }
})
