import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, test } from 'node:test'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { proposalModel, readTextField } from '../shared/documentModel.ts'
import { ErrorCode } from '../shared/errors.ts'
import { eventually, nextEvent } from '../shared/testing/eventually.ts'
import { fetchDevToken } from '../shared/testing/devTokens.ts'
import { tempDir } from '../shared/testing/tempDir.ts'
import { spawnServer } from '../shared/testing/serverProcess.ts'
import { startServer, type TestServer } from '../server/testing/startServer.ts'
import type { CloseInfo, ConnectionStatus } from './connection.ts'
import type { DocumentHandle } from './documentHandle.ts'
import { openDocument, type NodeOpenDocumentOptions } from './node.ts'
import { openDocumentOn } from './openDocument.ts'
import { readCountedMessage, type WebSocketClass } from './outgoingMessages.ts'
import { startClosingServer } from './testing/closingServer.ts'

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

/** A getToken for the (dev-mode) server at `url`: a real token from its /dev/token, fetched per attempt. */
const devTokens = (url: string) => () => fetchDevToken(url.replace(/^ws/, 'http'))

/** What a stock y-websocket client sees of a proposal on the server. */
const readFromServer = async (server: TestServer, id: string) => {
  const stock = await server.connect(`proposal/${id}`)
  try {
    await stock.whenSynced()
    const model = proposalModel(stock.doc)
    // Either form: a (re)started server moves a legacy title into its text root when it loads it.
    return { title: readTextField(stock.doc, 'proposal', 'title'), body: model.body.toString() }
  } finally {
    stock.destroy()
  }
}

describe('openDocument (Node)', () => {
  const cleanup = new Cleanup()
  afterEach(() => cleanup.run())

  const open = (id: string, options: NodeOpenDocumentOptions) =>
    cleanup.add(openDocument('proposal', id, { maxBackoffMs: 100, getToken: devTokens(options.url), ...options }), (handle) => handle.destroy())

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
    bob.model.meta.set('currency', 'EUR') // an editor's financial change would be held for review
    alice.model.body.insert(0, [paragraph('Dear customer,')])
    await eventually(() => {
      assert.equal(bob.model.meta.get('title'), 'Fleet renewal')
      assert.equal(alice.model.meta.get('currency'), 'EUR')
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
    assert.ok((handle.durableStateVector?.get(handle.doc.clientID) ?? 0) >= edited.get(handle.doc.clientID)!, '(handle.durableStateVector?.get(handle.doc.clientID) ?? 0) >= edited.get(hand...')

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
    assert.deepEqual(await readFromServer(server, 'saved'), {
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
    assert.deepEqual(await readFromServer(server, 'offline'), {
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
    assert.deepEqual(await readFromServer(server, 'child'), {
      title: 'From the child',
      body: '<paragraph>Child paragraph</paragraph>',
    })
  })

  test('closed carries the close code and error code: 1009 for a too-big edit (terminal), 1001 ERR_SHUTTING_DOWN on shutdown', async () => {
    const server = cleanup.add(await startServer({ maxPayloadBytes: 1024 }), (s) => s.dispose())
    const big = open('too-big', { url: server.url })
    await big.whenSynced()
    const closed = nextEvent<[CloseInfo]>(big, 'closed')
    big.model.meta.set('title', 'x'.repeat(4096))
    const [tooBig] = await closed
    assert.equal(tooBig.code, 1009)
    assert.equal(tooBig.errorCode, ErrorCode.MessageTooBig)
    assert.equal(tooBig.willReconnect, false, 'a reconnect would resend the same too-big state')
    assert.equal(big.status, 'offline')
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
    assert.equal(info.willReconnect, true)
    await eventually(() => assert.equal(small.status, 'offline'))
  })

  test('after 1009, 4400, 4422 and 4403 the handle stays offline until connect(); after 1001 and 4401 it reconnects', async () => {
    const reasons = new Map<number, string>([
      [1009, ''], // `ws` closes a too-big frame without a reason
      [4400, 'ERR_MALFORMED_MESSAGE: not a y-protocols message'],
      [4422, 'ERR_MALFORMED_UPDATE: update failed the structural check'],
      [4403, 'ERR_FORBIDDEN: no access to this document'],
      [1001, 'ERR_SHUTTING_DOWN: server shutdown'],
      [4401, 'ERR_TOKEN_EXPIRED: token expired'],
    ])
    const codeOf = (path: string) => Number(path.split('-').at(-1))
    // Only the first connection to each document is closed: a second one means the client reconnected.
    const server = cleanup.add(
      await startClosingServer((path, connection) => (connection === 1 ? { code: codeOf(path), reason: reasons.get(codeOf(path)) ?? '' } : null)),
      (s) => s.close(),
    )
    const opened = [...reasons.keys()].map((code) => {
      let tokens = 0
      const handle = open(`close-${code}`, { url: server.url, getToken: () => `t${++tokens}` })
      return { code, handle, log: record(handle), closed: nextEvent<[CloseInfo]>(handle, 'closed') }
    })
    const terminal = opened.filter(({ code }) => [1009, 4400, 4422, 4403].includes(code))
    const retryable = opened.filter(({ code }) => [1001, 4401].includes(code))

    for (const { code, handle, closed } of opened) {
      const [info] = await closed
      const willReconnect = retryable.some((entry) => entry.handle === handle)
      assert.deepEqual(
        { code: info.code, reason: info.reason, willReconnect: info.willReconnect },
        { code, reason: reasons.get(code), willReconnect },
      )
      assert.equal(info.errorCode, code === 1009 ? ErrorCode.MessageTooBig : /^(ERR_[A-Z_]+)/.exec(reasons.get(code)!)![1])
      if (!willReconnect) assert.equal(handle.status, 'offline', `${code}: offline as soon as it is closed`)
    }
    for (const { code, handle } of retryable) {
      await eventually(() => assert.equal(handle.status, 'synced', `${code} reconnects`))
      const urls = server.connections(`/proposal/close-${code}`)
      assert.equal(urls.length, 2)
      assert.deepEqual(server.subprotocols(`/proposal/close-${code}`), ['posalpro-collab,bearer.t1', 'posalpro-collab,bearer.t2'], 'a fresh token for the new attempt')
    }
    // A reconnect would have come within one backoff (maxBackoffMs 100), as it did for 1001 and
    // 4401 above; give the terminal ones several times that to make sure none comes.
    await new Promise((resolve) => setTimeout(resolve, 500))
    for (const { code, log } of terminal) {
      assert.equal(server.connections(`/proposal/close-${code}`).length, 1, `${code}: no reconnect on its own`)
      assert.equal(log.statuses.at(-1), 'offline')
      assert.ok(!log.statuses.slice(log.statuses.indexOf('syncing')).includes('connecting'), `${code}: ${log.statuses.join(' → ')}`)
    }
    // connect() is the way back.
    const forbidden = terminal.find(({ code }) => code === 4403)!
    forbidden.handle.connect()
    await eventually(() => assert.equal(forbidden.handle.status, 'synced'))
    assert.equal(server.connections('/proposal/close-4403').length, 2)
  })

  test('edits are not held back for acks: edits made together go out at once, each in its own message', async () => {
    const server = cleanup.add(await startServer(), (s) => s.dispose())
    const sent: string[] = []
    class RecordingWebSocket extends WebSocket {
      override send(data: Uint8Array): void {
        const message = readCountedMessage(data)
        if (message) sent.push(message.kind)
        super.send(data)
      }
    }
    const handle = cleanup.add(
      openDocumentOn({ WebSocket: RecordingWebSocket as unknown as WebSocketClass, openLocalStore: () => null }, 'proposal', 'not-held', {
        url: server.url,
        getToken: devTokens(server.url),
        maxBackoffMs: 100,
      }),
      (h) => h.destroy(),
    )
    await handle.whenSynced()
    await handle.whenSaved()
    sent.length = 0
    const text = new Y.XmlText('abc')
    handle.model.body.insert(0, [text])
    text.delete(0, 1)
    handle.model.meta.set('title', 'three messages')
    assert.deepEqual(sent, ['update', 'update', 'update'], 'all three are on the socket before any ack could arrive')
    assert.equal(handle.saved, false)
    await handle.whenSaved()
    assert.deepEqual(await readFromServer(server, 'not-held'), { title: 'three messages', body: 'bc' })
  })

  test('getToken is called before every connection attempt, and each socket carries its token in Sec-WebSocket-Protocol, not in the URL', async () => {
    let server = cleanup.add(await startServer(), (s) => s.dispose())
    const urls: string[] = []
    const offered: Array<string | string[] | undefined> = []
    const answered: string[] = []
    class RecordingWebSocket extends WebSocket {
      constructor(address: string | URL, protocols?: string | string[]) {
        urls.push(String(address))
        offered.push(protocols)
        super(address, protocols)
        this.once('open', () => answered.push(this.protocol))
      }
    }
    /** Every token getToken returned, in order (a different one each time: the name claim differs). */
    const issued: string[] = []
    const httpUrl = server.httpUrl // the restarted server keeps the port and the data dir (its dev secret)
    const handle = cleanup.add(
      openDocumentOn({ WebSocket: RecordingWebSocket as unknown as WebSocketClass, openLocalStore: () => null }, 'proposal', 'token', {
        url: server.url,
        getToken: async () => {
          // Throws while the server restarts: that attempt fails and is retried.
          const token = await fetchDevToken(httpUrl, { name: `attempt ${issued.length + 1}` })
          issued.push(token)
          return token
        },
        maxBackoffMs: 100,
      }),
      (h) => h.destroy(),
    )
    await handle.whenSynced()
    assert.equal(issued.length, 1)
    assert.deepEqual(urls, [`${server.url}/proposal/token?ext=1`])
    assert.deepEqual(offered, [['posalpro-collab', `bearer.${issued[0]}`]])
    // The server accepted the token from there and answered without echoing it.
    assert.deepEqual(answered, ['posalpro-collab'])

    server = cleanup.add(await server.restart(), (s) => s.stop())
    await eventually(() => {
      assert.ok(issued.length >= 2, 'reconnected')
      assert.equal(handle.status, 'synced')
    })
    assert.equal(new Set(issued).size, issued.length, 'a fresh token each time')
    assert.equal(urls.length, issued.length, 'one token per attempt')
    assert.ok(urls.every((url) => url === `${server.url}/proposal/token?ext=1`), urls.join(' '))
    assert.deepEqual(offered, issued.map((token) => ['posalpro-collab', `bearer.${token}`]))
  })

  test('the server never sees the token in a URL: its refusal of a bad token logs the URL without one, and no log line holds a token', async () => {
    const dir = cleanup.add(await tempDir('posalpro-token-'), (d) => d.remove())
    const server = cleanup.add(await spawnServer({ dataDir: dir.path }), (s) => s.stop())
    const good = await server.token()
    // The same token with its signature changed: a credential-shaped string the server refuses.
    const forged = `${good.slice(0, -4)}${good.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`
    const issued: string[] = []
    const handle = open('no-url-token', {
      url: server.url,
      getToken: () => {
        issued.push(issued.length === 0 ? forged : good)
        return issued.at(-1)!
      },
    })
    await handle.whenSynced()
    const refusals = server.logs
      .filter((line) => line.includes('refused upgrade'))
      .map((line) => JSON.parse(line) as { url: string; code: string })
    assert.deepEqual(refusals.map(({ url, code }) => ({ url, code })), [{ url: '/proposal/no-url-token?ext=1', code: ErrorCode.TokenInvalid }])
    for (const token of [forged, good]) assert.equal(server.logs.some((line) => line.includes(token)), false)
  })

  test('a platform network signal: offline drops the socket at once and makes no attempt; online reconnects without waiting out the backoff', async () => {
    const server = cleanup.add(await startServer(), (s) => s.dispose())
    let online = true
    const listeners = new Set<(online: boolean) => void>()
    const setOnline = (value: boolean) => {
      online = value
      for (const listener of listeners) listener(value)
    }
    let attempts = 0
    class CountingAttempts extends WebSocket {
      constructor(address: string | URL, protocols?: string | string[]) {
        attempts += 1
        super(address, protocols)
      }
    }
    const handle = cleanup.add(
      openDocumentOn(
        {
          WebSocket: CountingAttempts as unknown as WebSocketClass,
          openLocalStore: () => null,
          network: { online: () => online, subscribe: (listener) => (listeners.add(listener), () => listeners.delete(listener)) },
        },
        'proposal',
        'network',
        // A backoff far longer than the test: only the online event can explain a quick reconnect.
        { url: server.url, getToken: devTokens(server.url), maxBackoffMs: 600_000 },
      ),
      (h) => h.destroy(),
    )
    await handle.whenSynced()
    assert.equal(attempts, 1)

    setOnline(false)
    assert.equal(handle.status, 'offline', 'at once, not after a timeout')
    await eventually(() => assert.equal(server.server.peers.size, 0))
    handle.model.meta.set('title', 'made offline')
    assert.equal(handle.saved, false)
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.equal(attempts, 1, 'no attempt while offline')

    setOnline(true)
    await handle.whenSaved()
    assert.equal(handle.status, 'synced')
    assert.equal(attempts, 2)
    assert.equal((await readFromServer(server, 'network')).title, 'made offline')
    assert.equal(listeners.size, 1)
    await handle.destroy()
    assert.equal(listeners.size, 0, 'destroy unsubscribes')
  })

  test('typing right after reconnecting, before the handshake, does not overtake the offline edits (no 4503 resync, no room reload)', async () => {
    const server = cleanup.add(await startServer(), (s) => s.dispose())
    const handle = open('typing-on-reconnect', { url: server.url })
    await handle.whenSynced()
    const text = new Y.XmlText('Offline ')
    handle.model.body.insert(0, [text])
    await handle.whenSaved()
    handle.disconnect()
    // Offline edits: the server has not seen them.
    text.insert(text.length, 'edit one, ')
    text.insert(text.length, 'edit two, ')
    const closes: CloseInfo[] = []
    handle.on('closed', (info) => closes.push(info))
    // The socket is open, the server's sync step 1 not yet answered: a live edit now depends on the
    // offline ones, which only the sync step 2 will carry.
    let typed = false
    handle.on('status', (status) => {
      if (status !== 'syncing' || typed) return
      typed = true
      text.insert(text.length, 'typed at once.')
    })
    handle.connect()
    await handle.whenSaved()
    assert.deepEqual(closes, [], 'no resync was needed')
    assert.equal((await readFromServer(server, 'typing-on-reconnect')).body, 'Offline edit one, edit two, typed at once.')
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
    await assert.rejects(synced, { code: ErrorCode.HandleDestroyed })
    await assert.rejects(saved, { code: ErrorCode.HandleDestroyed })
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
