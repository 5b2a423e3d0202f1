import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as encoding from 'lib0/encoding'
import * as awarenessProtocol from 'y-protocols/awareness'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'
import { countingWebSocketClass, readCountedMessage, type CountedMessage, type WebSocketClass } from './outgoingMessages.ts'

/** A frame as the provider builds it: message type 0 (sync), then `write`. */
const syncFrame = (write: (encoder: encoding.Encoder) => void): Uint8Array => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 0)
  write(encoder)
  return encoding.toUint8Array(encoder)
}

const awarenessFrame = (doc: Y.Doc): Uint8Array => {
  const awareness = new awarenessProtocol.Awareness(doc)
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 1)
  encoding.writeVarUint8Array(encoder, awarenessProtocol.encodeAwarenessUpdate(awareness, [doc.clientID]))
  awareness.destroy()
  return encoding.toUint8Array(encoder)
}

/** Stands in for `ws`: records what reaches it; throws while "connecting", as `ws` does. */
class FakeSocket {
  readonly frames: unknown[] = []
  open = true
  send(data: unknown): void {
    if (!this.open) throw new Error('WebSocket is not open: readyState 0 (CONNECTING)')
    this.frames.push(data)
  }
}

const countingSockets = () => {
  const counted: Array<{ socket: WebSocket; message: CountedMessage }> = []
  const Counting = countingWebSocketClass(FakeSocket as unknown as WebSocketClass, (socket, message) => counted.push({ socket, message }))
  const create = () => new Counting('ws://unused') as unknown as WebSocket & FakeSocket
  return { counted, create }
}

describe('outgoing messages', () => {
  test('reads sync step 2 and update frames, and nothing else', () => {
    const doc = new Y.Doc()
    doc.getMap('m').set('a', 1)
    const update = Y.encodeStateAsUpdate(doc)
    assert.deepEqual(readCountedMessage(syncFrame((e) => syncProtocol.writeUpdate(e, update))), { kind: 'update', update })
    assert.deepEqual(readCountedMessage(syncFrame((e) => syncProtocol.writeSyncStep2(e, doc))), { kind: 'sync-step-2', update })
    assert.deepEqual(readCountedMessage(syncFrame((e) => syncProtocol.writeUpdate(e, update)).buffer), { kind: 'update', update }, 'ArrayBuffer')
    assert.equal(readCountedMessage(syncFrame((e) => syncProtocol.writeSyncStep1(e, doc))), null, 'sync step 1')
    assert.equal(readCountedMessage(awarenessFrame(doc)), null, 'awareness')
    assert.equal(readCountedMessage(new Uint8Array([0, 2, 50])), null, 'truncated')
    assert.equal(readCountedMessage(new Uint8Array([])), null, 'empty')
    assert.equal(readCountedMessage('text'), null)
  })

  test('every frame goes out at once and unchanged; sync-step-2 and update messages are numbered per socket', () => {
    const { counted, create } = countingSockets()
    const doc = new Y.Doc()
    const text = doc.getText('t')
    const first = create()
    const frames: Uint8Array[] = []
    const send = (socket: WebSocket, frame: Uint8Array) => {
      frames.push(frame)
      socket.send(frame)
    }
    send(first, syncFrame((e) => syncProtocol.writeSyncStep1(e, doc)))
    send(first, awarenessFrame(doc))
    send(first, syncFrame((e) => syncProtocol.writeSyncStep2(e, doc)))
    for (const edit of [() => text.insert(0, 'ab'), () => text.delete(0, 1), () => text.insert(1, 'c')]) {
      const before = Y.encodeStateVector(doc)
      edit()
      send(first, syncFrame((e) => syncProtocol.writeUpdate(e, Y.encodeStateAsUpdate(doc, before))))
    }
    // Nothing held back: the deletion and the insert after it went out without waiting for an ack.
    assert.deepEqual(first.frames, frames)
    assert.ok(first.frames.every((frame, index) => frame === frames[index]), 'the very frames the provider sent')
    assert.deepEqual(
      counted.map(({ socket, message }) => [socket === first, message.kind, message.number]),
      [
        [true, 'sync-step-2', 1],
        [true, 'update', 2],
        [true, 'update', 3],
        [true, 'update', 4],
      ],
    )

    // A new socket is a new connection: its numbers start at 1, as the server's count does.
    const second = create()
    second.send(syncFrame((e) => syncProtocol.writeSyncStep1(e, doc)))
    second.send(syncFrame((e) => syncProtocol.writeSyncStep2(e, doc)))
    first.send(syncFrame((e) => syncProtocol.writeUpdate(e, Y.encodeStateAsUpdate(doc))))
    assert.deepEqual(
      counted.slice(4).map(({ socket, message }) => [socket === second, message.kind, message.number]),
      [
        [true, 'sync-step-2', 1],
        [false, 'update', 5],
      ],
    )
  })

  test('an update before the socket’s first sync step 2 is not sent: that sync step 2 carries it with what it depends on', () => {
    const { counted, create } = countingSockets()
    const doc = new Y.Doc()
    const socket = create()
    socket.send(syncFrame((e) => syncProtocol.writeSyncStep1(e, doc)))
    doc.getMap('m').set('typed', 'before the handshake')
    const early = syncFrame((e) => syncProtocol.writeUpdate(e, Y.encodeStateAsUpdate(doc)))
    socket.send(early)
    assert.ok(!socket.frames.includes(early), 'held back')
    const step2 = syncFrame((e) => syncProtocol.writeSyncStep2(e, doc))
    socket.send(step2)
    const later = syncFrame((e) => syncProtocol.writeUpdate(e, Y.encodeStateAsUpdate(doc)))
    socket.send(later)
    assert.deepEqual(socket.frames.slice(1), [step2, later])
    assert.deepEqual(
      counted.map(({ message }) => [message.kind, message.number]),
      [
        ['sync-step-2', 1],
        ['update', 2],
      ],
    )
  })

  test('a frame the socket refuses (not open yet) is not counted', () => {
    const { counted, create } = countingSockets()
    const socket = create()
    socket.open = false
    const frame = syncFrame((e) => syncProtocol.writeSyncStep2(e, new Y.Doc()))
    assert.throws(() => socket.send(frame), /not open/)
    socket.open = true
    socket.send(frame)
    assert.deepEqual(
      counted.map(({ message }) => message.number),
      [1],
    )
  })
})
