import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { spawnServer } from '../../shared/testing/serverProcess.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { startServer } from '../testing/startServer.ts'

describe('HTTP endpoints and process', () => {
  test('/healthz and /readyz answer; unknown routes are 404 with a code', async () => {
    const server = await startServer()
    try {
      const health = await fetch(`${server.httpUrl}/healthz`)
      assert.equal(health.status, 200)
      assert.deepEqual(await health.json(), { status: 'ok' })
      const ready = await fetch(`${server.httpUrl}/readyz`)
      assert.equal(ready.status, 200)
      assert.equal(((await ready.json()) as { status: string }).status, 'ready')
      const missing = await fetch(`${server.httpUrl}/nope`)
      assert.equal(missing.status, 404)
      assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'ERR_NOT_FOUND')
    } finally {
      await server.dispose()
    }
  })

  test('a second server on a locked data directory refuses to start with a clear message', async () => {
    const dir = await tempDir()
    const first = await spawnServer({ dataDir: dir.path })
    try {
      const second = spawnServer({ dataDir: dir.path })
      await assert.rejects(second, /could not start: ERR_DATA_DIR_LOCKED: data directory .* is locked: another server is using it/)
    } finally {
      assert.equal(await first.stop(), 0)
      await dir.remove()
    }
  })

  test('a bad flag exits 2 with the error code', async () => {
    const dir = await tempDir()
    try {
      await assert.rejects(spawnServer({ dataDir: dir.path, args: ['--port', 'x'] }), /ERR_BAD_CONFIG/)
    } finally {
      await dir.remove()
    }
  })
})
