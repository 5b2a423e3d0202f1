import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as Y from 'yjs'
import { MAX_JSON_NESTING, sharedToJSON, TOO_DEEP_MARKER } from './sharedTypeJson.ts'

describe('sharedToJSON', () => {
  test('reads as Yjs toJSON does: maps, arrays, texts, rich text, plain values, key order', () => {
    const doc = new Y.Doc()
    const meta = doc.getMap<unknown>('meta')
    doc.transact(() => {
      meta.set('title', 'Plain')
      meta.set('count', 3)
      meta.set('object', { a: [1, { b: null }], c: 'x' })
      const nested = new Y.Map<unknown>()
      nested.set('z', 1)
      nested.set('a', new Y.Array<unknown>())
      meta.set('nested', nested)
      ;(nested.get('a') as Y.Array<unknown>).push(['one', new Y.Text('two')])
      const element = new Y.XmlElement('p')
      element.insert(0, [new Y.XmlText('rich')])
      meta.set('element', element)
      meta.set('text', new Y.XmlText('xml text'))
    })
    assert.deepEqual(sharedToJSON(meta), meta.toJSON())
    assert.deepEqual(Object.keys(sharedToJSON(meta) as object), Object.keys(meta.toJSON()))
  })

  test(`maps nested 5,000 deep: no recursion; below ${MAX_JSON_NESTING} levels a marker`, () => {
    const doc = new Y.Doc()
    doc.transact(() => {
      let map = doc.getMap<unknown>('meta')
      for (let level = 0; level < 5_000; level++) {
        const inner = new Y.Map<unknown>()
        map.set('inner', inner)
        map = inner
      }
    })
    assert.throws(() => doc.getMap('meta').toJSON(), RangeError)
    let json = sharedToJSON(doc.getMap('meta')) as { inner: unknown }
    let depth = 0
    while (typeof json.inner === 'object') {
      json = json.inner as { inner: unknown }
      depth++
    }
    assert.equal(depth, MAX_JSON_NESTING - 1)
    assert.equal(json.inner, TOO_DEEP_MARKER)
  })
})
