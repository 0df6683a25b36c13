// PGlite's on-disk filesystem with every file it creates kept private: PGlite writes its files mode 0666 whatever
// the umask, which would let anyone on the host edit the audit log and the keys. Modes lose their group and other
// bits as PGlite creates or changes them, so files are 0600 and directories 0700.
import { NodeFS } from '@electric-sql/pglite/nodefs'

type PGliteInstance = Parameters<NodeFS['init']>[0]
type PostgresModule = Parameters<NodeFS['init']>[1]

type Operation = (...args: unknown[]) => unknown
/** The part of Emscripten's NODEFS we wrap: its node and stream operations, found on the module at preRun. */
interface EmscriptenNodeFs {
  NODEFS?: { node_ops?: Record<string, Operation>; stream_ops?: Record<string, Operation> }
}

const PRIVATE = ~0o077

export class PrivateNodeFS extends NodeFS {
  override async init(pg: PGliteInstance, opts: PostgresModule): ReturnType<NodeFS['init']> {
    const result = await super.init(pg, opts)
    const { emscriptenOpts } = result
    emscriptenOpts.preRun = [
      ...(emscriptenOpts.preRun ?? []),
      (mod) => {
        keepModesPrivate(mod)
      }
    ]
    return result
  }
}

function keepModesPrivate(mod: EmscriptenNodeFs): void {
  const nodeOps = mod.NODEFS?.node_ops
  const streamOps = mod.NODEFS?.stream_ops
  // Should a PGlite release rename these, the files stay as PGlite makes them: the data dir itself is 0700 and
  // openDatabase still restricts every file it finds at open.
  if (nodeOps === undefined || streamOps === undefined) return
  wrap(nodeOps, 'mknod', (args) => {
    if (typeof args[2] === 'number') args[2] = args[2] & PRIVATE
  })
  wrap(nodeOps, 'setattr', (args) => {
    args[1] = privateAttr(args[1])
  })
  wrap(streamOps, 'setattr', (args) => {
    args[1] = privateAttr(args[1])
  })
}

function wrap(ops: Record<string, Operation>, name: string, adjust: (args: unknown[]) => void): void {
  const original = ops[name]
  if (original === undefined) return
  ops[name] = (...args: unknown[]) => {
    adjust(args)
    return original(...args)
  }
}

function privateAttr(attr: unknown): unknown {
  if (typeof attr !== 'object' || attr === null) return attr
  const mode = (attr as { mode?: unknown }).mode
  return typeof mode === 'number' ? { ...attr, mode: mode & PRIVATE } : attr
}
