// `npm run keys -- create|list|revoke`: API key administration straight against the database, for bootstrapping
// a production broker before any admin key exists. Same use cases (and audit rows) as /v1/api-keys.
import { parseArgs } from 'node:util'
import { Value } from 'typebox/value'
import type { Actor } from '../audit/audit-log.js'
import { formatTable } from './format-table.js'
import { AppError } from '../errors/app-error.js'
import { issueApiKey, listApiKeyPage, revokeApiKey, type ApiKeyDeps } from '../auth/api-key-admin.js'
import { CreateApiKeyRequest, type ApiKeyResource } from '../auth/api-key-resource.js'
import { SCOPES } from '../auth/scopes.js'

export const KEYS_USAGE = `Usage:
  npm run keys -- create --team <team> --name <name> --scopes <scope,scope> [--sandbox <name>]... [--spec <id>]...
                                            issue a key (printed once); admin keys take no --team
  npm run keys -- list [--team <team>]      every key, revoked ones too
  npm run keys -- revoke <id>               revoke at once
Scopes: connections:read, connections:write, audit:read, admin.
--sandbox and --spec (each repeatable) limit the key to those sandboxes and connection spec ids; without them it
acts in every sandbox and on every spec.
Uses the database configured by the environment (DATABASE_URL, or the embedded one under BROKER_DATA_DIR).
`

export interface CommandIo {
  out: (text: string) => void
  err: (text: string) => void
  actor: Actor
}

/** Runs one keys command; resolves to the process exit code. */
export async function runKeysCommand(deps: ApiKeyDeps, argv: string[], io: CommandIo): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        team: { type: 'string' },
        name: { type: 'string' },
        scopes: { type: 'string' },
        sandbox: { type: 'string', multiple: true },
        spec: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' }
      }
    })
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${KEYS_USAGE}`)
    return 2
  }
  const { values, positionals } = parsed
  const [command, ...rest] = positionals
  try {
    switch (values.help === true ? 'help' : command) {
      case 'create': {
        const input = createInput(values)
        if (!input.ok) {
          io.err(`${input.problems.join('\n')}\n\n${KEYS_USAGE}`)
          return 2
        }
        const created = await issueApiKey(deps, { actor: io.actor, requestId: null }, input.value)
        io.out(
          `${describeKey(created)}key      ${created.key}\n\nThe key is shown this once; only its hash is kept. Store it now.\n`
        )
        return 0
      }
      case 'list': {
        const keys: ApiKeyResource[] = []
        let cursor: string | undefined
        do {
          const page = await listApiKeyPage(
            deps,
            { actor: io.actor, requestId: null },
            {
              ...(values.team !== undefined ? { team: values.team } : {}),
              limit: 100,
              ...(cursor !== undefined ? { cursor } : {})
            }
          )
          keys.push(...page.items)
          cursor = page.nextCursor ?? undefined
        } while (cursor !== undefined)
        io.out(
          formatTable(
            ['id', 'team', 'name', 'scopes', 'sandboxes', 'specs', 'created', 'revoked'],
            keys.map((k) => [
              k.id,
              k.team,
              k.name,
              k.scopes.join(','),
              k.sandboxes?.join(',') ?? '(all)',
              k.connectionSpecs?.join(',') ?? '(all)',
              k.createdAt,
              k.revokedAt ?? ''
            ])
          )
        )
        return 0
      }
      case 'revoke': {
        const id = rest[0]
        if (id === undefined || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) {
          io.err(`revoke needs the key's id (a uuid, see \`npm run keys -- list\`).\n\n${KEYS_USAGE}`)
          return 2
        }
        const { key, alreadyRevoked } = await revokeApiKey(deps, { actor: io.actor, requestId: null }, id)
        io.out(
          `${describeKey(key)}${alreadyRevoked ? `\nAlready revoked at ${key.revokedAt ?? '?'}; nothing changed.\n` : '\nRevoked: its next request is refused.\n'}`
        )
        return 0
      }
      case 'help':
        io.out(KEYS_USAGE)
        return 0
      default:
        io.err(`${command === undefined ? 'No command given.' : `Unknown command "${command}".`}\n\n${KEYS_USAGE}`)
        return 2
    }
  } catch (err) {
    if (err instanceof AppError && err.status < 500) {
      io.err(`${err.detail}\n`)
      return 1
    }
    throw err
  }
}

function describeKey(k: ApiKeyResource): string {
  return (
    `id         ${k.id}\nteam       ${k.team}\nname       ${k.name}\nscopes     ${k.scopes.join(',')}\n` +
    `sandboxes  ${k.sandboxes?.join(',') ?? '(all)'}\nspecs      ${k.connectionSpecs?.join(',') ?? '(all)'}\ncreated    ${k.createdAt}\n`
  )
}

const OPTION_OF: Record<string, string> = { sandboxes: '--sandbox', connectionSpecs: '--spec' }

/** The options of `create`, each problem named by its option in words an operator can act on. */
function createInput(values: {
  team?: string
  name?: string
  scopes?: string
  sandbox?: string[]
  spec?: string[]
}): { ok: true; value: CreateApiKeyRequest } | { ok: false; problems: string[] } {
  const problems: string[] = []
  const scopes = (values.scopes ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  const admin = scopes.includes('admin')
  if (values.team === undefined && !admin)
    problems.push('--team is required (admin keys excepted: they belong to no team)')
  if (values.team !== undefined && admin)
    problems.push('--team: admin keys belong to no team (they act for every team); omit --team')
  if (admin && (values.sandbox !== undefined || values.spec !== undefined))
    problems.push('--sandbox, --spec: admin keys act in every sandbox and on every spec; limits are for team keys')
  if (values.name === undefined) problems.push('--name is required')
  if (scopes.length === 0) problems.push(`--scopes is required: a comma-separated list of ${SCOPES.join(', ')}`)
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s))
  if (unknown.length > 0)
    problems.push(`--scopes: unknown ${unknown.map((s) => `"${s}"`).join(', ')}; use ${SCOPES.join(', ')}`)
  const value = {
    ...(values.team !== undefined ? { team: values.team } : {}),
    name: values.name,
    scopes,
    ...(values.sandbox !== undefined ? { sandboxes: values.sandbox } : {}),
    ...(values.spec !== undefined ? { connectionSpecs: values.spec } : {})
  }
  if (problems.length === 0) {
    // The API's own schema has the last word (team pattern, name length), so both paths accept the same keys.
    for (const e of Value.Errors(CreateApiKeyRequest, value)) {
      const [, field = '?', index] = e.instancePath.split('/')
      const given =
        index === undefined ? undefined : (field === 'sandboxes' ? values.sandbox : values.spec)?.[Number(index)]
      problems.push(`${OPTION_OF[field] ?? `--${field}`}${given !== undefined ? ` "${given}"` : ''}: ${e.message}`)
    }
  }
  return problems.length === 0
    ? { ok: true, value: value as CreateApiKeyRequest }
    : { ok: false, problems: [...new Set(problems)] }
}
