import { readTextField } from '../shared/documentModel.ts'
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as Y from 'yjs'
import { startServer } from '../server/testing/startServer.ts'
import type { DocumentType } from '../shared/documentName.ts'
import { fetchDevToken } from '../shared/testing/devTokens.ts'
import { tempDir } from '../shared/testing/tempDir.ts'
import { openDocument } from './node.ts'
import { SyncQueue } from './syncQueue.ts'
import { UnsavedLedger, trackUnsaved, type LedgerStorage } from './unsavedLedger.ts'

const memoryStorage = (): LedgerStorage => {
  let value: string | null = null
  return { read: () => value, write: (next) => void (value = next) }
}

describe('background sync queue', () => {
  test('documents edited offline and never reopened are uploaded; the ledger counts them until then; a viewer\'s are refused and stay counted', async () => {
    const server = await startServer()
    const local = await tempDir('posalpro-sync-queue-')
    try {
      const ledger = new UnsavedLedger(memoryStorage())
      const offline = { url: server.url, offline: { directory: local.path }, connect: false } as const
      // Offline: two proposals written and closed, as the app does when a document is left unsent.
      for (const [id, title] of [
        ['q-1', 'Fleet renewal'],
        ['q-2', 'Office chairs'],
      ] as const) {
        const handle = openDocument('proposal', id, offline)
        const untrack = trackUnsaved(handle, ledger)
        await handle.whenLoaded()
        handle.model.meta.set('title', title)
        handle.model.meta.set('status', 'draft')
        const paragraph = new Y.XmlElement('paragraph')
        paragraph.insert(0, [new Y.XmlText(`${title} text`)])
        handle.model.body.insert(0, [paragraph])
        untrack()
        await handle.destroy()
      }
      assert.deepEqual(Object.fromEntries(ledger.entries()), { 'proposal/q-1': { changes: 3 }, 'proposal/q-2': { changes: 3 } })
      assert.equal(ledger.totalChanges(), 6)

      // Reopened offline and edited once more: the count goes on from what the ledger knew.
      const again = openDocument('proposal', 'q-1', offline)
      const untrack = trackUnsaved(again, ledger)
      await again.whenLoaded()
      again.model.meta.set('title', 'Fleet renewal 2027')
      untrack()
      await again.destroy()
      assert.equal(ledger.get('proposal/q-1')?.changes, 4)

      // A viewer's local change: the server refuses it, the queue says so and keeps it counted.
      const viewerDir = await tempDir('posalpro-sync-queue-viewer-')
      try {
        const viewerLedger = new UnsavedLedger(memoryStorage())
        const forced = openDocument('proposal', 'q-1', { url: server.url, offline: { directory: viewerDir.path }, connect: false })
        const untrackViewer = trackUnsaved(forced, viewerLedger)
        await forced.whenLoaded()
        forced.model.meta.set('title', 'Forced by a viewer')
        untrackViewer()
        await forced.destroy()
        const viewerToken = await fetchDevToken(server.httpUrl, { user: 'vera', role: 'viewer' })
        const viewerQueue = new SyncQueue({
          open: (type: DocumentType, id: string) => openDocument(type, id, { url: server.url, token: viewerToken, offline: { directory: viewerDir.path }, maxBackoffMs: 100 }),
          ledger: viewerLedger,
        })
        const refused = await viewerQueue.run()
        assert.deepEqual(
          refused.map(({ name, outcome }) => ({ name, outcome })),
          [{ name: 'proposal/q-1', outcome: 'refused' }],
        )
        assert.match(viewerLedger.get('proposal/q-1')?.refused ?? '', /read-only/)
        assert.equal(viewerLedger.totalChanges(), 1)
        // Not retried within the same round.
        assert.deepEqual(await viewerQueue.run(), [])
      } finally {
        await viewerDir.remove()
      }

      // Online: the queue uploads both without anyone opening them; the open one is left to its editor.
      const token = await fetchDevToken(server.httpUrl)
      const queue = new SyncQueue({
        open: (type: DocumentType, id: string) => openDocument(type, id, { url: server.url, token, offline: { directory: local.path }, maxBackoffMs: 100 }),
        ledger,
        concurrency: 2,
        isOpenElsewhere: (name) => name === 'proposal/q-2',
      })
      assert.deepEqual(
        (await queue.run()).map(({ name, outcome }) => ({ name, outcome })),
        [{ name: 'proposal/q-1', outcome: 'uploaded' }],
      )
      assert.deepEqual([...ledger.entries().keys()], ['proposal/q-2'])
      const results = await new SyncQueue({
        open: (type: DocumentType, id: string) => openDocument(type, id, { url: server.url, token, offline: { directory: local.path }, maxBackoffMs: 100 }),
        ledger,
      }).run()
      assert.deepEqual(results.map(({ outcome }) => outcome), ['uploaded'])
      assert.equal(ledger.totalChanges(), 0)

      // The server has them: a client with no local copy reads them.
      for (const [room, title, text] of [
        ['proposal/q-1', 'Fleet renewal 2027', 'Fleet renewal text'],
        ['proposal/q-2', 'Office chairs', 'Office chairs text'],
      ] as const) {
        const reader = await server.connect(room)
        await reader.whenSynced()
        // A title written to the legacy `meta.title` key is moved into its text root by the server
        // (when it loads the document, or in the step that stores it): read it in either form.
        assert.equal(readTextField(reader.doc, 'proposal', 'title'), title, room)
        assert.match(reader.doc.getXmlFragment('body').toString(), new RegExp(text))
        reader.destroy()
      }
    } finally {
      await server.dispose()
      await local.remove()
    }
  })

  test('the ledger reads only well-formed entries from what is stored, whatever was stored', () => {
    for (const stored of ['not json', 'null', '42', '[1,2]', '"text"']) {
      const ledger = new UnsavedLedger({ read: () => stored, write: () => {} })
      assert.deepEqual([...ledger.entries()], [], stored)
      assert.equal(ledger.totalChanges(), 0)
    }
    const mixed = JSON.stringify({
      'proposal/a': { changes: 2 },
      'proposal/b': { changes: -1 },
      'proposal/c': { changes: 'many' },
      'proposal/d': null,
      'proposal/e': { changes: 1, refused: 'read-only' },
      'proposal/f': { changes: Number.NaN },
    })
    const ledger = new UnsavedLedger({ read: () => mixed, write: () => {} })
    assert.deepEqual(Object.fromEntries(ledger.entries()), { 'proposal/a': { changes: 2 }, 'proposal/e': { changes: 1, refused: 'read-only' } })
    assert.equal(ledger.totalChanges(), 3)
  })
})
