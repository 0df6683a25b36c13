// Says where a JSON body breaks (line, column, the field just before) without quoting the body:
// the text around a break may be a password.

export interface JsonSyntaxProblem {
  line: number
  column: number
  /** Dotted path of the last field read before the break, e.g. `auth.params.host`. */
  after: string | null
  expected: string
}

class Stop extends Error {
  constructor (readonly at: number, readonly expected: string) { super(expected) }
}

/** Returns undefined when `text` is valid JSON. */
export function locateJsonSyntaxError (text: string): JsonSyntaxProblem | undefined {
  const path: Array<string | number> = []
  let last: string | null = null
  let i = 0
  const ws = (): void => { while (i < text.length && ' \t\n\r'.includes(text[i] ?? '')) i++ }
  const describePath = (): string => path.map((p) => String(p)).join('.')

  const string = (): void => {
    if (text[i] !== '"') throw new Stop(i, 'a string in double quotes')
    i++
    while (i < text.length) {
      const c = text[i]
      if (c === '"') { i++; return }
      if (c === '\\') {
        const e = text[i + 1] ?? ''
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) throw new Stop(i, 'four hex digits after \\u')
          i += 6
        } else if ('"\\/bfnrt'.includes(e) && e !== '') i += 2
        else throw new Stop(i, 'a valid escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)')
        continue
      }
      if (c === '\n' || c === '\r') throw new Stop(i, 'a closing double quote before the end of the line (the string is not terminated)')
      if ((c ?? '').charCodeAt(0) < 0x20) throw new Stop(i, 'no control characters inside a string (escape them)')
      i++
    }
    throw new Stop(i, 'a closing double quote (the string is not terminated)')
  }

  const value = (): void => {
    ws()
    const c = text[i]
    if (c === '{') return object()
    if (c === '[') return array()
    if (c === '"') return string()
    const literal = /^(true|false|null|-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?)/.exec(text.slice(i, i + 400))
    if (literal !== null) { i += literal[0].length; return }
    throw new Stop(i, c === undefined ? 'a value, but the body ended' : 'a value (object, array, string in double quotes, number, true, false or null)')
  }

  const object = (): void => {
    i++ // {
    ws()
    if (text[i] === '}') { i++; return }
    for (;;) {
      ws()
      const keyStart = i + 1
      if (text[i] !== '"') throw new Stop(i, text[i] === '}' ? 'another property (no trailing comma before })' : 'a property name in double quotes')
      string()
      const key = text.slice(keyStart, i - 1)
      ws()
      if (text[i] !== ':') throw new Stop(i, `':' after the property name "${key}"`)
      i++
      path.push(key)
      last = describePath()
      value()
      ws()
      path.pop()
      if (text[i] === ',') { i++; continue }
      if (text[i] === '}') { i++; return }
      if (text[i] === ':') throw new Stop(i, `',' or '}' after a property value; a ':' here usually means the '{' that should open the value of "${key}" is missing`)
      throw new Stop(i, text[i] === undefined ? "',' or '}', but the body ended" : "',' or '}' after a property value")
    }
  }

  const array = (): void => {
    i++ // [
    ws()
    if (text[i] === ']') { i++; return }
    for (let index = 0; ; index++) {
      path.push(index)
      value()
      path.pop()
      ws()
      if (text[i] === ',') { i++; continue }
      if (text[i] === ']') { i++; return }
      throw new Stop(i, "',' or ']' after an array element")
    }
  }

  try {
    value()
    ws()
    if (i < text.length) throw new Stop(i, 'the end of the body after the top-level value')
    return undefined
  } catch (err) {
    if (!(err instanceof Stop)) throw err
    const before = text.slice(0, err.at)
    const line = before.split('\n').length
    const column = err.at - before.lastIndexOf('\n')
    return { line, column, after: last, expected: err.expected }
  }
}
