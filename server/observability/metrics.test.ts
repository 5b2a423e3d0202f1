import assert from 'node:assert/strict'
import { test } from 'node:test'
import { eventually } from '../../shared/testing/eventually.ts'
import { connectGateClient } from '../testing/gateClients.ts'
import { startServer } from '../testing/startServer.ts'

const sample = (text: string, name: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'))
  return line ? Number(line.split(' ').at(-1)) : NaN
}

test('/metrics: connections, rooms, updates and violations by rule, durable latency, event-loop lag; optional token', async () => {
  const server = await startServer({ metricsToken: 'scrape-me' })
  let editor: Awaited<ReturnType<typeof connectGateClient>> | undefined
  try {
    const scrape = async () => {
      const response = await fetch(`${server.httpUrl}/metrics`, { headers: { authorization: 'Bearer scrape-me' } })
      assert.equal(response.status, 200)
      return response.text()
    }
    assert.equal((await fetch(`${server.httpUrl}/metrics`)).status, 401)
    editor = await connectGateClient(server, 'proposal/m-1')
    const client = editor
    client.map('meta').set('title', 'ok')
    client.map('meta').set('status', 'won') // status-transition
    await eventually(() => assert.equal(client.notices.length, 1))
    await eventually(async () => {
      const text = await scrape()
      assert.equal(sample(text, 'collab_connections'), 1)
      assert.equal(sample(text, 'collab_rooms_loaded'), 1)
      assert.equal(sample(text, 'collab_updates_total{outcome="accepted"}'), 1)
      assert.equal(sample(text, 'collab_updates_total{outcome="rejected"}'), 1)
      assert.equal(sample(text, 'collab_rule_violations_total{rule="status-transition",outcome="reject"}'), 1)
      assert.ok(sample(text, 'collab_update_durable_seconds_count') >= 2, 'one durable-latency sample per update')
      // The two updates may share one group-commit write: at least one write, not one per update.
      assert.ok(sample(text, 'collab_store_write_seconds_count') >= 1, 'store writes counted')
      assert.match(text, /nodejs_eventloop_lag_seconds/)
    })
  } finally {
    editor?.destroy()
    await server.dispose()
  }
})
