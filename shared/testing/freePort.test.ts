import assert from 'node:assert/strict'
import net from 'node:net'
import { test } from 'node:test'
import { ephemeralPortRange, freePort } from './freePort.ts'

test('a free port is taken outside the range the OS hands out itself, and can be listened on', async () => {
  const { first, last } = ephemeralPortRange()
  const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()))
  for (const port of ports) assert.ok(port < first || port > last, `port ${port} is outside the ephemeral range ${first}–${last}`)
  const server = net.createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(ports[0], '127.0.0.1', () => resolve())
  })
  await new Promise<void>((resolve) => server.close(() => resolve()))
})
