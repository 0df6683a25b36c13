// redactEchoes against encodings computed here, independently of the module's own list of forms: whatever a server
// does to a secret before echoing it (JSON, URL, base64, cutting it short), no encoding of it survives.
import t from 'tap'
import fc from 'fast-check'
import { redactEchoes } from '../../src/flow-service/redact-echoes.js'
import { encodings, json } from './helpers.js'

/** Pinned, so a run reproduces; FC_SEED explores others. */
const SEED = Number(process.env.FC_SEED ?? 20261203)
const MARKER = '[redacted]'

/** True when some run of base64 characters in `text`, read from any of its four character offsets, holds `bytes`. */
function base64Holds(text: string, bytes: Buffer): boolean {
  for (const run of text.match(/[A-Za-z0-9+/_-]+/g) ?? []) {
    const std = run.replaceAll('-', '+').replaceAll('_', '/')
    for (let offset = 0; offset < 4; offset++) {
      // Node decodes unpadded base64 and drops an incomplete last group.
      if (Buffer.from(std.slice(offset), 'base64').includes(bytes)) return true
    }
  }
  return false
}

/** A form our own marker contains cannot be kept out of the output; such secrets are not generated. */
const clashesWithMarker = (forms: string[]): boolean =>
  forms.some((f) => MARKER.includes(f) || MARKER.includes(f.slice(0, 8)))

const specialChar = fc.constantFrom(
  '"',
  '\\',
  ' ',
  '+',
  '/',
  '=',
  '%',
  '&',
  '<',
  "'",
  '\n',
  '\t',
  '\u0001',
  'é',
  'ß',
  '€',
  '日',
  '😀',
  '𝄞',
  '\u2028'
)
const asciiChar = fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 })
const anyChar = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })
const secretArb = fc.string({ unit: fc.oneof(asciiChar, specialChar, anyChar), minLength: 3, maxLength: 40 })
const longSecretArb = fc.string({ unit: fc.oneof(asciiChar, specialChar, anyChar), minLength: 8, maxLength: 40 })
const textArb = fc.string({ unit: fc.oneof(asciiChar, specialChar, anyChar), maxLength: 40 })

void t.test('a secret embedded whole in any encoding is gone, in every encoding, and others with it', async (t) => {
  fc.assert(
    fc.property(
      secretArb,
      fc.array(secretArb, { maxLength: 2 }),
      textArb,
      textArb,
      fc.nat(),
      (secret, others, before, after, pick) => {
        const all = encodings(secret)
        fc.pre(!clashesWithMarker(Object.values(all)))
        const names = Object.keys(all)
        const name = names[pick % names.length] ?? 'raw'
        const out = redactEchoes(`${before}${all[name] ?? ''}${after}`, [...others, secret])
        for (const [form, value] of Object.entries(all)) {
          if (out.includes(value))
            throw new Error(`${name} echo: the ${form} encoding survived in ${JSON.stringify(out)}`)
        }
      }
    ),
    { seed: SEED, numRuns: 1500 }
  )
  t.pass('1500 random echoes')
})

void t.test(
  'a secret inside a larger base64 blob, at any byte alignment, cannot be decoded out of the output',
  async (t) => {
    const bytesArb = fc.uint8Array({ maxLength: 5 }).map((a) => Buffer.from(a))
    fc.assert(
      fc.property(
        secretArb,
        bytesArb,
        bytesArb,
        fc.boolean(),
        textArb,
        textArb,
        (secret, head, tail, urlSafe, before, after) => {
          const bytes = Buffer.from(secret, 'utf8')
          const blob = Buffer.concat([head, bytes, tail]).toString(urlSafe ? 'base64url' : 'base64')
          const text = `${before}${blob}${after}`
          if (!base64Holds(text, bytes)) throw new Error(`the oracle misses the secret in ${blob}`)
          const out = redactEchoes(text, [secret])
          if (base64Holds(out, bytes))
            throw new Error(`the secret decodes out of ${JSON.stringify(out)} (blob ${blob})`)
        }
      ),
      { seed: SEED, numRuns: 1000 }
    )
    t.pass('1000 random blobs')
  }
)

void t.test('an echo cut short (8 characters or more of any encoding of a secret of 8 or more) is gone', async (t) => {
  fc.assert(
    fc.property(longSecretArb, textArb, textArb, fc.nat(), fc.nat(), (secret, before, after, pick, cut) => {
      const all = encodings(secret)
      fc.pre(!clashesWithMarker(Object.values(all)))
      const names = Object.keys(all)
      const name = names[pick % names.length] ?? 'raw'
      const form = all[name] ?? ''
      const kept = form.slice(0, 8 + (cut % (form.length - 7)))
      const out = redactEchoes(`${before}${kept}...${after}`, [secret])
      if (out.includes(form.slice(0, 8))) throw new Error(`${name} cut to ${kept.length}: ${JSON.stringify(out)}`)
    }),
    { seed: SEED, numRuns: 1500 }
  )
  t.pass('1500 random cuts')
})

void t.test('text without the secrets is unchanged', async (t) => {
  fc.assert(
    fc.property(textArb, (text) => redactEchoes(text, []) === text),
    { seed: SEED, numRuns: 300 }
  )
  // Every form of a secret holding an ASCII letter or digit holds one too, or is all base64 characters: a text with
  // neither cannot contain any of them.
  const unrelated = textArb.map((s) => s.replace(/[A-Za-z0-9+/=_-]/g, ''))
  const secretWithAlnum = secretArb.filter((s) => /[A-Za-z0-9]/.test(s))
  fc.assert(
    fc.property(
      unrelated,
      fc.array(secretWithAlnum, { minLength: 1, maxLength: 3 }),
      (text, secrets) => redactEchoes(text, secrets) === text
    ),
    { seed: SEED, numRuns: 1000 }
  )
  t.pass('1300 random texts')
})

void t.test('examples', async (t) => {
  const secret = 'S3cr3t "pa/ss" é+'
  t.equal(redactEchoes(`Invalid password '${secret}' for user`, [secret]), `Invalid password '${MARKER}' for user`)
  t.equal(redactEchoes(`{"detail":"${json(json(secret))}"}`, [secret]), `{"detail":"${MARKER}"}`)
  t.equal(
    redactEchoes(`Authorization: Basic ${Buffer.from(`admin:${secret}`).toString('base64')}`, [secret]).includes(
      Buffer.from(secret).toString('base64').slice(0, 8)
    ),
    false
  )
  t.equal(
    redactEchoes(`value "${secret.slice(0, 10)}..." too long`, [secret]),
    `value "${MARKER}..." too long`,
    'cut short'
  )
  t.equal(
    redactEchoes('one abcde two abcd three', ['abcde']),
    `one ${MARKER} two abcd three`,
    'a short secret only whole'
  )
  t.equal(redactEchoes('ab cd', ['ab', '']), 'ab cd', 'values under 3 characters are not treated as secrets')
  t.equal(
    redactEchoes('x hunter2hunter2 y', ['hunter2', 'hunter2hunter2']),
    `x ${MARKER} y`,
    'overlapping secrets: one marker'
  )
  t.equal(redactEchoes('d]xx', ['d]x']), MARKER, 'a form rebuilt out of the marker and the text beside it is taken too')
})

void t.test('a pathological text costs time linear in its length (finishes; no timing asserted)', async (t) => {
  t.equal(redactEchoes('a'.repeat(200_000), ['a'.repeat(2_000)]), MARKER)
  t.equal(redactEchoes(`${'ab'.repeat(100_000)}c`, ['abababababab']), `${MARKER}c`)
})
