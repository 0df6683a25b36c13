// Says where a JSON body breaks (line, column, the field just before) without quoting the body:
// the text around a break may be a password. One pass, no recursion: hostile bodies cost time linear in their size.

/** Bodies nested deeper than this are refused, valid or not (a connection body nests four levels). */
export const MAX_JSON_DEPTH = 64
/** Objects and arrays with more members than this are refused (a connection body's largest has about ten). */
export const MAX_JSON_MEMBERS = 1000
/** Bodies with more values than this in all are refused: it bounds what parsing and checking a body may cost. */
export const MAX_JSON_VALUES = 10000
/** Property names longer than this are shortened where a message shows them. */
const MAX_SHOWN_NAME = 100

export interface JsonSyntaxProblem {
  line: number
  column: number
  /** Dotted path of the last field read before the break, e.g. `auth.params.host` (names shortened). */
  after: string | null
  /** The same field as path segments, for a JSON pointer. */
  afterPath: Array<string | number> | null
  expected: string
}

class Stop extends Error {
  constructor(
    readonly at: number,
    readonly expected: string
  ) {
    super(expected)
  }
}

interface Frame {
  kind: 'object' | 'array'
  key: string | number
}

const LITERAL = /true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
const isHex = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)

/** A property name as a message may show it: well-formed and not too long. */
export function shownName(name: string): string {
  const whole = name.toWellFormed()
  return whole.length > MAX_SHOWN_NAME ? whole.slice(0, MAX_SHOWN_NAME) + '…' : whole
}

export interface JsonShapeProblem {
  line: number
  column: number
  detail: string
}

/**
 * A bound on the work JSON.parse, the schema check and the rest may do: nesting deeper than MAX_JSON_DEPTH, a
 * container with more than MAX_JSON_MEMBERS members or more than MAX_JSON_VALUES values in all are found by counting
 * brackets and commas outside strings, and found early (a megabyte of '[' stops at the 65th). Says nothing about
 * validity; locateJsonSyntaxError does.
 */
export function findJsonShapeProblem(text: string): JsonShapeProblem | undefined {
  const members: number[] = [0]
  let values = 1
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++
      else if (c === 0x22) inString = false
      continue
    }
    if (c === 0x22) inString = true
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_JSON_DEPTH)
        return { ...position(text, i), detail: `nests deeper than ${MAX_JSON_DEPTH} levels` }
      members[depth] = 0
    } else if (c === 0x5d || c === 0x7d) {
      if (depth > 0) depth--
    } else if (c === 0x2c && depth > 0) {
      if (++values > MAX_JSON_VALUES)
        return { ...position(text, i), detail: `has more than ${MAX_JSON_VALUES} values in all` }
      const count = (members[depth] ?? 0) + 1
      if (count >= MAX_JSON_MEMBERS)
        return { ...position(text, i), detail: `has an object or array with more than ${MAX_JSON_MEMBERS} members` }
      members[depth] = count
    }
  }
  return undefined
}

function position(text: string, at: number): { line: number; column: number } {
  let line = 1
  let lineStart = 0
  for (let nl = text.indexOf('\n'); nl !== -1 && nl < at; nl = text.indexOf('\n', nl + 1)) {
    line++
    lineStart = nl + 1
  }
  return { line, column: at - lineStart + 1 }
}

/** Returns undefined when `text` is valid JSON nested at most MAX_JSON_DEPTH levels. */
export function locateJsonSyntaxError(text: string): JsonSyntaxProblem | undefined {
  const stack: Frame[] = []
  let lastPath: Array<string | number> | null = null
  let i = 0
  const ws = (): void => {
    for (;;) {
      const c = text.charCodeAt(i)
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return
      i++
    }
  }

  const string = (): void => {
    if (text[i] !== '"') throw new Stop(i, 'a string in double quotes')
    i++
    while (i < text.length) {
      const c = text.charCodeAt(i)
      if (c === 0x22) {
        i++
        return
      }
      if (c === 0x5c) {
        const e = text[i + 1] ?? ''
        if (e === 'u') {
          if (!(
            isHex(text.charCodeAt(i + 2)) &&
            isHex(text.charCodeAt(i + 3)) &&
            isHex(text.charCodeAt(i + 4)) &&
            isHex(text.charCodeAt(i + 5))
          ))
            throw new Stop(i, 'four hex digits after \\u')
          i += 6
        } else if (e !== '' && '"\\/bfnrt'.includes(e)) i += 2
        else throw new Stop(i, 'a valid escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)')
        continue
      }
      if (c === 0x0a || c === 0x0d)
        throw new Stop(i, 'a closing double quote before the end of the line (the string is not terminated)')
      if (c < 0x20) throw new Stop(i, 'no control characters inside a string (escape them)')
      i++
    }
    throw new Stop(i, 'a closing double quote (the string is not terminated)')
  }

  /** Reads `"name":` of an object member into the top frame. */
  const member = (top: Frame): void => {
    ws()
    if (text[i] !== '"')
      throw new Stop(
        i,
        text[i] === '}' ? 'another property (no trailing comma before })' : 'a property name in double quotes'
      )
    const keyStart = i + 1
    string()
    const key = text.slice(keyStart, i - 1)
    ws()
    if (text[i] !== ':') throw new Stop(i, `':' after the property name "${shownName(key)}"`)
    i++
    top.key = key
    lastPath = stack.map((f) => f.key) // at most MAX_JSON_DEPTH segments: linear overall
  }

  try {
    let expectValue = true
    for (;;) {
      if (expectValue) {
        ws()
        const c = text[i]
        if (c === '{' || c === '[') {
          if (stack.length >= MAX_JSON_DEPTH) throw new Stop(i, `at most ${MAX_JSON_DEPTH} levels of nesting`)
          i++
          ws()
          const close = c === '{' ? '}' : ']'
          if (text[i] === close) {
            i++
            expectValue = false
            continue
          }
          const frame: Frame = { kind: c === '{' ? 'object' : 'array', key: 0 }
          stack.push(frame)
          if (frame.kind === 'object') member(frame)
          continue
        }
        if (c === '"') string()
        else {
          LITERAL.lastIndex = i
          const literal = LITERAL.exec(text)
          if (literal === null)
            throw new Stop(
              i,
              c === undefined
                ? 'a value, but the body ended'
                : 'a value (object, array, string in double quotes, number, true, false or null)'
            )
          i += literal[0].length
        }
        expectValue = false
        continue
      }
      ws()
      const top = stack[stack.length - 1]
      if (top === undefined) {
        if (i < text.length) throw new Stop(i, 'the end of the body after the top-level value')
        return undefined
      }
      const c = text[i]
      if (top.kind === 'object') {
        if (c === ',') {
          i++
          member(top)
          expectValue = true
          continue
        }
        if (c === '}') {
          i++
          stack.pop()
          continue
        }
        if (c === ':')
          throw new Stop(
            i,
            `',' or '}' after a property value; a ':' here usually means the '{' that should open the value of "${shownName(String(top.key))}" is missing`
          )
        throw new Stop(i, c === undefined ? "',' or '}', but the body ended" : "',' or '}' after a property value")
      }
      if (c === ',') {
        i++
        top.key = Number(top.key) + 1
        expectValue = true
        continue
      }
      if (c === ']') {
        i++
        stack.pop()
        continue
      }
      throw new Stop(i, "',' or ']' after an array element")
    }
  } catch (err) {
    if (!(err instanceof Stop)) throw err
    const { line, column } = position(text, err.at)
    const after: string | null =
      lastPath === null ? null : (lastPath as Array<string | number>).map((p) => shownName(String(p))).join('.')
    return { line, column, after, afterPath: lastPath, expected: err.expected }
  }
}
