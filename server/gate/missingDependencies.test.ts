import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as Y from 'yjs'
import { CloseCode } from '../../shared/closeCodes.ts'
import { ErrorCode } from '../../shared/errors.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { syncUpdateFrame } from '../testing/attackFrames.ts'
import { startServer } from '../testing/startServer.ts'
import { missingDependencies } from './missingDependencies.ts'
import { checkUpdateStructure } from '../protocol/updateGuard.ts'

/** What the write path passes: the dependencies read by the structural walk. */
const walked = (update: Uint8Array) => {
  const check = checkUpdateStructure(update)
  if (!check.ok) throw new Error(check.message)
  return check.dependencies
}

/** Two consecutive edits of one client: the second depends on the first. */
const dependentUpdates = () => {
  const doc = new Y.Doc()
  const text = doc.getXmlFragment('body')
  const sv0 = Y.encodeStateVector(doc)
  text.insert(0, [new Y.XmlText('first')])
  const first = Y.encodeStateAsUpdate(doc, sv0)
  const sv1 = Y.encodeStateVector(doc)
  ;(text.get(0) as Y.XmlText).insert(5, ' second')
  const second = Y.encodeStateAsUpdate(doc, sv1)
  const sv2 = Y.encodeStateVector(doc)
  ;(text.get(0) as Y.XmlText).delete(0, 6)
  const deletion = Y.encodeStateAsUpdate(doc, sv2)
  return { first, second, deletion, doc }
}

describe('missing dependencies', () => {
  test('found before applying: a clock gap, an unknown origin, a deletion of unknown content; none when the doc has them or the update brings them', () => {
    const { first, second, deletion } = dependentUpdates()
    const server = new Y.Doc()
    assert.equal(missingDependencies(server, walked(first)), null)
    assert.match(missingDependencies(server, walked(second)) ?? '', /client \d+ from clock \d+ but has only up to 0/)
    assert.equal(missingDependencies(server, walked(Y.mergeUpdates([first, second]))), null, 'brought along')
    Y.applyUpdate(server, first)
    assert.equal(missingDependencies(server, walked(second)), null)
    assert.notEqual(missingDependencies(server, walked(deletion)), null, 'deletes what the server lacks')
    Y.applyUpdate(server, second)
    assert.equal(missingDependencies(server, walked(deletion)), null)
    // Another client's insert anchored to content the server lacks.
    const other = new Y.Doc()
    Y.applyUpdate(other, Y.mergeUpdates([first, second, deletion]))
    const sv = Y.encodeStateVector(other)
    ;((other.getXmlFragment('body').get(0) as Y.XmlText)).insert(1, 'x')
    const anchored = Y.encodeStateAsUpdate(other, sv)
    assert.equal(missingDependencies(new Y.Doc(), walked(anchored))?.includes('refers to'), true)
  })

  test('an update that depends on one the server never got: only its sender resyncs (4503); the room is not reloaded, others stay', async () => {
    const server = await startServer()
    try {
      const bystander = await server.connect('proposal/deps', { ext: true })
      await bystander.whenSynced()
      bystander.doc.getMap('meta').set('title', 'kept')
      const room = () => server.server.rooms.find(server.tenant, 'proposal/deps')!
      await eventually(() => assert.equal(room().doc.getMap('meta').get('title'), 'kept'))
      const doc = room().doc
      const sender = await server.raw('/proposal/deps')
      const { second } = dependentUpdates()
      sender.send(syncUpdateFrame(second))
      const closed = await sender.closed
      assert.equal(closed.code, CloseCode.ResyncRequired)
      assert.equal(closed.errorCode, ErrorCode.ResyncRequired)
      assert.equal(room().doc, doc, 'the same in-memory doc: no reload from disk')
      assert.equal(room().state, 'ready')
      assert.equal(doc.store.pendingStructs, null, 'nothing of it was applied')
      assert.equal(bystander.provider.wsconnected, true)
      bystander.doc.getMap('meta').set('title', 'still editing')
      await eventually(() => assert.equal(room().doc.getMap('meta').get('title'), 'still editing'))
      bystander.destroy()
    } finally {
      await server.dispose()
    }
  })
})
