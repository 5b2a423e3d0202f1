import assert from 'node:assert/strict'
import net from 'node:net'
import { test } from 'node:test'
import { ErrorCode } from '../../shared/errors.ts'
import { startServer } from '../testing/startServer.ts'

/** Sends one raw request head and returns everything the server answered before closing. */
const rawRequest = (port: number, head: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head))
    let answer = ''
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('utf8')
      // One answer is all this test needs; the connection may be kept alive after it.
      if (/\r\n\r\n[\s\S]*\}/.test(answer)) socket.end()
    })
    socket.on('close', () => resolve(answer))
    socket.on('error', reject)
  })

test('a request target that is not a URL (absolute-form with a broken host) gets a 400, and the process lives on', async () => {
  const server = await startServer()
  try {
    for (const target of ['http://[', 'http://[::1', 'https://a b/', 'http://%zz/']) {
      const answer = await rawRequest(server.server.port, `GET ${target} HTTP/1.1\r\nHost: localhost\r\n\r\n`)
      assert.match(answer, /^HTTP\/1\.1 400 /, target)
      assert.match(answer, new RegExp(ErrorCode.BadRequest), target)
    }
    // Still serving, and an upgrade with such a target is refused, not crashed on.
    assert.equal((await fetch(`${server.httpUrl}/healthz`)).status, 200)
    const upgrade = await rawRequest(
      server.server.port,
      'GET http://[ HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    )
    assert.match(upgrade, /^HTTP\/1\.1 400 /)
    assert.equal((await fetch(`${server.httpUrl}/healthz`)).status, 200)
  } finally {
    await server.dispose()
  }
})
