export function newRunId(now?: number): string
export function testDatabaseName(runId: string | undefined): string
export function dropRunDatabases(serverUrl: string, runId: string, parallel?: number): Promise<number>
export function dropStaleRunDatabases(
  serverUrl: string,
  maxAgeMs: number,
  now?: number,
  parallel?: number
): Promise<number>
