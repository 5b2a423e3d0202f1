import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { DocumentType } from '../documentName.ts'
import { evaluateRules } from './index.ts'
import type { FieldChange, RuleContext } from './ruleTypes.ts'
import { actor } from './testing/contexts.ts'

/** The rules over plain-text roots (`title`, `name`, …): an `edit` carrying the text before and after. */

const textEdit = (root: string, oldValue: string, newValue: unknown): FieldChange => ({ root, key: null, path: root, action: 'edit', oldValue, newValue })

const context = (docType: DocumentType, changes: FieldChange[], role: Parameters<typeof actor>[0] = 'editor'): RuleContext => ({
  docType,
  actor: actor(role),
  changes,
  before: { get: () => undefined },
  after: { get: () => undefined },
  customerExists: () => true,
})

const verdicts = (ctx: RuleContext) => evaluateRules(ctx).map((violation) => `${violation.ruleId}:${violation.path}`)

describe('rules over plain-text roots', () => {
  test('schema: up to the maximum length is fine, one more character is refused', () => {
    assert.deepEqual(verdicts(context('proposal', [textEdit('title', '', 'x'.repeat(200))])), [])
    assert.deepEqual(verdicts(context('proposal', [textEdit('title', '', 'x'.repeat(201))])), ['schema:title'])
    assert.deepEqual(verdicts(context('customer', [textEdit('address', '', 'x'.repeat(500)), textEdit('industry', '', 'x'.repeat(101))])), ['schema:industry'])
    assert.deepEqual(verdicts(context('content', [textEdit('category', '', 'x'.repeat(101))])), ['schema:category'])
  })

  test('schema: anything but characters is refused, named in the message', () => {
    const [violation] = evaluateRules(context('content', [textEdit('title', 'Terms', { notPlainText: 'an embed' })]))
    assert.equal(violation?.ruleId, 'schema')
    assert.match(violation!.message, /title is plain text; it cannot hold an embed/)
    // A keyed write to a text root is the wrong kind of change for it.
    const keyed: FieldChange = { root: 'title', key: 'bold', path: 'title.bold', action: 'add', oldValue: undefined, newValue: true }
    assert.deepEqual(verdicts(context('proposal', [keyed])), ['schema:title.bold'])
    // A root of another document type is unknown there.
    assert.deepEqual(verdicts(context('proposal', [textEdit('name', '', 'ACME')])), ['schema:name'])
  })

  test("customer-required: a customer's name text emptied or blank is refused; typing over it is fine", () => {
    assert.deepEqual(verdicts(context('customer', [textEdit('name', 'ACME', '')])), ['customer-required:name'])
    assert.deepEqual(verdicts(context('customer', [textEdit('name', 'ACME', '  \t')])), ['customer-required:name'])
    assert.deepEqual(verdicts(context('customer', [textEdit('name', 'ACME', 'Globex')])), [])
    // Other text fields may be emptied.
    assert.deepEqual(verdicts(context('customer', [textEdit('industry', 'Software', '')])), [])
  })

  test('read-only: a viewer edits no text', () => {
    assert.deepEqual(verdicts(context('proposal', [textEdit('title', 'a', 'ab')], 'viewer')), ['read-only:title'])
  })
})
