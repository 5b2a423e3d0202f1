import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, test } from 'node:test'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { proposalModel } from '../shared/documentModel.ts'
import { ErrorCode } from '../shared/errors.ts'
import { eventually, nextEvent } from '../shared/testing/eventually.ts'
import { connectStockClient } from '../shared/testing/stockClient.ts'
import { tempDir } from '../shared/testing/tempDir.ts'
import { startServer, type TestServer } from '../server/testing/startServer.ts'
import { ClientErrorCode } from './clientErrors.ts'
import type { CloseInfo, ConnectionStatus } from './connection.ts'
import type { DocumentHandle } from './documentHandle.ts'
import { openDocument, type NodeOpenDocumentOptions } from './node.ts'
import { openDocumentOn } from './openDocument.ts'
import type { WebSocketClass } from './sendGate.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Everything a test opened, released in reverse order whatever happens. */
class Cleanup {
  private readonly steps: Array<() => Promise<unknown> | unknown> = []
  add<T>(value: T, release: (value: T) => Promise<unknown> | unknown): T {
    this.steps.push(() => release(value))
    return value
  }
  async run(): Promise<void> {
    for (const step of this.steps.reverse()) await Promise.resolve(step()).catch(() => {})
    this.steps.length = 0
  }
}

/** Records a handle's statuses (starting with the current one) and saved transitions. */
const record = (handle: DocumentHandle) => {
  const statuses: ConnectionStatus[] = [handle.status]
  const saved: boolean[] = []
  handle.on('status', (status) => statuses.push(status))
  handle.on('saved', (value) => saved.push(value))
  return { statuses, saved }
}

const paragraph = (text: string): Y.XmlElement => {
  const element = new Y.XmlElement('paragraph')
  element.insert(0, [new Y.XmlText(text)])
  return element
}

/** A URL where no server listens (yet): a server is started and stopped to reserve its port. */
const unreachableServer = async (dataDir: string): Promise<{ url: string; port: number }> => {
  const probe = await startServer({ dataDir })
  const port = probe.server.port
  await probe.stop()
  return { url: probe.url, port }
}

/** What a stock y-websocket client sees of a proposal on the server. */
const readFromServer = async (url: string, id: string) => {
  const stock = connectStockClient(url, `proposal/${id}`)
  try {
    await stock.whenSynced()
    const model = proposalModel(stock.doc)
    return { title: model.meta.get('title'), body: model.body.toString() }
  } finally {
    stock.destroy()
  }
}

describe('openDocument (Node)', () => {
  const cleanup = new Cleanup()
  afterEach(() => cleanup.run())

  const open = (id: string, options: NodeOpenDocumentOptions) =>
    cleanup.add(openDocument('proposal', id, { maxBackoffMs: 100, ...options }), (handle) => handle.destroy())

  test('two clients co-edit a proposal and converge; status goes connecting → syncing → synced', async () => {
    const server = cleanup.add(await startServer(), (s) => s.dispose())
    const local = cleanup.add(await tempDir('posalpro-client-'), (dir) => dir.remove())
    const alice = open('co-edit', { url: server.url, offline: { directory: local.path } })
    const bob = open('co-edit', { url: server.url })
    const aliceLog = record(alice)
    const bobLog = record(bob)
    assert.equal(alice.name, 'proposal/co-edit')
    assert.equal(alice.model.type, 'proposal')
    await Promise.all([alice.whenSynced(), bob.whenSynced()])
    assert.deepEqual(aliceLog.statuses, ['connecting', 'syncing', 'synced'])
    assert.deepEqual(bobLog.statuses, ['connecting', 'syncing', 'synced'])

    alice.model.meta.set('title', 'Fleet renewal')
    bob.model.financial.set('value', 125_000)
    alice.model.body.insert(0, [paragraph('Dear customer,')])
    await eventually(() => {
      assert.equal(bob.model.meta.get('title'), 'Fleet renewal')
      assert.equal(alice.model.financial.get('value'), 125_000)
      assert.equal(bob.model.body.toString(), '<paragraph>Dear customer,</paragraph>')
    })
    // Concurrent edits of the same text converge, deletions included.
    const textOf = (handle: DocumentHandle<'proposal'>) => (handle.model.body.get(0) as Y.XmlElement).get(0) as Y.XmlText
    textOf(alice).insert(0, 'A: ')
    textOf(bob).insert(14, ' B')
    textOf(bob).delete(0, 4) // "Dear", concurrently with Alice's insert before it
    await eventually(() => {
      assert.equal(alice.model.body.toString(), bob.model.body.toString())
      assert.deepEqual(Y.encodeStateVector(alice.doc), Y.encodeStateVector(bob.doc))
    })
    assert.equal(alice.model.body.toString(), '<paragraph>A:  customer, B</paragraph>')
    await Promise.all([alice.whenSaved(), bob.whenSaved()])
  })

  test('saved turns true after an edit only once the server acknowledged it, and then the edit is on the server’s disk', async () => {
    let server: TestServer = cleanup.add(await startServer(), (s) => s.dispose())
    const handle = open('saved', { url: server.url })
    const log = record(handle)
    await handle.whenSynced()
    await handle.whenSaved()
    log.saved.length = 0

    handle.model.meta.set('title', 'Saved for real')
    const clock = Y.encodeStateVector(handle.doc)
    assert.equal(handle.saved, false, 'unsaved as soon as the edit is made')
    assert.deepEqual(log.saved, [false])
    await handle.whenSaved()
    assert.deepEqual(log.saved, [false, true])
    // The ack that made it saved covers the edit.
    const edited = Y.decodeStateVector(clock)
    assert.ok((handle.durableStateVector?.get(handle.doc.clientID) ?? 0) >= edited.get(handle.doc.clientID)!)

    // A deletion moves no state vector; it is still only saved once acknowledged.
    handle.model.meta.delete('title')
    assert.equal(handle.saved, false)
    await handle.whenSaved()

    // While the edit cannot reach the server, saved stays false.
    handle.disconnect()
    await eventually(() => assert.equal(handle.status, 'offline'))
    handle.model.meta.set('title', 'Written while disconnected')
    handle.model.body.insert(0, [paragraph('Offline paragraph')])
    assert.equal(handle.saved, false)
    handle.connect()
    await handle.whenSaved()
    assert.equal(handle.status, 'synced')

    // Stop the server, start a new one on the same data dir: a stock client sees the edits.
    const dataDir = server.dataDir
    await handle.destroy()
    await server.stop()
    server = cleanup.add(await startServer({ dataDir }), (s) => s.stop())
    assert.deepEqual(await readFromServer(server.url, 'saved'), {
      title: 'Written while disconnected',
      body: '<paragraph>Offline paragraph</paragraph>',
    })
  })

  test('edits made while the server was never reachable survive a restart in the local LevelDB, then reach the server', async () => {
    const dataDir = cleanup.add(await tempDir('posalpro-server-'), (dir) => dir.remove())
    const local = cleanup.add(await tempDir('posalpro-client-'), (dir) => dir.remove())
    const { url, port } = await unreachableServer(dataDir.path)

    const first = open('offline', { url, offline: { directory: local.path } })
    await first.whenLoaded()
    await eventually(() => assert.equal(first.status, 'offline'), { timeoutMs: 5_000 })
    first.model.meta.set('title', 'Written offline')
    first.model.body.insert(0, [paragraph('First draft')])
    first.model.body.delete(0, 1)
    first.model.body.insert(0, [paragraph('Second draft')])
    assert.equal(first.saved, false)
    await first.destroy()

    // The process restarts: a new handle on the same directory, still without a server.
    const second = open('offline', { url, offline: { directory: local.path } })
    await second.whenLoaded()
    assert.equal(second.model.meta.get('title'), 'Written offline')
    assert.equal(second.model.body.toString(), '<paragraph>Second draft</paragraph>')
    assert.equal(second.saved, false, 'loaded state counts as local until the server acknowledges it')
    await eventually(() => assert.equal(second.status, 'offline'), { timeoutMs: 5_000 })
    const log = record(second)

    const server = cleanup.add(await startServer({ dataDir: dataDir.path, port }), (s) => s.stop())
    await second.whenSynced()
    await second.whenSaved()
    assert.equal(log.statuses.at(-1), 'synced')
    assert.ok(!log.statuses.includes('connecting'), `an unreachable server shows offline, then syncing: ${log.statuses.join(' → ')}`)
    assert.deepEqual(await readFromServer(server.url, 'offline'), {
      title: 'Written offline',
      body: '<paragraph>Second draft</paragraph>',
    })
  })

  test('a real process restart: a child process edits offline and exits; the edit loads here and reaches the server', async () => {
    const dataDir = cleanup.add(await tempDir('posalpro-server-'), (dir) => dir.remove())
    const local = cleanup.add(await tempDir('posalpro-client-'), (dir) => dir.remove())
    const { url, port } = await unreachableServer(dataDir.path)

    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'client/testing/editOffline.ts'), local.path, url, 'child', 'From the child', 'Child paragraph'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
    const exitCode = await new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')))
    assert.equal(exitCode, 0, output)
    const before = JSON.parse(output.trim().split('\n').at(-1)!) as { status: string; saved: boolean }
    assert.equal(before.saved, false)

    const handle = open('child', { url, offline: { directory: local.path } })
    await handle.whenLoaded()
    assert.equal(handle.model.meta.get('title'), 'From the child')
    assert.equal(handle.model.body.toString(), '<paragraph>Child paragraph</paragraph>')

    const server = cleanup.add(await startServer({ dataDir: dataDir.path, port }), (s) => s.stop())
    await handle.whenSaved()
    assert.deepEqual(await readFromServer(server.url, 'child'), {
      title: 'From the child',
      body: '<paragraph>Child paragraph</paragraph>',
    })
  })

  test('closed carries the close code and error code: 1009 for a too-big edit, 1001 ERR_SHUTTING_DOWN on shutdown', async () => {
    const server = cleanup.add(await startServer({ maxPayloadBytes: 1024 }), (s) => s.dispose())
    const big = open('too-big', { url: server.url })
    await big.whenSynced()
    const closed = nextEvent<[CloseInfo]>(big, 'closed')
    big.model.meta.set('title', 'x'.repeat(4096))
    const [tooBig] = await closed
    assert.equal(tooBig.code, 1009)
    assert.equal(tooBig.errorCode, ErrorCode.MessageTooBig)
    assert.equal(tooBig.willReconnect, true)
    assert.equal(big.saved, false)
    await big.destroy()

    const small = open('shutdown', { url: server.url })
    await small.whenSynced()
    const shutdown = nextEvent<[CloseInfo]>(small, 'closed')
    await server.stop()
    const [info] = await shutdown
    assert.equal(info.code, 1001)
    assert.equal(info.errorCode, ErrorCode.ShuttingDown)
    assert.match(info.reason, /^ERR_SHUTTING_DOWN: /)
    await eventually(() => assert.equal(small.status, 'offline'))
  })

  test('getToken is called before every connection attempt, and each socket URL carries its token', async () => {
    let server = cleanup.add(await startServer(), (s) => s.dispose())
    const urls: string[] = []
    class RecordingWebSocket extends WebSocket {
      constructor(address: string | URL, protocols?: string | string[]) {
        urls.push(String(address))
        super(address, protocols)
      }
    }
    let calls = 0
    const handle = cleanup.add(
      openDocumentOn({ WebSocket: RecordingWebSocket as unknown as WebSocketClass, openLocalStore: () => null }, 'proposal', 'token', {
        url: server.url,
        getToken: async () => `token-${++calls}`,
        maxBackoffMs: 100,
      }),
      (h) => h.destroy(),
    )
    await handle.whenSynced()
    assert.equal(calls, 1)
    assert.deepEqual(urls, [`${server.url}/proposal/token?ext=1&token=token-1`])

    server = cleanup.add(await server.restart(), (s) => s.stop())
    await eventually(() => {
      assert.ok(calls >= 2, 'reconnected')
      assert.equal(handle.status, 'synced')
    })
    assert.equal(urls.length, calls, 'one token per attempt')
    urls.forEach((url, index) => assert.ok(url.endsWith(`token=token-${index + 1}`), url))
  })

  test('destroy releases everything; waiting promises reject with ERR_HANDLE_DESTROYED', async () => {
    const dataDir = cleanup.add(await tempDir('posalpro-server-'), (dir) => dir.remove())
    const local = cleanup.add(await tempDir('posalpro-client-'), (dir) => dir.remove())
    const { url } = await unreachableServer(dataDir.path)
    const handle = openDocument('proposal', 'destroyed', { url, offline: { directory: local.path }, connect: false })
    assert.equal(handle.status, 'offline')
    await handle.whenLoaded()
    handle.model.meta.set('title', 'kept')
    const synced = handle.whenSynced()
    const saved = handle.whenSaved()
    await handle.destroy()
    await assert.rejects(synced, { code: ClientErrorCode.HandleDestroyed })
    await assert.rejects(saved, { code: ClientErrorCode.HandleDestroyed })
    assert.equal(handle.status, 'offline')
    // The directory is free again, and the edit is in it.
    const reopened = openDocument('proposal', 'destroyed', { url, offline: { directory: local.path }, connect: false })
    await reopened.whenLoaded()
    assert.equal(reopened.model.meta.get('title'), 'kept')
    await reopened.destroy()
  })

  test('an invalid document id is refused at once', () => {
    assert.throws(() => openDocument('proposal', 'no/slashes', { url: 'ws://127.0.0.1:1' }), { code: ErrorCode.BadDocumentName })
  })
})
