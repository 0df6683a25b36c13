// How long a request owns a connection row: past its deadline, plus the call that may have started just before it
// and the look that may follow it. After that the owner is surely gone, and the reconciler may take over.

export const workLeaseMs = (deadlineMs: number, flowTimeoutMs: number): number => deadlineMs + 2 * flowTimeoutMs + 1000
