// Creates that land late (late-landing faults): the POST's answer is lost and its connection appears only later,
// the way a request stuck in a queue behind Adobe's gateway lands after the client gave up and maybe posted again.
import type { PendingLanding } from './types.js'

interface Scheduled {
  landing: PendingLanding
  timer: NodeJS.Timeout
  land: () => string
}

export class LateLandings {
  private readonly scheduled = new Set<Scheduled>()

  constructor(private readonly clock: () => number) {}

  /** Runs `land` (which creates the connection and returns its id) after delayMs, unless cancelled or landed first. */
  schedule(delayMs: number, landing: Omit<PendingLanding, 'dueAt'>, land: () => string): void {
    const entry: Scheduled = {
      landing: { ...landing, dueAt: this.clock() + delayMs },
      timer: setTimeout(() => {
        this.fire(entry)
      }, delayMs),
      land
    }
    this.scheduled.add(entry)
  }

  pending(): PendingLanding[] {
    return this.ordered().map((e) => ({ ...e.landing }))
  }

  /** Lands everything pending at once, in due order, so a test needs no wait; returns the new ids. */
  landNow(): string[] {
    return this.ordered().map((e) => this.fire(e))
  }

  /** On reset and close: nothing lands after the test that asked for it. */
  cancelAll(): void {
    for (const e of this.scheduled) clearTimeout(e.timer)
    this.scheduled.clear()
  }

  private fire(entry: Scheduled): string {
    clearTimeout(entry.timer)
    this.scheduled.delete(entry)
    return entry.land()
  }

  private ordered(): Scheduled[] {
    return [...this.scheduled].sort((a, b) => a.landing.dueAt - b.landing.dueAt)
  }
}
