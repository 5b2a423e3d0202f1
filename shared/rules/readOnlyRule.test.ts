import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { readOnlyRule } from './readOnlyRule.ts'
import { contextFor, edit, set, verdicts } from './testing/contexts.ts'

describe('read-only rule', () => {
  it('rejects every change by a viewer', () => {
    const violations = readOnlyRule.evaluate(contextFor('proposal', 'viewer', {}, [set('meta.title', 'T'), edit('body')]))
    assert.deepEqual(verdicts(violations), [
      ['read-only', 'reject', 'meta.title'],
      ['read-only', 'reject', 'body'],
    ])
    assert.match(violations[0]?.message ?? '', /viewers cannot change documents/)
  })

  it('rejects a viewer re-setting the value a field already has', () => {
    const context = contextFor('customer', 'viewer', { fields: { name: 'Acme' } }, [set('fields.name', 'Acme')])
    assert.deepEqual(verdicts(readOnlyRule.evaluate(context)), [['read-only', 'reject', 'fields.name']])
  })

  it('accepts changes by editors and above', () => {
    for (const role of ['editor', 'manager', 'admin'] as const) {
      assert.deepEqual(readOnlyRule.evaluate(contextFor('content', role, {}, [set('meta.title', 'T'), edit('body')])), [])
    }
  })
})
