// The syntax-error locator agrees with JSON.parse, points at the break, and caps nesting.
import t from 'tap'
import {
  findJsonShapeProblem,
  locateJsonSyntaxError,
  MAX_JSON_DEPTH,
  MAX_JSON_MEMBERS,
  MAX_JSON_VALUES
} from '../../src/http/json-syntax-error.js'

void t.test('valid JSON (nested up to the cap) has no problem', async (t) => {
  for (const text of [
    '{}',
    '[]',
    ' 1 ',
    '"a\\u00e9\\n"',
    '{"a":[1,-2.5e+3,true,false,null,{"b":"c"}]}',
    '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH)
  ]) {
    t.equal(locateJsonSyntaxError(text), undefined, text.slice(0, 40))
  }
})

void t.test('each break is located with the field before it', async (t) => {
  t.match(locateJsonSyntaxError('{"a":1,}'), {
    line: 1,
    column: 8,
    after: 'a',
    afterPath: ['a'],
    expected: /another property/
  })
  t.match(locateJsonSyntaxError('{\n "a": {"b": [1, 2 3]}}'), {
    line: 2,
    column: 19,
    after: 'a.b',
    afterPath: ['a', 'b']
  })
  t.match(locateJsonSyntaxError('{"a": "x'), { expected: /not terminated/ })
  t.match(locateJsonSyntaxError('[1] 2'), { expected: /end of the body/ })
  t.match(locateJsonSyntaxError('{"a" "b": 1}'), { expected: /':' after the property name "a"/ })
})

void t.test('nesting past the cap is a break at the first level too deep, however deep the body goes', async (t) => {
  for (const open of ['[', '{"a":']) {
    const problem = locateJsonSyntaxError(open.repeat(500000))
    t.match(
      problem,
      { line: 1, column: open.length * MAX_JSON_DEPTH + 1, expected: `at most ${MAX_JSON_DEPTH} levels of nesting` },
      open
    )
  }
})

void t.test('long property names are shortened in what it says', async (t) => {
  const problem = locateJsonSyntaxError(`{"${'k'.repeat(10000)}":1,]`)
  t.ok(problem !== undefined && problem.after !== null && problem.after.length <= 101)
})

void t.test('the shape check: depth, members and values counted outside strings only', async (t) => {
  t.equal(
    findJsonShapeProblem('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH)),
    undefined,
    'the deepest allowed'
  )
  t.match(findJsonShapeProblem('['.repeat(MAX_JSON_DEPTH + 1)), {
    column: MAX_JSON_DEPTH + 1,
    detail: /deeper than 64/
  })
  t.match(
    findJsonShapeProblem('['.repeat(1000000)),
    { column: MAX_JSON_DEPTH + 1 },
    'stops at the first level too deep'
  )
  t.equal(
    findJsonShapeProblem(`["${'[,'.repeat(100000)}\\"]`),
    undefined,
    'brackets and commas inside strings do not count'
  )
  t.equal(findJsonShapeProblem(`[${Array(MAX_JSON_MEMBERS).fill(1).join(',')}]`), undefined, 'the widest allowed')
  t.match(
    findJsonShapeProblem(
      `[${Array(MAX_JSON_MEMBERS + 1)
        .fill(1)
        .join(',')}]`
    ),
    { detail: /more than 1000 members/ }
  )
  const row = `[${Array(MAX_JSON_MEMBERS).fill(1).join(',')}]`
  t.match(
    findJsonShapeProblem(
      `[${Array(Math.ceil(MAX_JSON_VALUES / MAX_JSON_MEMBERS) + 1)
        .fill(row)
        .join(',')}]`
    ),
    { detail: /more than 10000 values/ }
  )
})
