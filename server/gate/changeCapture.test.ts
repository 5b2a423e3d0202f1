import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as Y from 'yjs'
import { applyCapturingChanges } from './changeCapture.ts'
import { capturedUpdate } from '../testing/capturedUpdate.ts'

/** A proposal with `paragraphs` paragraphs in its body and a title, as server and client replicas. */
const replicas = (paragraphs: number) => {
  const client = new Y.Doc()
  client.transact(() => {
    const body = client.getXmlFragment('body')
    for (let i = 0; i < paragraphs; i++) {
      const paragraph = new Y.XmlElement('paragraph')
      paragraph.insert(0, [new Y.XmlText(`paragraph ${i}`)])
      body.insert(body.length, [paragraph])
    }
    client.getMap('meta').set('title', 'first')
  })
  const server = new Y.Doc()
  Y.applyUpdate(server, Y.encodeStateAsUpdate(client))
  return { client, server }
}

const textOf = (doc: Y.Doc, index: number): Y.XmlText => (doc.getXmlFragment('body').get(index) as Y.XmlElement).get(0) as Y.XmlText

const capture = (server: Y.Doc, update: Uint8Array, roots: readonly string[]) =>
  applyCapturingChanges(server, 'proposal', update, {}, new Set(roots)).changes.map(({ path, action }) => `${action} ${path}`)

describe('applyCapturingChanges: the rich-text root', () => {
  test('a keystroke deep in the last of many paragraphs is one edit of the body', () => {
    const { client, server } = replicas(500)
    const update = capturedUpdate(client, () => textOf(client, 499).insert(3, 'x'))
    assert.deepEqual(capture(server, update, []), ['edit body'])
    assert.equal(textOf(server, 499).toString(), 'parxagraph 499', 'the update was applied')
  })

  test('a deletion alone, a formatting change alone and a new paragraph each edit the body', () => {
    const { client, server } = replicas(3)
    const deletion = capturedUpdate(client, () => textOf(client, 1).delete(0, 4))
    assert.deepEqual(capture(server, deletion, []), ['edit body'])
    const bold = capturedUpdate(client, () => textOf(client, 2).format(0, 4, { bold: true }))
    assert.deepEqual(capture(server, bold, []), ['edit body'])
    const paragraph = capturedUpdate(client, () => client.getXmlFragment('body').insert(0, [new Y.XmlElement('paragraph')]))
    assert.deepEqual(capture(server, paragraph, ['body']), ['edit body'])
    const removed = capturedUpdate(client, () => client.getXmlFragment('body').delete(1, 1))
    assert.deepEqual(capture(server, removed, []), ['edit body'])
  })

  test('a change to another root does not edit the body; the map change is captured with its old value', () => {
    const { client, server } = replicas(3)
    const update = capturedUpdate(client, () => client.getMap('meta').set('title', 'second'))
    const captured = applyCapturingChanges(server, 'proposal', update, {}, new Set(['meta']))
    assert.deepEqual(
      captured.changes.map(({ path, action, oldValue, newValue }) => ({ path, action, oldValue, newValue })),
      [{ path: 'meta.title', action: 'update', oldValue: 'first', newValue: 'second' }],
    )
  })

  test('a map change and a body edit in one update: both, the map first', () => {
    const { client, server } = replicas(3)
    const update = capturedUpdate(client, () => {
      textOf(client, 0).insert(0, 'A ')
      client.getMap('meta').set('title', 'both')
    })
    assert.deepEqual(capture(server, update, ['meta']), ['update meta.title', 'edit body'])
  })

  test('an update that changes nothing new captures nothing, and the capture stops with the call', () => {
    const { client, server } = replicas(3)
    const known = capturedUpdate(client, () => textOf(client, 0).insert(0, 'once '))
    Y.applyUpdate(server, known)
    assert.deepEqual(capture(server, known, []), [])
    // A later transaction of any origin is not captured by a finished call.
    const origin = {}
    const captured = applyCapturingChanges(server, 'proposal', capturedUpdate(client, () => textOf(client, 1).insert(0, 'x')), origin, new Set())
    const count = captured.changes.length
    Y.applyUpdate(server, capturedUpdate(client, () => textOf(client, 2).insert(0, 'y')), origin)
    assert.equal(captured.changes.length, count, 'no change recorded after the call returned')
  })
})

describe('applyCapturingChanges: a plain-text root', () => {
  const titled = (title: string) => {
    const client = new Y.Doc()
    client.getText('title').insert(0, title)
    const server = new Y.Doc()
    Y.applyUpdate(server, Y.encodeStateAsUpdate(client))
    return { client, server }
  }
  const titleChange = (server: Y.Doc, update: Uint8Array) =>
    applyCapturingChanges(server, 'proposal', update, {}, new Set()).changes.filter((change) => change.path === 'title').map(({ oldValue, newValue }) => ({ oldValue, newValue }))

  test('the text before and after: an insert, a deletion, a replacement, an insert and delete within one update', () => {
    const { client, server } = titled('Annual offer')
    const cases: Array<[() => void, string, string]> = [
      [() => client.getText('title').insert(7, 'service '), 'Annual offer', 'Annual service offer'],
      [() => client.getText('title').delete(0, 7), 'Annual service offer', 'service offer'],
      [
        () => {
          client.getText('title').delete(0, 7)
          client.getText('title').insert(0, 'Support')
        },
        'service offer',
        'Support offer',
      ],
      [
        () => {
          client.getText('title').insert(7, 'draft ')
          client.getText('title').delete(7, 3)
          client.getText('title').delete(0, 1)
        },
        'Support offer',
        'upportft  offer',
      ],
    ]
    for (const [change, before, after] of cases) {
      assert.deepEqual(titleChange(server, capturedUpdate(client, change)), [{ oldValue: before, newValue: after }], `${before} → ${after}`)
      assert.equal(server.getText('title').toString(), after)
    }
  })

  test('an update that does not touch the title reports no title change', () => {
    const { client, server } = titled('Kept')
    const paragraph = capturedUpdate(client, () => client.getXmlFragment('body').insert(0, [new Y.XmlElement('paragraph')]))
    assert.deepEqual(titleChange(server, paragraph), [])
  })
})
