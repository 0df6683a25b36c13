// GroupCommit: many callers' small writes committed together. Each caller still waits until its own item is
// committed (nothing is acknowledged before it is durable); items that arrive while one batch is being written
// share the next batch, so a serialised resource (a lock, a transaction) is taken once per batch, not per item.
export class GroupCommit<T> {
  readonly #queue: Array<{ item: T; resolve: () => void; reject: (err: unknown) => void }> = []
  #flushing = false

  /** `write` commits a batch in order, all or nothing. */
  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    private readonly maxBatch = 100
  ) {}

  async add(item: T): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject })
      if (!this.#flushing) void this.#flush()
    })
  }

  async #flush(): Promise<void> {
    this.#flushing = true
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.maxBatch)
        try {
          await this.write(batch.map((b) => b.item))
          for (const b of batch) b.resolve()
        } catch (err) {
          if (batch.length === 1) {
            batch[0]?.reject(err)
            continue
          }
          // One bad item must not fail its neighbours: write each alone, so only the bad one fails.
          for (const b of batch) {
            try {
              await this.write([b.item])
              b.resolve()
            } catch (itemErr) {
              b.reject(itemErr)
            }
          }
        }
      }
    } finally {
      this.#flushing = false
    }
  }
}
