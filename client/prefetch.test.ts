import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { fetchDevToken } from '../shared/testing/devTokens.ts'
import { tempDir } from '../shared/testing/tempDir.ts'
import { startServer } from '../server/testing/startServer.ts'
import { openDocument, prefetch } from './node.ts'

describe('prefetch (travel mode)', () => {
  test('brings documents into the local store; they open with their content after the server is gone; a bad target is reported, the rest go on', async () => {
    const server = await startServer()
    const local = await tempDir('posalpro-prefetch-')
    try {
      const writers = []
      for (const [room, title] of [
        ['proposal/trip-1', 'Fleet renewal'],
        ['proposal/trip-2', 'Office chairs'],
        ['content/terms', 'Standard terms'],
      ] as const) {
        const writer = await server.connect(room)
        await writer.whenSynced()
        writer.doc.getMap('meta').set('title', title)
        writers.push(writer)
      }
      const progress: number[] = []
      const results = await prefetch(
        [
          { type: 'proposal', id: 'trip-1' },
          { type: 'proposal', id: 'not/valid' },
          'proposal/trip-2',
          { type: 'content', id: 'terms' },
          'invoice/x',
        ],
        { url: server.url, getToken: () => fetchDevToken(server.httpUrl), offline: { directory: local.path }, maxBackoffMs: 100 },
        { concurrency: 2, onProgress: (done) => progress.push(done) },
      )
      for (const writer of writers) writer.destroy()
      assert.deepEqual(progress, [1, 2, 3, 4, 5])
      const byName = new Map(results.map((result) => [result.name, result]))
      assert.equal(byName.get('proposal/trip-1')?.ok, true)
      assert.equal(byName.get('proposal/trip-2')?.ok, true)
      assert.equal(byName.get('content/terms')?.ok, true)
      const bad = byName.get('proposal/not/valid')
      assert.equal(bad?.ok, false)
      assert.equal((bad?.error as { code?: string } | undefined)?.code, 'ERR_BAD_DOCUMENT_NAME')
      const unknownType = byName.get('invoice/x')
      assert.equal(unknownType?.ok, false)
      assert.equal((unknownType?.error as { code?: string } | undefined)?.code, 'ERR_UNKNOWN_DOCUMENT_TYPE')

      await server.dispose() // the trip: no server
      for (const [type, id, title] of [
        ['proposal', 'trip-1', 'Fleet renewal'],
        ['proposal', 'trip-2', 'Office chairs'],
        ['content', 'terms', 'Standard terms'],
      ] as const) {
        const handle = openDocument(type, id, { url: server.url, offline: { directory: local.path }, connect: false })
        await handle.whenLoaded()
        assert.equal(handle.doc.getMap('meta').get('title'), title, `${type}/${id}`)
        await handle.destroy()
      }
    } finally {
      await server.dispose()
      await local.remove()
    }
  })
})
