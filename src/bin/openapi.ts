// `npm run openapi`: writes openapi/openapi.json from the routes' schemas (a test fails when it drifts).
import { writeFile } from 'node:fs/promises'
import { buildOpenApiDocument, serializeOpenApi } from '../openapi-document.js'

const target = new URL('../../openapi/openapi.json', import.meta.url)
await writeFile(target, serializeOpenApi(await buildOpenApiDocument()))
process.stdout.write(`wrote ${target.pathname}\n`)
