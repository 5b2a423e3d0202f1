import assert from 'node:assert/strict'
import { test } from 'node:test'
import WebSocket from 'ws'
import { eventually } from '../shared/testing/eventually.ts'
import { tempDir } from '../shared/testing/tempDir.ts'
import { openLeveldbLocalStore } from './leveldbLocalStore.ts'
import type { LocalDocument, LocalStore } from './localStore.ts'
import { openDocumentOn } from './openDocument.ts'
import type { WebSocketClass } from './outgoingMessages.ts'

/**
 * The real LevelDB local store, with flushes held until the test lets them through: a disk that is
 * slower than the typist. `storedLocally` is what "N changes kept on this device" may claim.
 */
const slowStore = (directory: string) => {
  const store = openLeveldbLocalStore(directory)
  let release: () => void = () => {}
  let gate = new Promise<void>((resolve) => (release = resolve))
  const wrapped: LocalStore = {
    attach(name, doc, hooks): LocalDocument {
      const inner = store.attach(name, doc, hooks)
      return {
        loaded: inner.loaded,
        flush: async () => {
          await gate
          await inner.flush()
        },
        destroy: () => inner.destroy(),
        discard: () => inner.discard(),
      }
    },
    close: () => store.close(),
  }
  return {
    store: wrapped,
    hold: () => (gate = new Promise<void>((resolve) => (release = resolve))),
    letThrough: () => release(),
  }
}

test('storedLocally turns false with each change and true only once the local store has written it', async () => {
  const local = await tempDir('posalpro-client-')
  // Not connected: the handle works from its local store (a handle releases its store on destroy).
  const open = (store: LocalStore) =>
    openDocumentOn({ WebSocket: WebSocket as unknown as WebSocketClass, openLocalStore: () => store }, 'proposal', 'kept', {
      url: 'ws://127.0.0.1:9',
      connect: false,
    })
  try {
    const slow = slowStore(local.path)
    const handle = open(slow.store)
    await handle.whenLoaded()
    const flips: boolean[] = []
    handle.on('storedLocally', (stored) => flips.push(stored))
    assert.equal(handle.storedLocally, true, 'nothing typed yet')

    handle.model.financial.set('value', 1)
    handle.model.financial.set('value', 2)
    assert.equal(handle.storedLocally, false)
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(handle.storedLocally, false, 'still false while the store has not confirmed the write')

    slow.letThrough()
    await eventually(() => assert.equal(handle.storedLocally, true))
    assert.deepEqual(flips, [false, true], 'one flip each way for a burst of changes')

    // A change after a confirmed flush starts the cycle again.
    slow.hold()
    handle.model.financial.set('value', 3)
    assert.equal(handle.storedLocally, false)
    slow.letThrough()
    await eventually(() => assert.equal(handle.storedLocally, true))
    assert.deepEqual(flips, [false, true, false, true])
    await handle.destroy()

    // What storedLocally claimed is on disk: a new handle on the same directory reads it.
    const again = open(openLeveldbLocalStore(local.path))
    await again.whenLoaded()
    assert.equal(again.model.financial.get('value'), 3)
    await again.destroy()
  } finally {
    await local.remove()
  }
})
