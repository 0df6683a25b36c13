export function filesUnder(root: string, dir: string): Promise<string[]>
export function compileMigrations(root: string, outdir: string): Promise<void>
export function pruneStale(folders: string[], keep: string, maxAgeMs: number): Promise<void>
