// redactEchoes: removes a request's secret values from text a downstream service sent back, in every form servers
// are known to echo them in: raw, JSON-escaped (once or twice), URL-encoded, base64 (alone or inside a larger blob), cut short.

const REPLACEMENT = '[redacted]'
/** Shorter values are not treated as secrets here: they would redact ordinary words. */
const MIN_SECRET_LENGTH = 3
/** From this length on, a secret is also recognised from the first 8 characters of any of its forms (an echo cut short). */
const MIN_PREFIX_LENGTH = 8
/** Each pass after the first only widens earlier replacements; this bounds the work on a pathological text. */
const MAX_PASSES = 8

/**
 * `text` with every echo of `secrets` replaced by `[redacted]`. Linear in text length × number of forms: each form is
 * found with indexOf and measured with a Z-algorithm, never with a regular expression built from the secret.
 */
export function redactEchoes(text: string, secrets: readonly string[]): string {
  const needles = needlesOf(secrets)
  if (needles.length === 0) return text
  let current: Redacted = { text, markers: [] }
  // A replacement can put a form back together out of the text beside it and our own marker ("d]x" after
  // "[redacted]"): later passes widen such a replacement over it. Matches inside a marker alone are our own words.
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const spans = spansToRedact(current, needles)
    if (spans.length === 0) break
    current = replaceSpans(current.text, spans)
  }
  return current.text
}

type Span = [start: number, end: number]

interface Redacted {
  text: string
  /** Where REPLACEMENT stands in `text`, in order. */
  markers: Span[]
}

interface Needle {
  form: string
  /** How much of `form`, from its start, must be there to count: all of it, or MIN_PREFIX_LENGTH for long secrets. */
  minLength: number
  /** Matching lengths of `form` against itself (Z-array), reused for every text. */
  z: Int32Array
}

function needlesOf(secrets: readonly string[]): Needle[] {
  const needles = new Map<string, Needle>()
  for (const secret of new Set(secrets)) {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) continue
    const prefixes = secret.length >= MIN_PREFIX_LENGTH
    for (const form of echoForms(secret)) {
      if (form === '') continue
      const minLength = prefixes ? Math.min(form.length, MIN_PREFIX_LENGTH) : form.length
      const known = needles.get(form)
      if (known === undefined) needles.set(form, { form, minLength, z: zArray(form) })
      else known.minLength = Math.min(known.minLength, minLength)
    }
  }
  return [...needles.values()]
}

function spansToRedact({ text, markers }: Redacted, needles: readonly Needle[]): Span[] {
  let reach: Int32Array | undefined
  for (const needle of needles) {
    // indexOf is native and fast; most forms of most secrets are absent, and those cost nothing more.
    if (text.indexOf(needle.form.slice(0, needle.minLength)) === -1) continue
    reach ??= new Int32Array(text.length)
    markMatches(text, needle, reach)
  }
  if (reach === undefined) return []
  const spans: Span[] = []
  let m = 0
  for (const span of mergedSpans(text, reach)) {
    while (m < markers.length && (markers[m]?.[1] ?? 0) < span[0]) m++
    // Skip matches that lie wholly inside one marker; widen the others over every marker they touch.
    const first = markers[m]
    if (first !== undefined && first[0] <= span[0] && span[1] <= first[1]) continue
    let [start, end] = span
    for (let k = m; k < markers.length; k++) {
      const marker = markers[k]
      if (marker === undefined || marker[0] > end) break
      start = Math.min(start, marker[0])
      end = Math.max(end, marker[1])
    }
    const last = spans.at(-1)
    if (last !== undefined && last[1] >= start) last[1] = Math.max(last[1], end)
    else spans.push([start, end])
  }
  return spans
}

/**
 * For every position of `text`, the length of the longest start of `needle.form` found there (the Z-algorithm run over
 * form + text without building that string); positions where it reaches `minLength` mark a span to redact.
 */
function markMatches(text: string, needle: Needle, reach: Int32Array): void {
  const { form, minLength, z } = needle
  const m = form.length
  const n = text.length
  let left = 0
  let right = 0
  for (let i = 0; i < n; i++) {
    let k = 0
    if (i < right) k = Math.min(z[i - left] ?? 0, right - i)
    while (k < m && i + k < n && text.charCodeAt(i + k) === form.charCodeAt(k)) k++
    if (i + k > right) {
      left = i
      right = i + k
    }
    if (k >= minLength && i + k > (reach[i] ?? 0)) reach[i] = i + k
  }
}

function zArray(form: string): Int32Array {
  const m = form.length
  const z = new Int32Array(m)
  z[0] = m
  let left = 0
  let right = 0
  for (let i = 1; i < m; i++) {
    let k = i < right ? Math.min(z[i - left] ?? 0, right - i) : 0
    while (i + k < m && form.charCodeAt(k) === form.charCodeAt(i + k)) k++
    z[i] = k
    if (i + k > right) {
      left = i
      right = i + k
    }
  }
  return z
}

/** Runs of overlapping or touching marked positions, in order. */
function mergedSpans(text: string, reach: Int32Array): Span[] {
  const n = text.length
  const spans: Span[] = []
  let i = 0
  while (i < n) {
    let end = reach[i] ?? 0
    if (end <= i) {
      i++
      continue
    }
    for (let j = i + 1; j < end || (j === end && j < n && (reach[j] ?? 0) > j); j++) end = Math.max(end, reach[j] ?? 0)
    // A prefix cut between the halves of a surrogate pair takes the other half too, rather than leave half a character.
    if (end < n && isHighSurrogate(text.charCodeAt(end - 1)) && isLowSurrogate(text.charCodeAt(end))) end++
    spans.push([i, end])
    i = end
  }
  return spans
}

function replaceSpans(text: string, spans: readonly Span[]): Redacted {
  let out = ''
  const markers: Span[] = []
  let copied = 0
  for (const [start, end] of spans) {
    out += text.slice(copied, start)
    markers.push([out.length, out.length + REPLACEMENT.length])
    out += REPLACEMENT
    copied = end
  }
  return { text: out + text.slice(copied), markers }
}

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff
const isLowSurrogate = (code: number): boolean => code >= 0xdc00 && code <= 0xdfff

/** Every form in which a server could send `secret` back. */
export function echoForms(secret: string): Set<string> {
  const forms = new Set<string>([secret])
  for (const once of jsonEscapes(secret)) {
    forms.add(once)
    for (const twice of jsonEscapes(once)) forms.add(twice)
  }
  const bytes = Buffer.from(secret, 'utf8')
  for (const encoded of urlEncodings(bytes)) forms.add(encoded)
  for (const encoded of base64Forms(bytes)) forms.add(encoded)
  return forms
}

/**
 * The inside of a JSON string holding `text`, as JSON.stringify writes it and as ASCII-only encoders do (\uXXXX in
 * lower or upper case, as Python's and Jackson's do), with '/' escaped (PHP) and with <, >, & escaped (Go).
 */
function jsonEscapes(text: string): Set<string> {
  const standard = JSON.stringify(text).slice(1, -1)
  const variants = [
    standard,
    standard.replace(/[\u0080-\uffff]/g, (c) => unicodeEscape(c, false)),
    standard.replace(/[\u0080-\uffff]/g, (c) => unicodeEscape(c, true)),
    standard.replace(/[<>&\u2028\u2029]/g, (c) => unicodeEscape(c, false))
  ]
  const out = new Set<string>()
  for (const variant of variants) {
    out.add(variant)
    out.add(variant.replaceAll('/', '\\/'))
  }
  return out
}

function unicodeEscape(char: string, upper: boolean): string {
  const hex = char.charCodeAt(0).toString(16).padStart(4, '0')
  return `\\u${upper ? hex.toUpperCase() : hex}`
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** Characters left as they are by each encoder, and whether it writes a space as '+'. */
const PERCENT_ENCODERS: ReadonlyArray<{ safe: string; spaceAsPlus: boolean }> = [
  { safe: ALNUM + "-_.!~*'()", spaceAsPlus: false }, // encodeURIComponent
  { safe: ALNUM + "-_.!~*'()", spaceAsPlus: true }, // encodeURIComponent(...).replace(/%20/g, '+'), common in JS
  { safe: ALNUM + '-._~', spaceAsPlus: false }, // RFC 3986 unreserved
  { safe: ALNUM + '*-._', spaceAsPlus: true }, // HTML forms, URLSearchParams, Java's URLEncoder
  { safe: ALNUM + '_.-~', spaceAsPlus: true }, // Python's quote_plus
  { safe: ALNUM + '_.-~/', spaceAsPlus: false } // Python's quote
]

/** Percent-encodings of the UTF-8 bytes, with upper- and lower-case hex; never throws on a lone surrogate. */
function urlEncodings(bytes: Buffer): Set<string> {
  const out = new Set<string>()
  for (const { safe, spaceAsPlus } of PERCENT_ENCODERS) {
    let upper = ''
    let lower = ''
    for (const byte of bytes) {
      const char = String.fromCharCode(byte)
      if (byte < 0x80 && safe.includes(char)) {
        upper += char
        lower += char
      } else if (byte === 0x20 && spaceAsPlus) {
        upper += '+'
        lower += '+'
      } else {
        const hex = byte.toString(16).padStart(2, '0')
        upper += `%${hex.toUpperCase()}`
        lower += `%${hex}`
      }
    }
    out.add(upper)
    out.add(lower)
  }
  return out
}

/**
 * Base64 (standard and url-safe, with and without padding) of the bytes alone, and of the bytes inside a larger blob at
 * each of the three byte alignments: there only the characters whose six bits all come from the secret are kept.
 */
function base64Forms(bytes: Buffer): Set<string> {
  const out = new Set<string>()
  for (const alphabet of ['base64', 'base64url'] as const) {
    const alone = bytes.toString(alphabet).replace(/=+$/, '')
    out.add(alone)
    out.add(alone.padEnd(Math.ceil(alone.length / 4) * 4, '='))
    for (const offset of [0, 1, 2]) {
      const encoded = Buffer.concat([Buffer.alloc(offset), bytes, Buffer.alloc(3)]).toString(alphabet)
      const first = Math.ceil((8 * offset) / 6)
      const end = Math.floor((8 * (offset + bytes.length)) / 6)
      if (end > first) out.add(encoded.slice(first, end))
    }
  }
  return out
}
