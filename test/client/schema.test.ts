// The client's generated types (client/src/schema.ts) are openapi-typescript's output for the committed
// openapi/openapi.json; regenerate both with `npm run openapi` when a route changes.
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import t from 'tap'
import { fromRoot } from '../support/project-root.js'

void t.test(
  'client/src/schema.ts matches openapi/openapi.json (run `npm run openapi` after changing a route)',
  async (t) => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [fromRoot('node_modules/openapi-typescript/bin/cli.js'), fromRoot('openapi/openapi.json')],
      // From client/, as `npm run generate` runs it: at the root, openapi-typescript would take up redocly.yaml, the
      // document linter's strict rules, which `npm run lint:openapi` applies separately.
      { maxBuffer: 64 * 1024 * 1024, cwd: fromRoot('client') }
    )
    t.equal(stdout, await readFile(fromRoot('client/src/schema.ts'), 'utf8'))
  }
)
