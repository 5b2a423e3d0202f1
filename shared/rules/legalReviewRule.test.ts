import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { legalReviewRule } from './legalReviewRule.ts'
import { actor, contextFor, edit, remove, set, verdicts } from './testing/contexts.ts'

const LEGAL = { meta: { legal: true, title: 'Terms' } }
const PLAIN = { meta: { legal: false, title: 'Blog' } }
const lawyer = actor('editor', { legal: true })

describe('legal-review rule', () => {
  it('holds body edits of legal content by users without legal rights for review', () => {
    for (const role of ['editor', 'manager'] as const) {
      const violations = legalReviewRule.evaluate(contextFor('content', role, LEGAL, [edit('body')]))
      assert.deepEqual(verdicts(violations), [['legal-review', 'review', 'body']])
      assert.match(violations[0]?.message ?? '', /legal content/)
    }
  })

  it('accepts body edits by legal users and admins, and of content that is not legal', () => {
    assert.deepEqual(legalReviewRule.evaluate(contextFor('content', lawyer, LEGAL, [edit('body')])), [])
    assert.deepEqual(legalReviewRule.evaluate(contextFor('content', 'admin', LEGAL, [edit('body')])), [])
    assert.deepEqual(legalReviewRule.evaluate(contextFor('content', 'editor', PLAIN, [edit('body')])), [])
    assert.deepEqual(legalReviewRule.evaluate(contextFor('content', 'editor', {}, [edit('body')])), [])
  })

  it('rejects flipping meta.legal by users who are neither legal nor admin', () => {
    const cases = [
      [{}, set('meta.legal', true)],
      [LEGAL, set('meta.legal', false)],
      [LEGAL, remove('meta.legal')],
      [PLAIN, set('meta.legal', true)],
    ] as const
    for (const [before, change] of cases) {
      const violations = legalReviewRule.evaluate(contextFor('content', 'manager', before, [change]))
      assert.deepEqual(verdicts(violations), [['legal-review', 'reject', 'meta.legal']])
      assert.match(violations[0]?.message ?? '', /only legal users or admins/)
    }
  })

  it('lets legal users and admins flip meta.legal', () => {
    assert.deepEqual(legalReviewRule.evaluate(contextFor('content', lawyer, PLAIN, [set('meta.legal', true)])), [])
    assert.deepEqual(legalReviewRule.evaluate(contextFor('content', 'admin', LEGAL, [remove('meta.legal')])), [])
  })

  it('accepts writes of meta.legal that do not change whether the content is legal', () => {
    assert.deepEqual(legalReviewRule.evaluate(contextFor('content', 'editor', {}, [set('meta.legal', false)])), [])
    assert.deepEqual(legalReviewRule.evaluate(contextFor('content', 'editor', PLAIN, [remove('meta.legal')])), [])
  })

  it('judges body edits by the flag before the update', () => {
    const violations = legalReviewRule.evaluate(contextFor('content', 'editor', LEGAL, [set('meta.legal', false), edit('body')]))
    assert.deepEqual(verdicts(violations), [
      ['legal-review', 'reject', 'meta.legal'],
      ['legal-review', 'review', 'body'],
    ])
  })
})
