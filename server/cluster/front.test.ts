import assert from 'node:assert/strict'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { after, describe, it } from 'node:test'
import WebSocket, { WebSocketServer } from 'ws'
import * as Y from 'yjs'
import { ErrorCode } from '../../shared/errors.ts'
import { eventually, nextEvent } from '../../shared/testing/eventually.ts'
import { connectStockClient } from '../../shared/testing/stockClient.ts'
import { startServer } from '../testing/startServer.ts'
import { startFront, type Front } from './front.ts'
import { rankNodes } from './rendezvous.ts'

/**
 * A plain node stand-in: real HTTP and WebSocket servers that say which node answered and what
 * they were sent. The front knows nothing of cluster internals, so any HTTP server is a node.
 */
interface StandIn {
  readonly url: string
  readonly name: string
  /** What the last WebSocket connection saw. */
  readonly sockets: WebSocket[]
  healthy: boolean
  stop(): Promise<void>
}

const startStandIn = async (name: string): Promise<StandIn> => {
  const sockets: WebSocket[] = []
  const standIn = { healthy: true } as { healthy: boolean }
  const server = http.createServer((request, response) => {
    if (request.url === '/healthz') {
      response.writeHead(standIn.healthy ? 200 : 503).end()
      return
    }
    if (request.url === '/big') {
      // Half the body, then the process "dies": the client must not take it for a whole answer.
      response.writeHead(200, { 'content-length': '1000' })
      response.write('x'.repeat(500), () => request.socket.destroy())
      return
    }
    let body = ''
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ node: name, path: request.url, forwardedFor: request.headers['x-forwarded-for'], body }))
    })
  })
  const wss = new WebSocketServer({ server })
  wss.on('connection', (socket, request) => {
    sockets.push(socket)
    socket.send(JSON.stringify({ node: name, forwardedFor: request.headers['x-forwarded-for'] }))
    socket.on('message', (data) => {
      const text = data.toString()
      if (text.startsWith('close ')) socket.close(Number(text.slice(6)), 'asked to')
      else socket.send(text)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return Object.assign(standIn, {
    url: `http://127.0.0.1:${port}`,
    name,
    sockets,
    stop: async () => {
      for (const client of wss.clients) client.terminate()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  })
}

const getJson = async (url: string, headers: Record<string, string> = {}) => {
  const response = await fetch(url, { headers })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

const openSocket = async (url: string): Promise<{ socket: WebSocket; hello: { node: string; forwardedFor: string } }> => {
  const socket = new WebSocket(url, { headers: { 'x-forwarded-for': '203.0.113.9' } })
  const [data] = await nextEvent<[WebSocket.RawData]>(socket, 'message')
  return { socket, hello: JSON.parse(data.toString()) as { node: string; forwardedFor: string } }
}

describe('rendezvous ranking', () => {
  const nodes = ['http://a:1', 'http://b:1', 'http://c:1']
  const paths = Array.from({ length: 600 }, (_, i) => `/proposal/p-${i}`)

  it('spreads paths over every node and ranks each path the same way every time', () => {
    const counts = new Map<string, number>()
    for (const path of paths) {
      const first = rankNodes(path, nodes)[0]!
      counts.set(first, (counts.get(first) ?? 0) + 1)
      assert.deepEqual(rankNodes(path, [...nodes].reverse()), rankNodes(path, nodes))
    }
    assert.equal(counts.size, 3)
    for (const count of counts.values()) assert.ok(count > 100, `uneven spread: ${[...counts.values()].join(', ')}`)
  })

  it('moves only the paths of a removed node, each to its next node by rank', () => {
    for (const path of paths) {
      const [first, second] = rankNodes(path, nodes)
      const without = rankNodes(path, nodes.filter((node) => node !== 'http://b:1'))[0]
      assert.equal(without, first === 'http://b:1' ? second : first)
    }
  })
})

describe('the front', () => {
  const cleanups: Array<() => Promise<void>> = []
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })
  const setUp = async (count = 3, options: { maxBufferedBytes?: number } = {}) => {
    const standIns = await Promise.all(Array.from({ length: count }, (_, i) => startStandIn(`node-${i + 1}`)))
    for (const standIn of standIns) cleanups.push(() => standIn.stop())
    const front = await startFront({ nodes: standIns.map((s) => s.url), healthIntervalMs: 60_000, ...options })
    cleanups.push(() => front.close())
    const byUrl = new Map(standIns.map((s) => [s.url, s]))
    const ownerOf = (path: string, skip = 0) => byUrl.get(front.rank(path)[skip]!)!
    return { front, standIns, ownerOf }
  }
  const wsUrl = (front: Front, path: string) => `${front.url.replace('http', 'ws')}${path}`

  it('sends each path to its first node by rank, requests and upgrades alike, with the client address as X-Forwarded-For', async () => {
    const { front, ownerOf } = await setUp()
    const seen = new Set<string>()
    for (let i = 0; i < 12; i++) {
      const path = `/proposal/p-${i}`
      // A client's own X-Forwarded-For is replaced: the nodes trust the first entry.
      const { status, body } = await getJson(`${front.url}${path}?token=t${i}`, { 'x-forwarded-for': '203.0.113.9' })
      assert.equal(status, 200)
      assert.equal(body.node, ownerOf(path).name)
      assert.equal(body.path, `${path}?token=t${i}`)
      assert.equal(body.forwardedFor, '127.0.0.1')
      const { socket, hello } = await openSocket(wsUrl(front, `${path}?token=other`))
      assert.equal(hello.node, ownerOf(path).name, 'the query (a token) does not move a document')
      assert.equal(hello.forwardedFor, '127.0.0.1')
      socket.close()
      seen.add(body.node as string)
    }
    assert.equal(seen.size, 3)
  })

  it('passes request bodies through', async () => {
    const { front } = await setUp(1)
    const response = await fetch(`${front.url}/api/notifications`, { method: 'POST', body: 'hello body' })
    assert.equal(((await response.json()) as { body: string }).body, 'hello body')
  })

  it('skips a node that refuses connections for the next by rank, and a node whose probe fails until it passes again', async () => {
    const { front, standIns, ownerOf } = await setUp()
    const path = '/proposal/refused'
    const owner = ownerOf(path)
    await owner.stop()
    assert.equal((await getJson(`${front.url}${path}`)).body.node, ownerOf(path, 1).name)
    const { socket, hello } = await openSocket(wsUrl(front, path))
    assert.equal(hello.node, ownerOf(path, 1).name)
    socket.close()
    assert.equal(front.health.isUp(owner.url), false)

    const other = '/proposal/unhealthy'
    const sick = ownerOf(other).url === owner.url ? ownerOf(other, 1) : ownerOf(other)
    const expected = front.rank(other).find((node) => node !== owner.url && node !== sick.url)
    sick.healthy = false
    await front.health.probeAll()
    assert.equal((await getJson(`${front.url}${other}`)).body.node, standIns.find((s) => s.url === expected)!.name)
    sick.healthy = true
    await front.health.probeAll()
    assert.equal(front.health.isUp(sick.url), true)
    // The path's own order decides again: the healthy sick node if it ranks first.
    const firstUp = front.rank(other).find((node) => node !== owner.url)
    assert.equal((await getJson(`${front.url}${other}`)).body.node, standIns.find((s) => s.url === firstUp)!.name)
  })

  it(`answers 502 ${ErrorCode.NodeUnreachable} when no node accepts, for requests and upgrades`, async () => {
    const { front, standIns } = await setUp(2)
    for (const standIn of standIns) await standIn.stop()
    const { status, body } = await getJson(`${front.url}/proposal/x`)
    assert.equal(status, 502)
    assert.equal((body.error as { code: string }).code, ErrorCode.NodeUnreachable)
    const socket = new WebSocket(wsUrl(front, '/proposal/x'))
    socket.on('error', () => {})
    const [, response] = await nextEvent<[unknown, http.IncomingMessage]>(socket, 'unexpected-response')
    assert.equal(response.statusCode, 502)
  })

  it(`answers 502 ${ErrorCode.NodeUnreachable} when a node accepts the connection but never answers (a hung process)`, async () => {
    // A real TCP server that takes connections and never writes a byte.
    const held: net.Socket[] = []
    const hung = net.createServer((socket) => void held.push(socket))
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve))
    cleanups.push(async () => {
      for (const socket of held) socket.destroy()
      await new Promise<void>((resolve) => hung.close(() => resolve()))
    })
    const front = await startFront({ nodes: [`http://127.0.0.1:${(hung.address() as AddressInfo).port}`], answerTimeoutMs: 300, healthIntervalMs: 60_000 })
    cleanups.push(() => front.close())
    const response = await fetch(`${front.url}/proposal/x`, { signal: AbortSignal.timeout(10_000) })
    assert.equal(response.status, 502)
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, ErrorCode.NodeUnreachable)
    const socket = new WebSocket(wsUrl(front, '/proposal/x'), { handshakeTimeout: 10_000 })
    socket.on('error', () => {})
    const [, upgrade] = await nextEvent<[unknown, http.IncomingMessage]>(socket, 'unexpected-response', 10_000)
    assert.equal(upgrade.statusCode, 502)
  })

  it('breaks the response when the node dies in the middle of it (never a short answer taken for whole)', async () => {
    const { front } = await setUp(1)
    await assert.rejects(async () => {
      const response = await fetch(`${front.url}/big`)
      await response.text()
    })
  })

  it('passes close codes both ways: the node closing with 4321, the client closing with 4000', async () => {
    const { front, ownerOf } = await setUp()
    const path = '/proposal/closing'
    const first = await openSocket(wsUrl(front, path))
    first.socket.send('close 4321')
    const [code, reason] = await nextEvent<[number, Buffer]>(first.socket, 'close')
    assert.equal(code, 4321)
    assert.equal(reason.toString(), 'asked to')

    const second = await openSocket(wsUrl(front, path))
    const nodeSide = ownerOf(path).sockets.at(-1)!
    const closed = nextEvent<[number, Buffer]>(nodeSide, 'close')
    second.socket.close(4000, 'bye')
    assert.equal((await closed)[0], 4000)
  })

  it('cuts the client when the node is gone (no half-open socket left), as a direct connection would', async () => {
    const { front, ownerOf } = await setUp()
    const path = '/proposal/crash'
    const { socket } = await openSocket(wsUrl(front, path))
    const closed = nextEvent<[number]>(socket, 'close')
    ownerOf(path).sockets.at(-1)!.terminate()
    assert.equal((await closed)[0], 1006)
  })

  it('stops reading a node whose client does not read: bytes held stay within the bound, the rest waits in the node', async () => {
    const limit = 64 * 1024
    const { front, ownerOf } = await setUp(1, { maxBufferedBytes: limit })
    const path = '/proposal/flood'
    // A raw client that completes the handshake and then never reads again.
    const raw = net.connect({ host: '127.0.0.1', port: front.port })
    await nextEvent(raw, 'connect')
    raw.write(
      `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    )
    await nextEvent(raw, 'data')
    raw.pause()
    const nodeSide = await eventually(() => ownerOf(path).sockets.at(-1) ?? assert.fail('no socket yet'))
    const chunk = Buffer.alloc(256 * 1024, 7)
    const flood = setInterval(() => {
      if (nodeSide.bufferedAmount < 64 * 1024 * 1024) nodeSide.send(chunk)
    }, 1)
    try {
      // The node's own send buffer grows: the front stopped taking its bytes.
      await eventually(() => assert.ok(nodeSide.bufferedAmount > 16 * 1024 * 1024, `node buffered ${nodeSide.bufferedAmount}`))
    } finally {
      clearInterval(flood)
      raw.destroy()
    }
    assert.ok(front.peakBufferedBytes() <= limit + 64 * 1024, `the front held ${front.peakBufferedBytes()} bytes`)
  })

  it('carries a stock y-websocket client to a real server, which syncs it with a client connected directly', async () => {
    const server = await startServer()
    cleanups.push(() => server.dispose())
    const front = await startFront({ nodes: [server.httpUrl] })
    cleanups.push(() => front.close())
    const token = await server.token()
    const viaFront = connectStockClient(front.url.replace('http', 'ws'), 'proposal/front-sync', { params: { token } })
    const direct = await server.connect('proposal/front-sync')
    cleanups.push(async () => {
      viaFront.destroy()
      direct.destroy()
    })
    await viaFront.whenSynced()
    viaFront.doc.getMap('meta').set('title', 'through the front')
    direct.doc.getMap('meta').set('status', 'draft')
    await eventually(() => {
      for (const doc of [viaFront.doc, direct.doc]) {
        assert.equal(doc.getMap('meta').get('title'), 'through the front')
        assert.equal(doc.getMap('meta').get('status'), 'draft')
      }
      assert.deepEqual(Y.encodeStateVector(viaFront.doc), Y.encodeStateVector(direct.doc))
    })
  })
})
