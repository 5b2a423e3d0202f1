import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { eventually } from '../../shared/testing/eventually.ts'
import { runOffice, storedCharacters } from '../testing/officeWorkload.ts'
import { startServer } from '../testing/startServer.ts'

describe('an office behind one address', () => {
  test('100 editors on one address, typing with a cursor update per keystroke, default limits: no disconnects, every character stored', async () => {
    const server = await startServer()
    try {
      const result = await runOffice({
        url: server.url,
        httpUrl: server.httpUrl,
        editors: 100,
        documents: 20,
        charsPerSecond: 5,
        durationMs: 8_000,
        prefix: 'office',
      })
      assert.deepEqual([...result.closeCodes], [])
      assert.equal(result.disconnects, 0)
      assert.equal(result.gaveUp, 0)
      // How much was typed depends on how busy the machine is; that every document got some does not.
      assert.equal(result.typedByDocument.size, 20)
      for (const [room, typed] of result.typedByDocument) {
        await eventually(async () => {
          const stored = storedCharacters(await server.server.store.loadUpdates(`${server.tenant}/${room}`))
          assert.equal(stored, typed, `${room}: ${stored} of ${typed} characters stored`)
        })
      }
    } finally {
      await server.dispose()
    }
  })
})
