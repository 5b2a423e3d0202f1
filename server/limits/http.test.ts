import assert from 'node:assert/strict'
import net from 'node:net'
import { describe, test } from 'node:test'
import WebSocket from 'ws'
import { ErrorCode } from '../../shared/errors.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { startServer } from '../testing/startServer.ts'

interface StalledSocket {
  readonly socket: net.Socket
  /** Everything the server wrote before it closed the socket. */
  answer: string
  closed: boolean
}

/** A TCP connection that sends the start of an upgrade request and then nothing more. */
const stall = (port: number, path: string): Promise<StalledSocket> =>
  new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    const stalled: StalledSocket = { socket, answer: '', closed: false }
    socket.on('data', (chunk: Buffer) => (stalled.answer += chunk.toString('latin1')))
    socket.on('close', () => (stalled.closed = true))
    socket.on('error', () => undefined) // an evicted socket may be reset; it counts as closed
    socket.once('connect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Ver`)
      resolve(stalled)
    })
    socket.once('error', reject)
  })

/** The status line and JSON body of a refused upgrade, however the client offered the token. */
const refusal = (url: string, protocols?: string[]): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocols)
    socket.on('unexpected-response', (_request, response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
    })
    socket.on('open', () => reject(new Error('the upgrade was accepted')))
    socket.on('error', (error) => reject(error))
  })

describe('HTTP hardening', () => {
  test('hundreds of stalled half-sent upgrades from one address: capped, cut after the header timeout; /healthz and an authenticated connect still get in', async () => {
    const server = await startServer({ maxUnauthenticatedPerAddress: 50, headersTimeoutMs: 1_000 })
    const stalled: StalledSocket[] = []
    try {
      for (let i = 0; i < 300; i++) stalled.push(await stall(server.server.port, '/proposal/p-stall'))
      // The server keeps at most the cap of them open: the oldest make way for newer ones.
      await eventually(() => {
        const open = stalled.filter((s) => !s.closed).length
        assert.ok(open <= 50, `${open} stalled sockets still open`)
      })
      const health = await fetch(`${server.httpUrl}/healthz`)
      assert.equal(health.status, 200)
      const peer = await server.raw('/proposal/p-stall')
      assert.equal(peer.socket.readyState, peer.socket.OPEN)
      // The rest are cut by the header timeout, with an answer a person can read.
      await eventually(() => assert.equal(stalled.filter((s) => !s.closed).length, 0))
      const timedOut = stalled.filter((s) => s.answer.startsWith('HTTP/1.1 408'))
      assert.ok(timedOut.length > 0, 'no stalled request was answered 408')
      const body = JSON.parse(timedOut[0]!.answer.slice(timedOut[0]!.answer.indexOf('\r\n\r\n') + 4)) as { error: { code: string } }
      assert.equal(body.error.code, ErrorCode.RequestTimeout)
      // The authenticated connection is not an unauthenticated socket: neither cap nor timeout cut it.
      assert.equal(peer.socket.readyState, peer.socket.OPEN)
      peer.close()
    } finally {
      for (const s of stalled) s.socket.destroy()
      await server.dispose()
    }
  })

  test('a 100 KB token gets a JSON 431, not a reset: in the URL and in Sec-WebSocket-Protocol', async () => {
    const server = await startServer()
    try {
      const token = 'e'.repeat(100_000)
      for (const answer of [
        await refusal(`${server.url}/proposal/p-big-token?token=${token}`),
        await refusal(`${server.url}/proposal/p-big-token`, ['posalpro-collab', `bearer.${token}`]),
      ]) {
        assert.equal(answer.status, 431)
        const body = JSON.parse(answer.body) as { error: { code: string; message: string } }
        assert.equal(body.error.code, ErrorCode.HeadersTooLarge)
        assert.ok(body.error.message.length > 0, 'body.error.message.length > 0')
      }
      // A plain HTTP request with huge headers gets the same answer.
      const response = await fetch(`${server.httpUrl}/healthz`, { headers: { 'x-junk': token } })
      assert.equal(response.status, 431)
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, ErrorCode.HeadersTooLarge)
    } finally {
      await server.dispose()
    }
  })
})
