import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import WebSocket, { WebSocketServer } from 'ws'
import type { Identity } from '../auth/index.ts'
import { PauseReason, Peer } from '../connection/peer.ts'

test('reading pauses for the write queue and for the inbound budget independently: lifting one does not resume the other', async () => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  await new Promise((resolve) => wss.once('listening', resolve))
  const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', resolve))
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`)
  const socket = await accepted
  await new Promise((resolve) => (client.readyState === client.OPEN ? resolve(null) : client.once('open', resolve)))
  try {
    const identity: Identity = { userId: 'u', name: 'u', tenant: 't', role: 'editor', legal: false, device: null, expiresAt: Date.now() + 60_000 }
    const peer = new Peer(socket, identity, false)
    peer.pauseReading(PauseReason.WriteQueue)
    peer.pauseReading(PauseReason.InboundBudget)
    peer.resumeReading(PauseReason.WriteQueue) // the store caught up …
    assert.equal(socket.isPaused, true) // … but the budget still holds it
    peer.resumeReading(PauseReason.WriteQueue) // a second resume of the same reason changes nothing
    assert.equal(socket.isPaused, true)
    peer.resumeReading(PauseReason.InboundBudget)
    assert.equal(socket.isPaused, false)
    // The room's calls without a reason are the write queue's.
    peer.pauseReading(PauseReason.InboundBudget)
    peer.pauseReading()
    peer.resumeReading(PauseReason.InboundBudget)
    assert.equal(socket.isPaused, true)
    peer.resumeReading()
    assert.equal(socket.isPaused, false)
    peer.dispose()
  } finally {
    const closed = new Promise((resolve) => client.once('close', resolve))
    client.terminate()
    await closed
    wss.close()
  }
})
