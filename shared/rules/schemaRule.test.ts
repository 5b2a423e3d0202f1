import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { schemaRule } from './schemaRule.ts'
import { contextFor, edit, remove, set, verdicts, type ChangeSpec } from './testing/contexts.ts'
import type { DocumentType } from '../documentName.ts'

const evaluate = (docType: DocumentType, changes: ChangeSpec[], before = {}) =>
  schemaRule.evaluate(contextFor(docType, 'admin', before, changes))

describe('schema rule', () => {
  it('accepts valid writes to every kind of root of every document type', () => {
    assert.deepEqual(
      evaluate('proposal', [
        set('meta.title', 'Fleet renewal'),
        set('meta.status', 'draft'),
        set('meta.currency', 'EUR'),
        set('meta.dueDate', '2025-12-31'),
        set('financial.value', 125000),
        set('team.u-7', 'editor'),
        set('approvals.u-9', { decision: 'approved', role: 'manager', at: '2025-11-01T10:00:00Z' }),
        edit('body'),
      ]),
      [],
    )
    assert.deepEqual(evaluate('customer', [set('fields.name', 'Acme'), set('fields.email', 'a@acme.io'), edit('notes')]), [])
    assert.deepEqual(evaluate('content', [set('meta.legal', true), set('meta.locale', 'en-US'), edit('body')]), [])
  })

  it('editedAt: keys are field paths of the document type (records and unknown fields have no time), values finite times ≥ 0', () => {
    assert.deepEqual(evaluate('proposal', [set('editedAt.meta.dueDate', 1_764_000_000_000), set('editedAt.financial.value', 0)]), [])
    assert.deepEqual(evaluate('customer', [set('editedAt.fields.email', 5)]), [])
    assert.deepEqual(
      verdicts(
        evaluate('proposal', [
          set('editedAt.meta.colour', 5),
          set('editedAt.team.u-7', 5),
          set('editedAt.fields.email', 5),
          set('editedAt.meta.status', -1),
          set('editedAt.meta.currency', Number.POSITIVE_INFINITY),
          set('editedAt.meta.title', '2026-01-01'),
        ]),
      ),
      [
        ['schema', 'reject', 'editedAt.meta.colour'],
        ['schema', 'reject', 'editedAt.team.u-7'],
        ['schema', 'reject', 'editedAt.fields.email'],
        ['schema', 'reject', 'editedAt.meta.status'],
        ['schema', 'reject', 'editedAt.meta.currency'],
        ['schema', 'reject', 'editedAt.meta.title'],
      ],
    )
  })

  it('rejects an unknown field of a fields root, naming it and the known fields', () => {
    const [violation, ...rest] = evaluate('proposal', [set('meta.colour', 'red')])
    assert.deepEqual(rest, [])
    assert.deepEqual(violation && verdicts([violation]), [['schema', 'reject', 'meta.colour']])
    assert.match(violation?.message ?? '', /meta\.colour is not a field of meta \(known: title, status/)
  })

  it('does not treat prototype keys as fields', () => {
    assert.deepEqual(verdicts(evaluate('proposal', [set('meta.constructor', 'x'), set('meta.__proto__', 'x')])), [
      ['schema', 'reject', 'meta.constructor'],
      ['schema', 'reject', 'meta.__proto__'],
    ])
  })

  it("rejects a value that fails its field's schema, with zod's message", () => {
    const violations = evaluate('proposal', [
      set('financial.value', 'lots'),
      set('meta.title', 'x'.repeat(201)),
      set('meta.status', 'archived'),
      set('meta.currency', 'euro'),
    ])
    assert.deepEqual(verdicts(violations), [
      ['schema', 'reject', 'financial.value'],
      ['schema', 'reject', 'meta.title'],
      ['schema', 'reject', 'meta.status'],
      ['schema', 'reject', 'meta.currency'],
    ])
    assert.match(violations[0]?.message ?? '', /^financial\.value: .*expected number/)
    assert.match(violations[1]?.message ?? '', /^meta\.title: Too big/)
    assert.match(violations[3]?.message ?? '', /ISO 4217 currency code/)
  })

  it('checks record values against the value schema, naming the inner field', () => {
    const violations = evaluate('proposal', [
      set('team.u-1', 'owner'),
      set('approvals.u-2', { decision: 'approved', at: '2025-11-01' }),
      set('approvals.u-3', { decision: 'approved', role: 'editor', at: '2025-11-01' }),
    ])
    assert.deepEqual(verdicts(violations), [
      ['schema', 'reject', 'team.u-1'],
      ['schema', 'reject', 'approvals.u-2'],
    ])
    assert.match(violations[1]?.message ?? '', /^approvals\.u-2: role: /)
  })

  it('rejects record keys that are empty or longer than 128 characters', () => {
    const long = 'u'.repeat(129)
    const changes = [set('team.', 'editor'), set(`team.${long}`, 'editor'), set(`team.${'u'.repeat(128)}`, 'editor')]
    assert.deepEqual(verdicts(evaluate('proposal', changes)), [
      ['schema', 'reject', 'team.'],
      ['schema', 'reject', `team.${long}`],
    ])
  })

  it('rejects a change to a root the document type does not have, whatever the action', () => {
    const violations = evaluate('customer', [set('financial.value', 1), remove('meta.title'), edit('body')], {
      financial: { value: 1 },
      meta: { title: 't' },
    })
    assert.deepEqual(verdicts(violations), [
      ['schema', 'reject', 'financial.value'],
      ['schema', 'reject', 'meta.title'],
      ['schema', 'reject', 'body'],
    ])
    assert.match(violations[0]?.message ?? '', /"financial" is not a root of a customer document/)
  })

  it('rejects a change whose shape does not fit its root', () => {
    assert.deepEqual(verdicts(evaluate('proposal', [edit('meta'), set('body.x', 1)])), [
      ['schema', 'reject', 'meta'],
      ['schema', 'reject', 'body.x'],
    ])
  })

  it('does not judge deletes, even of unknown fields', () => {
    assert.deepEqual(evaluate('proposal', [remove('meta.title'), remove('meta.colour')], { meta: { title: 't', colour: 'red' } }), [])
  })

  it('checks every write, also re-setting an invalid value', () => {
    assert.deepEqual(verdicts(evaluate('proposal', [set('meta.currency', 'euro')], { meta: { currency: 'euro' } })), [
      ['schema', 'reject', 'meta.currency'],
    ])
  })
})
