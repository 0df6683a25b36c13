// Pieces of error and notice text that must never leak a value: every echo of user input goes through here.

const MAX_ECHO = 64

/**
 * The value in quotes when it is short and printable, else a neutral description.
 * Only for values that are not secret; secret values are never passed here.
 */
export function quoteShort(value: string): string {
  // eslint-disable-next-line no-control-regex
  if (value.length <= MAX_ECHO && !/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(value)) return JSON.stringify(value)
  return `(a ${value.length}-character value, not shown)`
}

/** "a string", "null", "an array", ... for "must be X, not Y" messages (never the value itself). */
export function describeType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  switch (typeof value) {
    case 'string':
      return 'a string'
    case 'number':
      return 'a number'
    case 'boolean':
      return 'a boolean'
    case 'object':
      return 'an object'
    default:
      return typeof value
  }
}

/** A param or field name as shown in a message: backticked when plain, else quoted (names come from the caller too). */
export function nameForMessage(name: string): string {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(name) ? '`' + name + '`' : quoteShort(name)
}

/** `a, b and c`. */
export function listing(items: readonly string[]): string {
  if (items.length <= 1) return items.join('')
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1] ?? ''}`
}
