// What PostgreSQL does with a repository's own query: capture the SQL a function sends (through a Kysely plugin)
// and explain it with sequential scans disabled, so that a few rows suffice to show whether an index serves it.
import {
  CompiledQuery,
  sql,
  type Kysely,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow
} from 'kysely'
import type { Database } from '../../src/db/schema.js'

class CapturedQueries implements KyselyPlugin {
  readonly queries: PluginTransformQueryArgs[] = []
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.queries.push(args)
    return args.node
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result
  }
}

/** The first query of `kind` (a select by default) that `work` sends, compiled. */
export async function firstQuery(
  db: Kysely<Database>,
  work: (db: Kysely<Database>) => Promise<unknown>,
  kind = 'SelectQueryNode'
): Promise<CompiledQuery> {
  const plugin = new CapturedQueries()
  const capturing = db.withPlugin(plugin)
  await work(capturing)
  const first = plugin.queries.find((q) => q.node.kind === kind)
  if (first === undefined) throw new Error(`no ${kind} was sent`)
  return capturing.getExecutor().compileQuery(first.node, first.queryId)
}

/** The first select `work` sends, compiled. */
export const firstSelect = async (
  db: Kysely<Database>,
  work: (db: Kysely<Database>) => Promise<unknown>
): Promise<CompiledQuery> => await firstQuery(db, work)

export interface PlanNode {
  'Node Type': string
  'Index Name'?: string
  Plans?: PlanNode[]
}

const nodesOf = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(nodesOf)]

/** Every node of the plan PostgreSQL chooses for `query` with sequential scans off. */
export async function planOf(db: Kysely<Database>, query: CompiledQuery): Promise<PlanNode[]> {
  return await db.transaction().execute(async (tx) => {
    await sql`set local enable_seqscan = off`.execute(tx)
    const result = await tx.executeQuery<{ 'QUERY PLAN': unknown }>(
      CompiledQuery.raw(`explain (format json) ${query.sql}`, [...query.parameters])
    )
    const raw = result.rows[0]?.['QUERY PLAN']
    const parsed = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Array<{ Plan: PlanNode }>
    const root = parsed[0]?.Plan
    if (root === undefined) throw new Error('no plan')
    return nodesOf(root)
  })
}

const INDEX_SCANS = new Set(['Index Scan', 'Index Only Scan', 'Bitmap Index Scan'])
export const indexesUsed = (plan: PlanNode[]): string[] =>
  plan.filter((n) => INDEX_SCANS.has(n['Node Type'])).map((n) => n['Index Name'] ?? '')
export const scansTable = (plan: PlanNode[]): boolean => plan.some((n) => n['Node Type'] === 'Seq Scan')
/** Whether the plan sorts (rather than reading an index in order). */
export const sorts = (plan: PlanNode[]): boolean =>
  plan.some((n) => n['Node Type'] === 'Sort' || n['Node Type'] === 'Incremental Sort')
