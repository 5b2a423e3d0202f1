import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as Y from 'yjs'
import { documentDigest, sameBytes } from '../../shared/documentDigest.ts'
import { DIGEST_COST_FACTOR, MIN_DIGEST_INTERVAL_MS, digestOf } from './digestCache.ts'

test("the server's digest is kept until the document changes, then made afresh no sooner than its cost allows", () => {
  const doc = new Y.Doc()
  doc.getText('title').insert(0, 'one')
  const first = digestOf(doc, 0)
  assert.ok(first && sameBytes(first, documentDigest(doc)), 'made at once the first time')
  assert.equal(digestOf(doc, 10), first, 'unchanged: the same digest, at any time')

  doc.getText('title').insert(3, ' two')
  assert.equal(digestOf(doc, MIN_DIGEST_INTERVAL_MS - 1), null, 'changed within the interval: not yet')
  const second = digestOf(doc, MIN_DIGEST_INTERVAL_MS)
  assert.ok(second && sameBytes(second, documentDigest(doc)), 'after it: the changed document')

  // A digest that took 200 ms (a clock that says so) waits twenty times that before the next.
  let tick = 0
  const slowClock = () => (tick += 200)
  doc.getText('title').insert(0, '0 ')
  assert.ok(digestOf(doc, 10_000, slowClock), 'made')
  doc.getText('title').insert(0, '-')
  assert.equal(digestOf(doc, 10_000 + 200 * DIGEST_COST_FACTOR - 1, slowClock), null, 'within twenty times its cost')
  assert.ok(digestOf(doc, 10_000 + 200 * DIGEST_COST_FACTOR, slowClock), 'then again')
})
