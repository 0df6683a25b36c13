// The README stays in step with the code: every configuration variable is documented in its table.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { fromRoot } from './support/project-root.js'
import { EnvSchema } from '../src/config.js'

void t.test('every environment variable in src/config.ts has a row in the README configuration table', async (t) => {
  const readme = await readFile(fromRoot('README.md'), 'utf8')
  for (const name of Object.keys(EnvSchema.properties)) {
    t.match(readme, `| \`${name}\` |`, name)
  }
})

void t.test('the README gives the two set-up commands', async (t) => {
  const readme = await readFile(fromRoot('README.md'), 'utf8')
  t.match(readme, 'npm install && npm start')
  t.match(readme, 'npm install && npm test')
})
