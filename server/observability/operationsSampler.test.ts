import assert from 'node:assert/strict'
import { test } from 'node:test'
import { eventually } from '../../shared/testing/eventually.ts'
import { startServer } from '../testing/startServer.ts'

interface Operations {
  intervalMs?: number
  conflictTargetPct?: number
  samples?: Array<{ connections: number; updatesPerSecond: number; syncP50Ms: number | null; syncP95Ms: number | null; rejectionPct: number | null; conflictPct: number | null }>
  error?: { code: string }
}

test('GET /api/operations: admins get rates and latency quantiles sampled from the server’s own metrics; other roles 403', async () => {
  const server = await startServer({ opsSampleIntervalMs: 100 })
  const client = await server.connect('proposal/ops', { role: 'manager' })
  try {
    await client.whenSynced()
    const ask = async (role: 'admin' | 'editor') => {
      const response = await fetch(`${server.httpUrl}/api/operations`, { headers: { authorization: `Bearer ${await server.token({ role })}` } })
      return { status: response.status, body: (await response.json()) as Operations }
    }
    const editor = await ask('editor')
    assert.equal(editor.status, 403)
    assert.equal(editor.body.error?.code, 'ERR_ADMIN_ONLY')

    let typed = 0
    await eventually(async () => {
      client.doc.getText('title').insert(0, String(typed++ % 10))
      const { status, body } = await ask('admin')
      assert.equal(status, 200)
      assert.equal(body.intervalMs, 100)
      assert.equal(body.conflictTargetPct, 1)
      const busy = body.samples?.find((sample) => sample.updatesPerSecond > 0)
      assert.ok(busy, 'a sample with updates')
      assert.equal(busy.connections, 1)
      assert.ok(busy.syncP50Ms !== null && busy.syncP50Ms > 0 && busy.syncP95Ms !== null && busy.syncP95Ms >= busy.syncP50Ms, 'sync latency p50 and p95 sampled while busy')
      assert.equal(busy.rejectionPct, 0)
      assert.equal(busy.conflictPct, 0)
    })
  } finally {
    client.destroy()
    await server.dispose()
  }
})
