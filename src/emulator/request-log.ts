// Call counters per operation and a bounded log of recent requests, for tests that assert what the broker sent.
// Only method, path, query, sandbox, request id and traceparent are kept: never the Authorization header, a body or a
// secret.
import type { CallCounts, FaultKind, Operation, RequestLogEntry } from './types.js'

function zeroCounts(): CallCounts {
  return { token: 0, create: 0, get: 0, list: 0, update: 0, delete: 0, test: 0 }
}

export class RequestLog {
  private counts = zeroCounts()
  /** A ring buffer: `next` is where the next entry goes once it is full. */
  private entries: RequestLogEntry[] = []
  private next = 0

  constructor(private readonly capacity: number) {}

  record(entry: RequestLogEntry): RequestLogEntry {
    if (this.capacity <= 0) return entry
    if (this.entries.length < this.capacity) {
      this.entries.push(entry)
    } else {
      this.entries[this.next] = entry
      this.next = (this.next + 1) % this.capacity
    }
    return entry
  }

  count(operation: Operation, entry: RequestLogEntry): void {
    this.counts[operation]++
    entry.operation = operation
  }

  markFault(entry: RequestLogEntry, kind: FaultKind, chaos = false): void {
    entry.fault = kind
    if (chaos) entry.chaos = true
  }

  callCounts(): CallCounts {
    return { ...this.counts }
  }

  /** Oldest first; copies, so a test cannot alter the log. */
  recent(): RequestLogEntry[] {
    const ordered =
      this.entries.length < this.capacity
        ? this.entries
        : [...this.entries.slice(this.next), ...this.entries.slice(0, this.next)]
    return ordered.map((e) => ({ ...e }))
  }

  clear(): void {
    this.counts = zeroCounts()
    this.entries = []
    this.next = 0
  }
}

/** The query string as logged: IMS `client_secret` is redacted in case a client puts it in the URL. */
export function loggableQuery(query: string): string {
  if (query === '' || !/client_secret=/i.test(query)) return query
  const params = new URLSearchParams(query)
  for (const key of [...params.keys()]) if (key.toLowerCase() === 'client_secret') params.set(key, '[redacted]')
  return params.toString()
}
