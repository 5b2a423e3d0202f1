import assert from 'node:assert/strict'
import { after, afterEach, before, describe, test } from 'node:test'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { CloseCode } from '../../shared/closeCodes.ts'
import { ErrorCode } from '../../shared/errors.ts'
import { MESSAGE_EXTENSION, readExtensionMessage, type Notice } from '../../shared/extensionProtocol.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import type { RawPeer } from '../../shared/testing/rawPeer.ts'
import type { StockClient } from '../../shared/testing/stockClient.ts'
import { jsonDepthExceeds } from './awarenessStates.ts'
import { MessageType } from './protocol.ts'
import { frame } from '../testing/attackFrames.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'

/** An awareness message whose states are the given JSON texts, sent as they are (not re-stringified). */
const awarenessFrame = (entries: ReadonlyArray<readonly [client: number, clock: number, json: string]>): Uint8Array =>
  frame((encoder) => {
    encoding.writeVarUint(encoder, MessageType.Awareness)
    const update = encoding.createEncoder()
    encoding.writeVarUint(update, entries.length)
    for (const [client, clock, json] of entries) {
      encoding.writeVarUint(update, client)
      encoding.writeVarUint(update, clock)
      encoding.writeVarString(update, json)
    }
    encoding.writeVarUint8Array(encoder, encoding.toUint8Array(update))
  })

/** The client ids of every awareness message a raw peer received, with their JSON texts. */
const receivedStates = (peer: RawPeer): Map<number, string[]> => {
  const states = new Map<number, string[]>()
  for (const message of peer.messagesOfType(MessageType.Awareness)) {
    const decoder = decoding.createDecoder(message)
    decoding.readVarUint(decoder)
    const update = decoding.createDecoder(decoding.readVarUint8Array(decoder))
    for (let i = 0, n = decoding.readVarUint(update); i < n; i++) {
      const client = decoding.readVarUint(update)
      decoding.readVarUint(update)
      const json = decoding.readVarString(update)
      states.set(client, [...(states.get(client) ?? []), json])
    }
  }
  return states
}

const noticesOf = (peer: RawPeer): Notice[] =>
  peer.messagesOfType(MESSAGE_EXTENSION).flatMap((message) => {
    const decoder = decoding.createDecoder(message)
    decoding.readVarUint(decoder)
    const extension = readExtensionMessage(decoder)
    return extension?.kind === 'notice' ? [extension.notice] : []
  })

/** JSON nested `depth` deep inside an otherwise honest state: about 2 bytes per level. */
const nestedState = (depth: number): string => `{"user":{"id":"mallory","name":"mallory"},"x":${'['.repeat(depth)}${']'.repeat(depth)}}`

/** A state the sender may set (its own identity), used as a marker that what it sent before was handled. */
const markerState = (user: string) => JSON.stringify({ user: { id: user, name: user }, marker: true })

describe('awareness states are checked before they are relayed', () => {
  let server: TestServer
  const clients: StockClient[] = []
  const peers: RawPeer[] = []
  const stock = async (room: string, user = 'alice') => {
    const client = await server.connect(room, { user })
    clients.push(client)
    await client.whenSynced()
    return client
  }
  const raw = async (room: string, user = 'mallory') => {
    const peer = await server.raw(`/${room}?ext=1`, { user })
    peers.push(peer)
    return peer
  }

  before(async () => {
    server = await startServer()
  })
  afterEach(() => {
    for (const client of clients.splice(0)) client.destroy()
    for (const peer of peers.splice(0)) peer.close()
  })
  after(() => server.dispose())

  /**
   * The sender's bad state is refused with a notice naming `code`; the sender stays connected, and
   * its next (good) state reaches the stock client in the room and a later joiner, the bad one never.
   */
  const assertRefused = async (room: string, badState: string, code: string) => {
    const witness = await stock(room)
    const sender = await raw(room)
    sender.send(awarenessFrame([[9001, 1, badState]]))
    sender.send(awarenessFrame([[9002, 1, markerState('mallory')]]))
    // The relay echoes to the sender too: the marker coming back shows the bad state was handled before it.
    await eventually(() => assert.equal(receivedStates(sender).has(9002), true))
    await eventually(() => assert.equal(witness.provider.awareness.getStates().has(9002), true))
    assert.equal(witness.provider.awareness.getStates().has(9001), false)
    assert.equal(receivedStates(sender).has(9001), false)
    assert.equal(witness.provider.wsconnected, true)
    assert.equal(sender.socket.readyState, sender.socket.OPEN)
    assert.deepEqual(
      noticesOf(sender).map((notice) => [notice.outcome, notice.ruleId, notice.path]),
      [['rejected', code, 'awareness']],
    )
    const joiner = await stock(room, 'carol')
    await eventually(() => assert.equal(joiner.provider.awareness.getStates().has(9002), true))
    assert.equal(joiner.provider.awareness.getStates().has(9001), false)
    assert.equal(joiner.provider.wsconnected, true)
  }

  test('the reported poison, a 10 KB state nested 5,000 deep, is refused; stock clients in the room and joining later stay alive', async () => {
    const poison = nestedState(5_000)
    assert.equal(poison.length, 10_047)
    // Refused by its size at the default bound, before anything scans it.
    await assertRefused('proposal/aw-poison', poison, ErrorCode.AwarenessStateTooLarge)
  })

  test('a state within the size bound but nested 3,500 deep is refused for its depth', async () => {
    const deep = nestedState(3_500)
    assert.equal(deep.length < 8_192, true)
    await assertRefused('proposal/aw-deep', deep, ErrorCode.AwarenessStateTooDeep)
  })

  test('an editor\'s 1 MB state is refused (the per-state bound holds for editors too)', async () => {
    const big = JSON.stringify({ user: { id: 'mallory', name: 'mallory' }, blob: 'x'.repeat(1024 * 1024) })
    await assertRefused('proposal/aw-big', big, ErrorCode.AwarenessStateTooLarge)
  })

  test('a state naming another user is refused (id, name or role not the token\'s)', async () => {
    await assertRefused('proposal/aw-id', JSON.stringify({ user: { id: 'alice', name: 'alice', color: '#f00' } }), ErrorCode.AwarenessIdentityMismatch)
    await assertRefused('proposal/aw-name', JSON.stringify({ user: { id: 'mallory', name: 'Alice (CEO)' } }), ErrorCode.AwarenessIdentityMismatch)
    await assertRefused('proposal/aw-role', JSON.stringify({ user: { id: 'mallory', name: 'mallory', role: 'admin' } }), ErrorCode.AwarenessIdentityMismatch)
    await assertRefused('proposal/aw-str', JSON.stringify({ user: 'alice' }), ErrorCode.AwarenessIdentityMismatch)
  })

  test('the project client\'s own state ({id, name, color, role} of the token) is relayed', async () => {
    const alice = await stock('proposal/aw-own')
    const bob = await stock('proposal/aw-own', 'bob')
    const user = { id: 'alice', name: 'alice', color: '#336699', role: 'editor' }
    alice.provider.awareness.setLocalStateField('user', user)
    await eventually(() => assert.deepEqual(bob.provider.awareness.getStates().get(alice.doc.clientID)?.['user'], user))
  })

  test('an honest stock client with a too-big state keeps its connection, and its next small state is relayed', async () => {
    const alice = await stock('proposal/aw-honest')
    const bob = await stock('proposal/aw-honest', 'bob')
    const closes: number[] = []
    alice.provider.on('connection-close', (event: CloseEvent | null) => event && closes.push(event.code))
    let largestSeen = 0
    bob.provider.awareness.on('change', () => {
      const selection = bob.provider.awareness.getStates().get(alice.doc.clientID)?.['selection']
      if (typeof selection === 'string') largestSeen = Math.max(largestSeen, selection.length)
    })
    alice.provider.awareness.setLocalStateField('selection', 'x'.repeat(64 * 1024))
    alice.provider.awareness.setLocalStateField('selection', 'small')
    await eventually(() => assert.equal(bob.provider.awareness.getStates().get(alice.doc.clientID)?.['selection'], 'small'))
    assert.equal(largestSeen, 'small'.length)
    assert.deepEqual(closes, [])
    assert.equal(alice.provider.wsconnected, true)
  })

  test('a removal (null state) is still relayed', async () => {
    const witness = await stock('proposal/aw-null')
    const sender = await raw('proposal/aw-null')
    sender.send(awarenessFrame([[9003, 1, markerState('mallory')]]))
    await eventually(() => assert.equal(witness.provider.awareness.getStates().has(9003), true))
    sender.send(awarenessFrame([[9003, 2, 'null']]))
    await eventually(() => assert.equal(witness.provider.awareness.getStates().has(9003), false))
    assert.deepEqual(noticesOf(sender), [])
  })

  test('invalid JSON is a malformed message: 4400 ERR_MALFORMED_MESSAGE, nothing relayed', async () => {
    const witness = await stock('proposal/aw-json')
    const sender = await raw('proposal/aw-json')
    sender.send(awarenessFrame([[9004, 1, markerState('mallory')], [9005, 1, '{"user": {"id": "mallory"']]))
    const closed = await sender.closed
    assert.equal(closed.code, CloseCode.MalformedMessage)
    assert.equal(closed.errorCode, ErrorCode.MalformedMessage)
    // The whole frame is refused, its good state included: a witness joining later sees neither.
    const joiner = await stock('proposal/aw-json', 'carol')
    // The witness's own state ({} until set) reaching the joiner shows the joiner got the room's states.
    await eventually(() => assert.equal(joiner.provider.awareness.getStates().has(witness.doc.clientID), true))
    assert.equal(witness.provider.awareness.getStates().has(9004), false)
    assert.equal(joiner.provider.awareness.getStates().has(9004), false)
    assert.equal(witness.provider.wsconnected, true)
  })

  test("another user's presence is theirs: a state or a removal under their client id is refused, their own changes go on", async () => {
    const victim = await stock('proposal/aw-theft', 'alice')
    victim.provider.awareness.setLocalStateField('cursor', { anchor: 1 })
    const witness = await stock('proposal/aw-theft', 'bob')
    const id = victim.doc.clientID
    await eventually(() => assert.deepEqual(witness.provider.awareness.getStates().get(id)?.cursor, { anchor: 1 }))
    const thief = await raw('proposal/aw-theft')
    const clock = () => victim.provider.awareness.meta.get(id)!.clock
    thief.send(awarenessFrame([[id, clock() + 5, JSON.stringify({ cursor: { anchor: 666 } })]]))
    thief.send(awarenessFrame([[id, clock(), 'null']]))
    thief.send(awarenessFrame([[id, clock() + 6, 'null']]))
    thief.send(awarenessFrame([[9010, 1, markerState('mallory')]]))
    await eventually(() => assert.equal(witness.provider.awareness.getStates().has(9010), true))
    assert.deepEqual(witness.provider.awareness.getStates().get(id)?.cursor, { anchor: 1 })
    assert.deepEqual(
      noticesOf(thief).map((notice) => notice.ruleId),
      [ErrorCode.AwarenessNotYours],
    )
    victim.provider.awareness.setLocalStateField('cursor', { anchor: 2 })
    await eventually(() => assert.deepEqual(witness.provider.awareness.getStates().get(id)?.cursor, { anchor: 2 }))
  })

  test('one refused state in an update does not hold back the others', async () => {
    const witness = await stock('proposal/aw-mixed')
    const sender = await raw('proposal/aw-mixed')
    sender.send(awarenessFrame([[9006, 1, nestedState(100)], [9007, 1, markerState('mallory')]]))
    await eventually(() => assert.equal(witness.provider.awareness.getStates().has(9007), true))
    assert.equal(witness.provider.awareness.getStates().has(9006), false)
  })
})

describe('the depth scan of a JSON text (no parse, no recursion)', () => {
  test('counts object and array nesting, not brackets inside strings or escaped quotes', () => {
    assert.equal(jsonDepthExceeds('{"a":[1,{"b":2}]}', 3), false)
    assert.equal(jsonDepthExceeds('{"a":[1,{"b":2}]}', 2), true)
    assert.equal(jsonDepthExceeds('null', 0), false)
    assert.equal(jsonDepthExceeds('{"name":"[[[[{{{{"}', 1), false)
    // An escaped quote does not end the string; an escaped backslash before the closing quote does not hide it.
    assert.equal(jsonDepthExceeds(JSON.stringify({ name: 'say \"[[[[' }), 1), false)
    assert.equal(jsonDepthExceeds(JSON.stringify({ name: 'c:\\', x: [[[]]] }), 3), true)
    assert.equal(jsonDepthExceeds(JSON.stringify({ name: 'c:\\', x: [[[]]] }), 4), false)
    // Siblings do not add up: depth is nesting, not count.
    assert.equal(jsonDepthExceeds(JSON.stringify(Array.from({ length: 1_000 }, () => [[]])), 3), false)
    assert.equal(jsonDepthExceeds('['.repeat(100_000), 32), true)
  })
})
