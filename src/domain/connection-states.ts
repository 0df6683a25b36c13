// The broker's connection states: the one table every layer spells them from (the Kysely table types, the
// transition rules, the queries, the HTTP schema). A leaf module: it imports nothing from the app.

export const BROKER_STATES = ['pending', 'initializing', 'enabled', 'disabled', 'deleted', 'failed'] as const
export type BrokerState = (typeof BROKER_STATES)[number]

/** States a connection never leaves: nothing is polled, changed or kept for them (their secret is destroyed). */
export const TERMINAL_STATES = ['deleted', 'failed'] as const satisfies readonly BrokerState[]
export type TerminalState = (typeof TERMINAL_STATES)[number]

const TERMINAL = new Set<string>(TERMINAL_STATES)

export const isTerminal = (state: BrokerState): state is TerminalState => TERMINAL.has(state)
