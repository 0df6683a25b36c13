// What Flow Service knows about connection specs, taken from the broker's catalogue: canonical ids only
// (aliases are the broker's business, not Adobe's), auth spec names, required and secret params.
import { catalog } from '../catalog/catalog.js'
import type { AuthSpec, ConnectionSpec } from '../catalog/types.js'

export interface KnownAuthSpec {
  spec: AuthSpec
  required: readonly string[]
  secret: ReadonlySet<string>
}

export interface KnownConnectionSpec {
  spec: ConnectionSpec
  auth: ReadonlyMap<string, KnownAuthSpec>
}

export class SpecRegistry {
  private readonly byId = new Map<string, KnownConnectionSpec>()

  constructor(specs: readonly ConnectionSpec[] = catalog) {
    for (const spec of specs) {
      const auth = new Map<string, KnownAuthSpec>()
      for (const a of spec.authSpecs) {
        auth.set(a.name, {
          spec: a,
          required: a.params.filter((p) => p.required).map((p) => p.name),
          secret: new Set(a.params.filter((p) => p.secret).map((p) => p.name))
        })
      }
      this.byId.set(spec.id, { spec, auth })
    }
  }

  connectionSpec(id: string): KnownConnectionSpec | undefined {
    return this.byId.get(id)
  }

  /** The first spec of the catalogue: what a made-up connection claims to be. */
  first(): KnownConnectionSpec | undefined {
    return this.byId.values().next().value
  }

  authSpec(connectionSpecId: string, specName: string): KnownAuthSpec | undefined {
    return this.byId.get(connectionSpecId)?.auth.get(specName)
  }

  /** Secret param names of an auth spec; empty when unknown, so nothing unknown is masked by mistake. */
  secretParams(connectionSpecId: string, specName: string): ReadonlySet<string> {
    return this.authSpec(connectionSpecId, specName)?.secret ?? EMPTY
  }
}

const EMPTY: ReadonlySet<string> = new Set()
