import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { describeValue, isNoOp, sameValue } from './changeValues.ts'
import type { FieldChange } from './ruleTypes.ts'

const change = (action: FieldChange['action'], oldValue: unknown, newValue: unknown): FieldChange => ({
  root: 'meta',
  key: 'x',
  path: 'meta.x',
  action,
  oldValue,
  newValue,
})

describe('change values', () => {
  it('compares plain values structurally', () => {
    assert.equal(sameValue({ a: [1, { b: 'c' }] }, { a: [1, { b: 'c' }] }), true)
    assert.equal(sameValue({ a: 1 }, { a: 1, b: undefined }), false)
    assert.equal(sameValue([1, 2], { 0: 1, 1: 2 }), false)
    assert.equal(sameValue(new Date(0), new Date(0)), false)
    assert.equal(sameValue(Number.NaN, Number.NaN), true)
  })

  it('never calls values nested beyond the depth limit equal', () => {
    const deep = (n: number): unknown => (n === 0 ? 1 : [deep(n - 1)])
    assert.equal(sameValue(deep(10), deep(10)), true)
    assert.equal(sameValue(deep(100), deep(100)), false)
  })

  it('isNoOp: an update or add to the value already there', () => {
    assert.equal(isNoOp(change('update', 'a', 'a')), true)
    assert.equal(isNoOp(change('update', 'a', 'b')), false)
    assert.equal(isNoOp(change('add', undefined, 'a')), false)
    assert.equal(isNoOp(change('delete', 'a', undefined)), false)
    assert.equal(isNoOp(change('edit', undefined, undefined)), false)
  })

  it('describeValue renders any value briefly without throwing', () => {
    assert.equal(describeValue('draft'), '"draft"')
    assert.equal(describeValue(10n), '10n')
    assert.equal(describeValue(undefined), 'undefined')
    assert.equal(describeValue('x'.repeat(100)).length, 41)
    assert.equal(describeValue('a\u0000b'), '"a\\u0000b"')
    assert.equal(describeValue(Symbol('a\u0000b')), 'Symbol(a?b)')
  })
})
