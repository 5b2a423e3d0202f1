import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { frame } from '../testing/attackFrames.ts'
import { startServer } from '../testing/startServer.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { CloseCode } from '../../shared/closeCodes.ts'
import * as encoding from 'lib0/encoding'

/**
 * A client failing to sync several times in a row is counted without a label per client: raw
 * sockets of one user and device whose every connection the server closes for a failed sync.
 */

const servers: Array<{ dispose(): Promise<void> }> = []
after(async () => {
  for (const server of servers) await server.dispose()
})

/** A message type the server does not speak: closed with 4400, a sync that failed. */
const UNKNOWN_MESSAGE = frame((encoder) => encoding.writeVarUint(encoder, 99))

test('three failed syncs in a row by one client count one streak; a good connection ends it; other clients do not add to it', async () => {
  const server = await startServer()
  servers.push(server)
  const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await fetch(`${server.httpUrl}/metrics`)).text())?.[1])
  const failOnce = async (user: { user: string; device?: string }) => {
    const peer = await server.raw('/proposal/p-fail', user)
    peer.send(UNKNOWN_MESSAGE)
    assert.equal((await peer.closed).code, CloseCode.MalformedMessage)
  }
  assert.equal(await metric('collab_sync_failure_streaks_total'), 0)
  await failOnce({ user: 'dora' })
  await failOnce({ user: 'dora' })
  // Another user's failure is not dora's streak.
  await failOnce({ user: 'emil' })
  assert.equal(await eventually(() => metric('collab_sync_failure_streaks_total')), 0)
  await failOnce({ user: 'dora' })
  await eventually(async () => assert.equal(await metric('collab_sync_failure_streaks_total'), 1))
  assert.equal(await metric('collab_clients_failing_sync'), 1)
  await eventually(async () => assert.match(await (await fetch(`${server.httpUrl}/metrics`)).text(), /^collab_failed_connections_total\{code="4400"\} 4$/m))
  // A fourth failure is the same streak, not a new one.
  await failOnce({ user: 'dora' })
  await eventually(async () => assert.match(await (await fetch(`${server.httpUrl}/metrics`)).text(), /^collab_failed_connections_total\{code="4400"\} 5$/m))
  assert.equal(await metric('collab_sync_failure_streaks_total'), 1)
  // A connection that syncs and leaves normally ends dora's streak.
  const good = await server.connect('proposal/p-fail', { user: 'dora' })
  await good.whenSynced()
  good.destroy()
  await eventually(async () => assert.equal(await metric('collab_clients_failing_sync'), 0))
  // Then it takes three new failures in a row to count again.
  await failOnce({ user: 'dora' })
  await failOnce({ user: 'dora' })
  assert.equal(await metric('collab_sync_failure_streaks_total'), 1)
})
