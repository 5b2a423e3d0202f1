import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, test } from 'node:test'
import * as Y from 'yjs'
import { ErrorCode } from '../shared/errors.ts'
import { tempDir } from '../shared/testing/tempDir.ts'
import { openLeveldbLocalStore } from './leveldbLocalStore.ts'
import { describeLocalStoreContract } from './testing/localStoreContract.ts'

describeLocalStoreContract('LevelDB', async () => {
  const dir = await tempDir('posalpro-client-store-')
  return { open: () => openLeveldbLocalStore(path.join(dir.path, 'nested', 'store')), dispose: () => dir.remove() }
})

describe('LevelDB local store', () => {
  test('a directory that cannot be opened is reported: loaded rejects with ERR_PERSISTENCE_FAILED', async () => {
    const dir = await tempDir('posalpro-client-store-')
    try {
      const notADirectory = path.join(dir.path, 'file')
      await writeFile(notADirectory, 'not a database')
      const store = openLeveldbLocalStore(notADirectory)
      const doc = new Y.Doc()
      const errors: Error[] = []
      const local = store.attach('proposal/p-1', doc, { onError: (error) => errors.push(error) })
      await assert.rejects(local.loaded, { code: ErrorCode.PersistenceFailed })
      // A write cannot succeed either: flush says so instead of resolving.
      doc.getMap('meta').set('title', 'lost?')
      await assert.rejects(local.flush(), { code: ErrorCode.PersistenceFailed })
      assert.ok(errors.length >= 1, 'errors.length >= 1')
      await assert.rejects(local.destroy(), { code: ErrorCode.PersistenceFailed })
      await store.close().catch(() => {})
    } finally {
      await dir.remove()
    }
  })

  test('stores on the same directory share one database (LevelDB locks it) and it reopens after the last close', async () => {
    const dir = await tempDir('posalpro-client-store-')
    try {
      const one = openLeveldbLocalStore(dir.path)
      const two = openLeveldbLocalStore(`${dir.path}/`)
      const a = new Y.Doc()
      const b = new Y.Doc()
      const localA = one.attach('proposal/a', a, { onError: assert.fail })
      const localB = two.attach('proposal/b', b, { onError: assert.fail })
      await Promise.all([localA.loaded, localB.loaded])
      a.getMap('meta').set('title', 'A')
      b.getMap('meta').set('title', 'B')
      await Promise.all([localA.destroy(), localB.destroy()])
      // Close one and open again at once: the new holder joins the open database.
      const closing = one.close()
      const three = openLeveldbLocalStore(dir.path)
      await closing
      await two.close()
      // The last holder closes; a fourth store opened meanwhile waits for that close.
      const closingLast = three.close()
      const four = openLeveldbLocalStore(dir.path)
      const again = new Y.Doc()
      const local = four.attach('proposal/b', again, { onError: assert.fail })
      await local.loaded
      await closingLast
      assert.equal(again.getMap('meta').get('title'), 'B')
      await local.destroy()
      await four.close()
    } finally {
      await dir.remove()
    }
  })
})
