import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, describe, test } from 'node:test'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { CloseCode } from '../../shared/closeCodes.ts'
import { ErrorCode } from '../../shared/errors.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import type { CloseInfo, RawPeer } from '../../shared/testing/rawPeer.ts'
import type { StockClient } from '../../shared/testing/stockClient.ts'
import { MessageType, SyncStep } from '../protocol/protocol.ts'
import { frame, syncUpdateFrame } from '../testing/attackFrames.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import { adminRequest } from '../testing/adminRequests.ts'
import { DocumentStore } from '../persistence/documentStore.ts'
import { ownerKey } from './clientOwnership.ts'
import type { VerificationReport } from '../admin/documentVerification.ts'
import { readTextField } from '../../shared/documentModel.ts'

const BURNT = 2 ** 40
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/**
 * The attack: one GC struct under `client` from `clock` with `length`, and a delete set of
 * `deletes` ranges of that client. With clock 0, length 2^40 and no deletes, 16 bytes (19 framed).
 */
const gcUpdate = (client: number, clock: number, length: number, deletes: Array<[number, number]> = []): Uint8Array =>
  frame((encoder) => {
    encoding.writeVarUint(encoder, 1) // one client
    encoding.writeVarUint(encoder, 1) // one struct
    encoding.writeVarUint(encoder, client)
    encoding.writeVarUint(encoder, clock)
    encoding.writeUint8(encoder, 0) // GC
    encoding.writeVarUint(encoder, length)
    encoding.writeVarUint(encoder, deletes.length === 0 ? 0 : 1)
    if (deletes.length > 0) {
      encoding.writeVarUint(encoder, client)
      encoding.writeVarUint(encoder, deletes.length)
      for (const [from, len] of deletes) {
        encoding.writeVarUint(encoder, from)
        encoding.writeVarUint(encoder, len)
      }
    }
  })

/**
 * One ContentAny item under `client` at `clock`: in the root map `root` under `key` (none: array-style),
 * or, given `origin` (the field's current item), right after it: how Yjs overwrites a map field.
 */
const itemUpdate = (client: number, clock: number, root: string, key: string | null, value: string, origin?: Y.ID): Uint8Array =>
  frame((encoder) => {
    encoding.writeVarUint(encoder, 1)
    encoding.writeVarUint(encoder, 1)
    encoding.writeVarUint(encoder, client)
    encoding.writeVarUint(encoder, clock)
    if (origin) {
      encoding.writeUint8(encoder, 8 | 0x80) // ContentAny with an origin: parent and key are the origin's
      encoding.writeVarUint(encoder, origin.client)
      encoding.writeVarUint(encoder, origin.clock)
    } else {
      encoding.writeUint8(encoder, 8 | (key === null ? 0 : 0x20)) // ContentAny, parentSub when keyed
      encoding.writeVarUint(encoder, 1) // parent given as a root name
      encoding.writeVarString(encoder, root)
      if (key !== null) encoding.writeVarString(encoder, key)
    }
    encoding.writeVarUint(encoder, 1) // one value
    encoding.writeUint8(encoder, 119) // Any string
    encoding.writeVarString(encoder, value)
    encoding.writeVarUint(encoder, 0) // empty delete set
  })

/** The close of a raw peer, or a failure when it stays open (the unfixed server accepted the frame). */
const closeOf = async (peer: RawPeer): Promise<CloseInfo> => {
  let info: CloseInfo | null = null
  void peer.closed.then((closed) => (info = closed))
  return eventually(
    () => {
      assert.ok(info, 'the server kept the connection open: the update was accepted')
      return info
    },
    { timeoutMs: 10_000 },
  )
}

const stateOf = (server: TestServer, room: string, client: number): number => Y.getState(server.server.rooms.find(server.tenant, room)!.doc.store, client)

describe('Yjs client ids belong to their first writer', () => {
  const cleanup: Array<() => unknown> = []
  after(async () => {
    for (const step of cleanup.reverse()) await step()
  })
  const open = async <T extends StockClient>(client: Promise<T>): Promise<T> => {
    const opened = await client
    cleanup.push(() => {
      try {
        opened.destroy()
      } catch {
        // y-websocket cannot tell its awareness goodbye when Yjs changed the doc's client id (the unfixed server)
      }
    })
    return opened
  }

  test("the 19-byte GC under another user's client id is refused whole; that user's offline edits arrive and survive a restart", async () => {
    let server = await startServer()
    cleanup.push(() => server.dispose())
    const room = 'proposal/burnt'
    const victim = await open(server.connect(room, { user: 'bob' }))
    await victim.whenSynced()
    victim.doc.getMap('meta').set('title', 'online')
    const id = victim.doc.clientID
    await eventually(() => assert.equal(stateOf(server, room, id), 1))
    victim.provider.disconnect()
    victim.doc.getMap('meta').set('title', 'offline edit')
    victim.doc.getMap('meta').set('status', 'draft')

    const attacker = await server.raw(`/${room}`, { user: 'mallory' })
    const attack = syncUpdateFrame(gcUpdate(id, 0, BURNT))
    assert.ok(attack.byteLength <= 19, `${attack.byteLength} bytes`)
    attacker.send(attack)
    const closed = await closeOf(attacker)
    assert.equal(closed.code, CloseCode.InvalidUpdate)
    assert.equal(closed.errorCode, ErrorCode.ForeignClientId)
    assert.equal(stateOf(server, room, id), 1, 'nothing of it was applied')

    victim.provider.connect()
    await eventually(() => assert.equal(readTextField(server.server.rooms.find(server.tenant, room)!.doc, 'proposal', 'title'), 'offline edit'))
    assert.equal(victim.doc.clientID, id, 'the victim kept its client id')
    await eventually(() => assert.equal(victim.provider.synced, true))
    victim.provider.disconnect()
    server = await server.restart()
    const reader = await open(server.connect(room, { user: 'carol' }))
    await reader.whenSynced()
    // Either form: the restarted server moves the legacy title into its text root.
    assert.deepEqual({ ...reader.doc.getMap('meta').toJSON(), title: readTextField(reader.doc, 'proposal', 'title') }, { title: 'offline edit', status: 'draft' })
    assert.equal(Y.getState(reader.doc.store, id), 3)
  })

  test('an editor writing under a client id another user wrote first is refused, even after a restart; the owner may reuse it on another connection', async () => {
    let server = await startServer()
    cleanup.push(() => server.dispose())
    const room = 'proposal/stolen'
    const owner = await open(server.connect(room, { user: 'bob' }))
    await owner.whenSynced()
    owner.doc.getMap('meta').set('title', 'bob wrote this')
    const id = owner.doc.clientID
    await eventually(() => assert.equal(stateOf(server, room, id), 1))

    const thief = await server.raw(`/${room}`, { user: 'mallory' })
    thief.send(syncUpdateFrame(itemUpdate(id, 1, 'meta', 'title', 'mallory as bob', Y.createID(id, 0))))
    const closed = await closeOf(thief)
    assert.equal(closed.code, CloseCode.InvalidUpdate)
    assert.equal(closed.errorCode, ErrorCode.ForeignClientId)
    assert.equal(readTextField(server.server.rooms.find(server.tenant, room)!.doc, 'proposal', 'title'), 'bob wrote this')
    owner.provider.disconnect()

    // The same user on another connection (a reconnect, another session of theirs) continues under the id.
    const again = await server.raw(`/${room}`, { user: 'bob' })
    again.send(syncUpdateFrame(itemUpdate(id, 1, 'meta', 'title', 'bob again', Y.createID(id, 0))))
    await eventually(() => assert.equal(readTextField(server.server.rooms.find(server.tenant, room)!.doc, 'proposal', 'title'), 'bob again'))
    again.close()

    // Ownership is durable: after a restart the id is still bob's.
    server = await server.restart()
    const later = await server.raw(`/${room}`, { user: 'mallory' })
    later.send(syncUpdateFrame(itemUpdate(id, 2, 'meta', 'title', 'mallory after restart', Y.createID(id, 1))))
    assert.equal((await closeOf(later)).errorCode, ErrorCode.ForeignClientId)
    const bobLater = await server.raw(`/${room}`, { user: 'bob' })
    bobLater.send(syncUpdateFrame(itemUpdate(id, 2, 'meta', 'title', 'bob after restart', Y.createID(id, 1))))
    await eventually(() => assert.equal(readTextField(server.server.rooms.find(server.tenant, room)!.doc, 'proposal', 'title'), 'bob after restart'))
    bobLater.close()
  })

  test("an id an editor's client showed in awareness but has not written under yet cannot be taken by another user, also after that connection dropped", async () => {
    const server = await startServer()
    cleanup.push(() => server.dispose())
    const room = 'proposal/announced'
    const id = 0x0b0b
    const bob = await server.raw(`/${room}`, { user: 'bob' })
    // What a stock provider sends on open, before its sync step 2 carries its offline edits.
    bob.send(
      frame((encoder) => {
        encoding.writeVarUint(encoder, MessageType.Awareness)
        const update = encoding.createEncoder()
        encoding.writeVarUint(update, 1)
        encoding.writeVarUint(update, id)
        encoding.writeVarUint(update, 1)
        encoding.writeVarString(update, JSON.stringify({ user: { name: 'bob' } }))
        encoding.writeVarUint8Array(encoder, encoding.toUint8Array(update))
      }),
    )
    const roomOf = () => server.server.rooms.find(server.tenant, room)!
    await eventually(() => assert.notEqual(roomOf().awareness.ownerOf(id), null))
    // Mallory saw the id in awareness and stays connected; bob's connection drops (he goes on offline).
    const thief = await server.raw(`/${room}`, { user: 'mallory' })
    bob.close()
    await eventually(() => assert.equal(roomOf().awareness.ownerOf(id), null))
    // A GC its update deletes, as Yjs would write one: only the id stops it.
    thief.send(syncUpdateFrame(gcUpdate(id, 0, BURNT, [[0, BURNT]])))
    const closed = await closeOf(thief)
    assert.equal(closed.errorCode, ErrorCode.ForeignClientId)
    assert.equal(stateOf(server, room, id), 0)
    const back = await server.raw(`/${room}`, { user: 'bob' })
    back.send(syncUpdateFrame(itemUpdate(id, 0, 'meta', 'title', 'offline edit'), SyncStep.Step2))
    await eventually(() => assert.equal(readTextField(roomOf().doc, 'proposal', 'title'), 'offline edit'))
    back.close()
  })

  test('a document stored before owners were gets them from its event log: its ids stay their writers’', async () => {
    let server = await startServer()
    cleanup.push(() => server.dispose())
    const room = 'proposal/legacy'
    const storageName = `${server.tenant}/${room}`
    const bob = await open(server.connect(room, { user: 'bob' }))
    await bob.whenSynced()
    bob.doc.getMap('meta').set('title', 'before the upgrade')
    const id = bob.doc.clientID
    await eventually(() => assert.equal(stateOf(server, room, id), 1))
    bob.provider.disconnect()
    await server.stop()
    // Take the owner records away: what a data directory written before them holds.
    const store = await DocumentStore.open(server.dataDir)
    // (The server's own id, which wrote the title's time, is claimed too: users' ids are what matter here.)
    const usersOf = async (owners: Promise<Array<{ client: number; userId: string | null }>>) => (await owners).filter((owner) => owner.userId !== null)
    assert.deepEqual(await usersOf(store.clientOwners(storageName)), [{ client: id, userId: 'bob' }])
    const claimed = (await store.clientOwners(storageName)).map((owner) => owner.client)
    await (store as unknown as { persistence: { _transact(f: (db: { del(key: unknown): Promise<void> }) => Promise<void>): Promise<void> } }).persistence._transact(async (db) => {
      for (const client of claimed) await db.del(ownerKey(storageName, client))
    })
    assert.deepEqual(await store.clientOwners(storageName), [])
    await store.close()

    server = await server.restart()
    const thief = await server.raw(`/${room}`, { user: 'mallory' })
    thief.send(syncUpdateFrame(itemUpdate(id, 1, 'meta', 'title', 'mallory as bob', Y.createID(id, 0))))
    assert.equal((await closeOf(thief)).errorCode, ErrorCode.ForeignClientId)
    await server.stop()
    const reopened = await DocumentStore.open(server.dataDir)
    // Users' ids only: the server's own id (it moved the legacy title into its text root on load) is nobody's.
    const users = (await reopened.clientOwners(storageName)).filter((claim) => claim.userId !== null)
    assert.deepEqual(users, [{ client: id, userId: 'bob' }], 'rebuilt and stored')
    await reopened.close()
    server = await server.restart()
  })

  test('a viewer claims nothing: its update is not applied and the id stays free', async () => {
    const server = await startServer()
    cleanup.push(() => server.dispose())
    const room = 'proposal/viewer-id'
    const id = 0x7777
    const viewer = await server.raw(`/${room}`, { user: 'vera', role: 'viewer' })
    viewer.send(syncUpdateFrame(itemUpdate(id, 0, 'meta', 'title', 'from a viewer')))
    await eventually(() => assert.equal(viewer.messagesOfType(MessageType.Auth).length, 1, 'told it is read-only'))
    const editor = await server.raw(`/${room}`, { user: 'bob' })
    editor.send(syncUpdateFrame(itemUpdate(id, 0, 'meta', 'title', 'from bob')))
    await eventually(() => assert.equal(readTextField(server.server.rooms.find(server.tenant, room)!.doc, 'proposal', 'title'), 'from bob'))
    assert.equal(server.server.rooms.find(server.tenant, room)!.clientOwners.users.get(id), 'bob')
    viewer.close()
    editor.close()
  })

  test("the server's own client id (compensations) belongs to no user", async () => {
    const server = await startServer()
    cleanup.push(() => server.dispose())
    const room = 'proposal/server-id'
    const manager = await open(server.connect(room, { user: 'ada', role: 'admin' }))
    await manager.whenSynced()
    manager.doc.getMap('financial').set('value', 100)
    const editor = await open(server.connect(room, { user: 'bob', ext: true }))
    await editor.whenSynced()
    await eventually(() => assert.equal(editor.doc.getMap('financial').get('value'), 100))
    // A financial change by an editor is held for review: the server puts the old value back under its own client id.
    editor.doc.getMap('financial').set('value', 700)
    const serverDoc = () => server.server.rooms.find(server.tenant, room)!.doc
    await eventually(() => assert.equal(editor.doc.getMap('financial').get('value'), 100))
    const serverId = serverDoc().clientID
    const known = stateOf(server, room, serverId)
    assert.ok(known > 0, 'the server wrote under its id')
    const thief = await server.raw(`/${room}`, { user: 'mallory' })
    thief.send(syncUpdateFrame(itemUpdate(serverId, known, 'meta', 'title', 'as the server')))
    assert.equal((await closeOf(thief)).errorCode, ErrorCode.ForeignClientId)
  })

  test('a GC range past what the server knows, not deleted by its own update, is refused even under the sender’s own id', async () => {
    const server = await startServer()
    cleanup.push(() => server.dispose())
    const room = 'proposal/gc-own'
    const fresh = 0x7eadbeef
    const sender = await server.raw(`/${room}`, { user: 'mallory' })
    sender.send(syncUpdateFrame(gcUpdate(fresh, 0, BURNT)))
    const closed = await closeOf(sender)
    assert.equal(closed.code, CloseCode.InvalidUpdate)
    assert.equal(closed.errorCode, ErrorCode.UndeletedGcRange)
    assert.equal(stateOf(server, room, fresh), 0)
    // Nor a GC that goes on past the known clock of an id the sender already owns.
    const owner = await server.raw(`/${room}`, { user: 'mallory' })
    owner.send(syncUpdateFrame(itemUpdate(fresh, 0, 'meta', 'title', 'mine')))
    await eventually(() => assert.equal(stateOf(server, room, fresh), 1))
    owner.send(syncUpdateFrame(gcUpdate(fresh, 0, 5)))
    assert.equal((await closeOf(owner)).errorCode, ErrorCode.UndeletedGcRange)
    assert.equal(stateOf(server, room, fresh), 1)
  })

  test('what real Yjs clients send with gc on stays accepted: a subtree created and deleted offline, synced to a fresh server; and within one transaction', async () => {
    let server = await startServer()
    cleanup.push(() => server.dispose())
    const room = 'proposal/gc-real'
    const doc = new Y.Doc() // gc is on by default, as in every stock client
    const meta = doc.getMap('meta')
    const nested = new Y.Map<unknown>()
    meta.set('draft', nested)
    nested.set('a', 'hello')
    const list = new Y.Array<number>()
    nested.set('list', list)
    list.insert(0, [1, 2, 3])
    meta.delete('draft')
    meta.set('title', 'after the subtree')
    const structs = Y.decodeUpdate(Y.encodeStateAsUpdate(doc)).structs
    assert.ok(structs.some((struct) => struct instanceof Y.GC), 'the client sends a GC range for the deleted subtree')

    const client = await open(server.connect(room, { user: 'bob', doc }))
    await client.whenSynced()
    const serverDoc = () => server.server.rooms.find(server.tenant, room)!.doc
    await eventually(() => assert.equal(readTextField(serverDoc(), 'proposal', 'title'), 'after the subtree'))
    // Online, one transaction that creates and deletes a nested type: its update carries a GC too.
    let sent: Uint8Array | null = null
    doc.once('update', (update: Uint8Array) => (sent = update))
    doc.transact(() => {
      const scratch = new Y.Map<unknown>()
      meta.set('scratch', scratch)
      scratch.set('x', 1)
      meta.delete('scratch')
      meta.set('status', 'draft')
    })
    assert.ok(Y.decodeUpdate(sent!).structs.some((struct) => struct instanceof Y.GC), 'Y.decodeUpdate(sent!).structs.some((struct) => struct instanceof Y.GC)')
    await eventually(() => assert.equal(serverDoc().getMap('meta').get('status'), 'draft'))
    assert.equal(client.provider.wsconnected, true)
    await eventually(() => assert.deepEqual(Y.encodeStateVector(serverDoc()), Y.encodeStateVector(doc)))
    client.provider.disconnect()
    server = await server.restart()
    const reader = await open(server.connect(room, { user: 'carol' }))
    await reader.whenSynced()
    assert.deepEqual({ ...reader.doc.getMap('meta').toJSON(), title: readTextField(reader.doc, 'proposal', 'title') }, { title: 'after the subtree', status: 'draft' })
    // Every clock of the client's is there (the restarted server's move of the legacy title adds its own id).
    for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(doc))) assert.equal(Y.getState(reader.doc.store, client), clock)
  })

  test('a Skip (a gap in a merged update) is never stored: the sender resyncs; one past the known clock of another user’s id changes nothing', async () => {
    const server = await startServer()
    cleanup.push(() => server.dispose())
    const room = 'proposal/skips'
    const victim = await open(server.connect(room, { user: 'bob' }))
    await victim.whenSynced()
    victim.doc.getMap('meta').set('title', 'bob')
    const id = victim.doc.clientID
    await eventually(() => assert.equal(stateOf(server, room, id), 1))

    // Yjs writes a Skip where a merged update has a gap: two updates of one client, the middle one missing.
    const doc = new Y.Doc()
    const updates: Uint8Array[] = []
    doc.on('update', (update: Uint8Array) => updates.push(update))
    for (const title of ['one', 'two', 'three']) doc.getMap('meta').set('title', title)
    const withGap = Y.mergeUpdates([updates[0]!, updates[2]!])
    assert.ok(Y.decodeUpdate(withGap).structs.some((struct) => struct instanceof Y.Skip), 'Y.decodeUpdate(withGap).structs.some((struct) => struct instanceof Y.Skip)')
    const sender = await server.raw(`/${room}`, { user: 'mallory' })
    sender.send(syncUpdateFrame(withGap))
    const closed = await closeOf(sender)
    assert.equal(closed.code, CloseCode.ResyncRequired)
    assert.equal(stateOf(server, room, doc.clientID), 0, 'nothing of it was applied')

    // A Skip of 2^40 under bob's id, then one item of mallory's own: refused, bob's id untouched.
    const skip = frame((encoder) => {
      encoding.writeVarUint(encoder, 1)
      encoding.writeVarUint(encoder, 1)
      encoding.writeVarUint(encoder, id)
      encoding.writeVarUint(encoder, 1)
      encoding.writeUint8(encoder, 10) // Skip
      encoding.writeVarUint(encoder, BURNT)
      encoding.writeVarUint(encoder, 0)
    })
    const skipper = await server.raw(`/${room}`, { user: 'mallory' })
    skipper.send(syncUpdateFrame(skip, SyncStep.Step2))
    const refused = await closeOf(skipper)
    assert.notEqual(refused.code, CloseCode.GoingAway)
    assert.equal(stateOf(server, room, id), 1)
    victim.doc.getMap('meta').set('title', 'bob goes on')
    await eventually(() => assert.equal(readTextField(server.server.rooms.find(server.tenant, room)!.doc, 'proposal', 'title'), 'bob goes on'))
  })

  test('unkeyed content in a map root (array-style items under meta) is refused', async () => {
    const server = await startServer()
    cleanup.push(() => server.dispose())
    const room = 'proposal/unkeyed'
    const sender = await server.raw(`/${room}`, { user: 'mallory' })
    sender.send(syncUpdateFrame(itemUpdate(0x5eed, 0, 'meta', null, 'no key')))
    const closed = await closeOf(sender)
    assert.equal(closed.code, CloseCode.InvalidUpdate)
    assert.equal(closed.errorCode, ErrorCode.UnkeyedMapContent)
    assert.equal(stateOf(server, room, 0x5eed), 0)
    // Keyed content in the same root still goes through.
    const keyed = await server.raw(`/${room}`, { user: 'mallory' })
    keyed.send(syncUpdateFrame(itemUpdate(0x5eee, 0, 'meta', 'title', 'keyed')))
    await eventually(() => assert.equal(readTextField(server.server.rooms.find(server.tenant, room)!.doc, 'proposal', 'title'), 'keyed'))
    keyed.close()
  })

  test('docs verify (admin API and offline CLI) reports a stored document whose state vector holds a burnt range, and unkeyed content in a map root', async () => {
    let server = await startServer()
    cleanup.push(() => server.dispose())
    const room = 'proposal/verify-burnt'
    const writer = await open(server.connect(room, { user: 'bob' }))
    await writer.whenSynced()
    writer.doc.getMap('meta').set('title', 'fine')
    const id = writer.doc.clientID
    await eventually(() => assert.equal(stateOf(server, room, id), 1))
    writer.provider.disconnect()
    const admin = await server.token({ user: 'ada', role: 'admin' })
    const clean = await adminRequest<VerificationReport>(server, admin, 'GET', `/docs/${room}/verify`)
    assert.equal(clean.status, 200)
    assert.deepEqual(clean.body.problems, [])

    // What the unfixed server stored: the attack's bytes, as they came.
    await server.stop()
    const store = await DocumentStore.open(server.dataDir)
    await store.storeUpdate(`${server.tenant}/${room}`, gcUpdate(id, 0, BURNT))
    // And what it stored of array-style content under a map root.
    await store.storeUpdate(`${server.tenant}/${room}`, itemUpdate(0x5eed, 0, 'meta', null, 'hidden'))
    await store.close()
    server = await server.restart()
    const report = await adminRequest<VerificationReport>(server, await server.token({ user: 'ada', role: 'admin' }), 'GET', `/docs/${room}/verify`)
    assert.equal(report.body.ok, false)
    assert.match(report.body.problems.join('\n'), new RegExp(`client ${id} .*clock ${BURNT}`))
    assert.match(report.body.problems.join('\n'), /GC range .* it does not delete/)
    assert.match(report.body.problems.join('\n'), /meta holds 1 item\(s\) without a key/)
    // The CLI offline, on the stopped server's data directory, runs the same check.
    await server.stop()
    const cli = await new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', path.join(ROOT, 'server/cli/main.ts'), '--data-dir', server.dataDir, '--tenant', server.tenant, '--json', 'docs', 'verify', room],
        { cwd: ROOT },
        (error, stdout) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout }),
      ),
    )
    assert.equal(cli.code, 1)
    const [offline] = JSON.parse(cli.stdout) as VerificationReport[]
    assert.match(offline!.problems.join('\n'), new RegExp(`stored update #\\d+ holds a GC range of client ${id} from clock 0 up to clock ${BURNT}`))
    server = await server.restart()
  })
})
