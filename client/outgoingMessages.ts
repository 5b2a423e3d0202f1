import * as decoding from 'lib0/decoding'

/** A WebSocket class as the browser defines it; `ws` is passed in this shape in Node. */
export type WebSocketClass = typeof globalThis.WebSocket

/** A message the server counts, and acknowledges once durable. */
export type CountedMessageKind = 'sync-step-2' | 'update'

/** A sync-step-2 or update message that went out on a socket. */
export interface CountedMessage {
  readonly kind: CountedMessageKind
  /** 1 for the first counted message of the socket, 2 for the next…: the server counts the same way. */
  readonly number: number
  /** The Yjs update the message carries (a view into the sent frame: copy it to keep it). */
  readonly update: Uint8Array
}

const MESSAGE_SYNC = 0
const SYNC_STEP_2 = 1
const SYNC_UPDATE = 2

/**
 * Reads an outgoing frame: a y-protocols sync step 2 or update message (varUint 0, then 1 or 2)
 * yields its kind and update; anything else (sync step 1, awareness, a frame it cannot read)
 * yields null. These are exactly the frames the server counts (server/writePath.ts).
 */
export const readCountedMessage = (data: unknown): Omit<CountedMessage, 'number'> | null => {
  let bytes: Uint8Array
  if (data instanceof Uint8Array) bytes = data
  else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data)
  else return null
  try {
    const decoder = decoding.createDecoder(bytes)
    if (decoding.readVarUint(decoder) !== MESSAGE_SYNC) return null
    const syncType = decoding.readVarUint(decoder)
    if (syncType !== SYNC_STEP_2 && syncType !== SYNC_UPDATE) return null
    return { kind: syncType === SYNC_STEP_2 ? 'sync-step-2' : 'update', update: decoding.readVarUint8Array(decoder) }
  } catch {
    return null
  }
}

/**
 * A subclass of `Base` that numbers the sync-step-2 and update messages sent on each socket and
 * reports each one to `onCounted`, after handing it to the socket. Every frame goes out as the
 * provider sent it, at once — except update messages before the socket's first sync step 2, which
 * that sync step 2 carries anyway (see `send`).
 *
 * Why the socket: the stock WebsocketProvider sends from three places (sync step 1 on open, the
 * sync step 2 it answers the server's step 1 with, each local update) straight to its socket, and
 * has no send method to wrap. The socket sees every frame, with its exact bytes, and a socket is
 * one connection, so its counter starts at zero for each connection, as the server's does.
 */
export const countingWebSocketClass = (
  Base: WebSocketClass,
  onCounted: (socket: WebSocket, message: CountedMessage) => void,
): WebSocketClass => {
  const counts = new WeakMap<WebSocket, number>()
  const handshakeDone = new WeakSet<WebSocket>()
  return class CountingWebSocket extends Base {
    override send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
      const message = readCountedMessage(data)
      // An edit made after the socket opened but before our sync step 2 went out may depend on
      // changes the server does not have yet (made offline): sent now, it would overtake them and
      // the server would have to drop it and resync (4503). It is not sent: the sync step 2,
      // computed from the whole doc when the server asks, carries it together with what it depends on.
      if (message?.kind === 'update' && !handshakeDone.has(this)) return
      // Throws for a socket that is not open yet: then nothing went out and nothing is counted.
      super.send(data)
      if (message === null) return
      if (message.kind === 'sync-step-2') handshakeDone.add(this)
      const number = (counts.get(this) ?? 0) + 1
      counts.set(this, number)
      onCounted(this, { ...message, number })
    }
  }
}
