// A promise a test opens by hand: holds a call (a Flow Service answer, a pass) exactly as long as the test needs,
// instead of a delay that a busy machine may outlast.

export interface Gate {
  promise: Promise<void>
  open: () => void
}

export function gate(): Gate {
  let open = (): void => {}
  const promise = new Promise<void>((resolve) => {
    open = resolve
  })
  return { promise, open }
}

/** Lets every promise callback queued so far run (no timer, no real time). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}
