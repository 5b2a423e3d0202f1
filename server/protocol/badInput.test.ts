import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { CloseCode } from '../../shared/closeCodes.ts'
import { ErrorCode } from '../../shared/errors.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import type { StockClient } from '../../shared/testing/stockClient.ts'
import { MessageType, SyncStep } from './protocol.ts'
import { absurdStructCountUpdate, frame, halfApplyingUpdate, syncUpdateFrame } from '../testing/attackFrames.ts'
import { startServer, type TestServer } from '../testing/startServer.ts'
import { readTextField } from '../../shared/documentModel.ts'

const MAX_PAYLOAD = 64 * 1024
const ROOM = 'proposal/attacked'

const validUpdate = (): Uint8Array => {
  const doc = new Y.Doc()
  doc.getMap('meta').set('title', 'should never arrive')
  return Y.encodeStateAsUpdate(doc)
}

/** Each bad input, the frame that carries it, and the exact close it must get. */
const ATTACKS: Array<{ name: string; frame: () => Uint8Array; code: number; errorCode: string | null }> = [
  {
    name: 'garbage bytes',
    frame: () => Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    code: CloseCode.MalformedMessage,
    errorCode: ErrorCode.MalformedMessage,
  },
  {
    name: 'an unknown message type',
    frame: () => frame((encoder) => encoding.writeVarUint(encoder, 42)),
    code: CloseCode.MalformedMessage,
    errorCode: ErrorCode.UnknownMessageType,
  },
  {
    name: 'an unknown sync step',
    frame: () => frame((encoder) => {
      encoding.writeVarUint(encoder, MessageType.Sync)
      encoding.writeVarUint(encoder, 9)
      encoding.writeVarUint8Array(encoder, new Uint8Array(2))
    }),
    code: CloseCode.MalformedMessage,
    errorCode: ErrorCode.MalformedMessage,
  },
  {
    name: 'a sync message whose declared length runs past the frame',
    frame: () => Uint8Array.from([MessageType.Sync, SyncStep.Update, 50, 1, 2, 3]),
    code: CloseCode.MalformedMessage,
    errorCode: ErrorCode.MalformedMessage,
  },
  {
    name: 'a truncated update',
    frame: () => {
      const update = validUpdate()
      return syncUpdateFrame(update.subarray(0, update.length - 4))
    },
    code: CloseCode.InvalidUpdate,
    errorCode: ErrorCode.MalformedUpdate,
  },
  {
    name: 'a truncated update in sync step 2',
    frame: () => {
      const update = validUpdate()
      return syncUpdateFrame(update.subarray(0, 5), SyncStep.Step2)
    },
    code: CloseCode.InvalidUpdate,
    errorCode: ErrorCode.MalformedUpdate,
  },
  {
    name: 'an update claiming 2^31 structs in a few bytes',
    frame: () => syncUpdateFrame(absurdStructCountUpdate()),
    code: CloseCode.InvalidUpdate,
    errorCode: ErrorCode.UpdateCountsOutOfRange,
  },
  {
    // Y.applyUpdate would insert text and then throw; the structural check refuses it first.
    name: 'an update that Yjs would half-apply and then throw on',
    frame: () => syncUpdateFrame(halfApplyingUpdate('body')),
    code: CloseCode.InvalidUpdate,
    errorCode: ErrorCode.MalformedUpdate,
  },
  {
    name: 'an update to a root a proposal does not have',
    frame: () => {
      const doc = new Y.Doc()
      doc.getText('stray').insert(0, 'not part of a proposal')
      return syncUpdateFrame(Y.encodeStateAsUpdate(doc))
    },
    code: CloseCode.InvalidUpdate,
    errorCode: ErrorCode.UnknownRoot,
  },
  {
    name: 'a state vector that is not one',
    frame: () => frame((encoder) => {
      encoding.writeVarUint(encoder, MessageType.Sync)
      encoding.writeVarUint(encoder, SyncStep.Step1)
      encoding.writeVarUint8Array(encoder, Uint8Array.from([5, 0xff]))
    }),
    code: CloseCode.MalformedMessage,
    errorCode: ErrorCode.MalformedMessage,
  },
  {
    name: 'a bad awareness update',
    frame: () => frame((encoder) => {
      encoding.writeVarUint(encoder, MessageType.Awareness)
      encoding.writeVarUint8Array(encoder, Uint8Array.from([1, 2, 3, 4, 0x7b]))
    }),
    code: CloseCode.MalformedMessage,
    errorCode: ErrorCode.MalformedMessage,
  },
  {
    name: 'a frame over maxPayload',
    frame: () => syncUpdateFrame(new Uint8Array(MAX_PAYLOAD + 1)),
    code: CloseCode.MessageTooBig,
    errorCode: null,
  },
]

describe('bad input: a clear close, the process stays up, nothing is lost', () => {
  let server: TestServer
  let editor: StockClient
  let witness: StockClient
  const stockClients: StockClient[] = []

  const readTarget = async () => {
    const reader = await server.connect(ROOM)
    stockClients.push(reader)
    await reader.whenSynced()
    const state = { title: reader.doc.getMap('meta').get('title'), injected: reader.doc.getXmlFragment('body').toString() }
    reader.destroy()
    return state
  }

  before(async () => {
    server = await startServer({ maxPayloadBytes: MAX_PAYLOAD })
    editor = await server.connect(ROOM)
    witness = await server.connect('customer/witness')
    stockClients.push(editor, witness)
    await Promise.all([editor.whenSynced(), witness.whenSynced()])
    editor.doc.getMap('meta').set('title', 'Intact')
    await eventually(async () => assert.equal((await readTarget()).title, 'Intact'))
  })
  after(async () => {
    for (const client of stockClients) client.destroy()
    await server.dispose()
  })

  for (const attack of ATTACKS) {
    test(`${attack.name} → close ${attack.code} ${attack.errorCode ?? ''}`, async () => {
      const attacker = await server.raw(`/${ROOM}`)
      attacker.send(attack.frame())
      const closed = await attacker.closed
      assert.equal(closed.code, attack.code, `close reason: ${closed.reason}`)
      assert.equal(closed.errorCode, attack.errorCode)

      // The process is up, the document unchanged, its other peer still connected and syncing.
      const health = await fetch(`${server.httpUrl}/healthz`)
      assert.equal(health.status, 200)
      assert.deepEqual(await readTarget(), { title: 'Intact', injected: '' })
      assert.equal(editor.provider.wsconnected, true)
      // Another room is unaffected and still takes edits.
      const marker = `after ${attack.name}`
      witness.doc.getMap('fields').set('name', marker)
      const check = await server.connect('customer/witness')
      stockClients.push(check)
      await eventually(() => assert.equal(check.doc.getMap('fields').get('name'), marker))
      check.destroy()
    })
  }

  test('an apply that throws after changing the doc → 4422, the room is reloaded from disk', async () => {
    // Whatever throws inside Y.applyUpdate after the doc changed (a Yjs edge case the structural
    // check does not know, or an observer's bug) must leave no trace. An observer that throws
    // makes applyUpdate throw after the update was integrated.
    const loadedDoc = server.server.rooms.find(server.tenant, ROOM)!.doc
    loadedDoc.getXmlFragment('body').observeDeep(() => {
      throw new Error('observer failed')
    })
    const attacker = await server.raw(`/${ROOM}`)
    const doc = new Y.Doc()
    doc.getXmlFragment('body').insert(0, [new Y.XmlText('half applied')])
    attacker.send(syncUpdateFrame(Y.encodeStateAsUpdate(doc)))
    const closed = await attacker.closed
    assert.equal(closed.code, CloseCode.InvalidUpdate)
    assert.equal(closed.errorCode, ErrorCode.UpdateApplyFailed)
    await eventually(() => assert.equal(server.server.rooms.find(server.tenant, ROOM)?.state, 'ready'))
    const room = server.server.rooms.find(server.tenant, ROOM)!
    assert.notEqual(room.doc, loadedDoc)
    assert.equal(room.doc.getXmlFragment('body').toString(), '')
    assert.deepEqual(await readTarget(), { title: 'Intact', injected: '' })
    assert.equal(room.doc.getMap('meta').get('title'), 'Intact')
    // The editor keeps editing the reloaded room.
    editor.doc.getMap('meta').set('title', 'Still editing')
    await eventually(async () => assert.equal((await readTarget()).title, 'Still editing'))
    editor.doc.getMap('meta').set('title', 'Intact')
    await eventually(async () => assert.equal((await readTarget()).title, 'Intact'))
  })

  test('the allocation attack is refused without allocating', async () => {
    const before = process.memoryUsage()
    for (let i = 0; i < 20; i++) {
      const attacker = await server.raw(`/${ROOM}`)
      attacker.send(syncUpdateFrame(absurdStructCountUpdate()))
      assert.equal((await attacker.closed).errorCode, ErrorCode.UpdateCountsOutOfRange)
    }
    const grown = process.memoryUsage().heapUsed - before.heapUsed
    assert.ok(grown < 50 * 1024 * 1024, `heap grew by ${grown} bytes`)
  })

  test('after a restart the persisted document holds none of it', async () => {
    for (const client of stockClients) client.destroy()
    server = await server.restart()
    editor = await server.connect(ROOM)
    stockClients.push(editor)
    await editor.whenSynced()
    // Either form: the restarted server moves the legacy title into its text root.
    assert.equal(readTextField(editor.doc, 'proposal', 'title'), 'Intact')
    assert.equal(editor.doc.getXmlFragment('body').toString(), '')
  })
})

describe('refused before the upgrade', () => {
  let server: TestServer
  before(async () => {
    server = await startServer()
  })
  after(() => server.dispose())

  for (const [path, code] of [
    ['/invoice/i-1', ErrorCode.UnknownDocumentType],
    ['/proposal/has%20space', ErrorCode.BadDocumentName],
    ['/proposal/' + 'x'.repeat(65), ErrorCode.BadDocumentName],
    ['/proposal', ErrorCode.BadDocumentName],
    ['/proposal/p-1/extra', ErrorCode.BadDocumentName],
    ['/', ErrorCode.BadDocumentName],
  ] as const) {
    test(`${path.slice(0, 30)} → HTTP 400 ${code}`, async () => {
      const refused = await server.raw(path).then(
        () => assert.fail('upgrade should be refused'),
        (error: { status: number; body: string }) => error,
      )
      assert.equal(refused.status, 400)
      const body = JSON.parse(refused.body) as { error: { code: string; message: string } }
      assert.equal(body.error.code, code)
      assert.ok(body.error.message.length > 0, 'body.error.message.length > 0')
    })
  }
})

describe('heartbeat', () => {
  test('a half-open peer (never answers pings) is terminated within two intervals', async () => {
    const server = await startServer({ heartbeatIntervalMs: 100 })
    try {
      // autoPong: false makes this client behave like a socket whose other end vanished.
      const silent = await server.raw(`/proposal/hb`, { ws: { autoPong: false } })
      const answering = await server.raw(`/proposal/hb`)
      const closed = await silent.closed
      assert.equal(closed.code, 1006) // terminated: no close frame
      assert.equal(answering.socket.readyState, answering.socket.OPEN)
      answering.close()
    } finally {
      await server.dispose()
    }
  })
})
