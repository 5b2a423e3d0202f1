import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import type { AcknowledgedMessageKind } from './savedTracker.ts'

/** A WebSocket class as the browser defines it; `ws` is passed in this shape in Node. */
export type WebSocketClass = typeof globalThis.WebSocket

/** A sync message the server acknowledges once it is durable, with the update it carries. */
export interface AcknowledgedMessage {
  readonly kind: AcknowledgedMessageKind
  readonly update: Uint8Array
}

const MESSAGE_SYNC = 0
const SYNC_STEP_2 = 1
const SYNC_UPDATE = 2

/**
 * Reads an outgoing frame: a y-protocols sync step 2 or update message yields its kind and update;
 * anything else (sync step 1, awareness, a frame it cannot read) yields null.
 */
export const readAcknowledgedMessage = (data: unknown): AcknowledgedMessage | null => {
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

export const encodeAcknowledgedMessage = ({ kind, update }: AcknowledgedMessage): Uint8Array => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_SYNC)
  encoding.writeVarUint(encoder, kind === 'sync-step-2' ? SYNC_STEP_2 : SYNC_UPDATE)
  encoding.writeVarUint8Array(encoder, update)
  return encoding.toUint8Array(encoder)
}

/**
 * Keeps at most one acknowledged message (sync step 2 or update) in flight on a socket. While one
 * is in flight, the updates the provider sends are held and merged; the ack releases them as one
 * message. Pure logic: the socket subclass below asks it what to do with each frame.
 *
 * Why: the server acknowledges once per durable *write*, and merges the messages that arrive
 * while a write is in flight into one write. With several messages in flight the client cannot
 * tell which of them an ack covers, and a deletion (which no state vector shows) could never be
 * known saved. With one in flight, acks and messages pair up one to one. It costs little: edits
 * made during a round trip travel together, as they would have been written together anyway.
 *
 * Relies on the server acknowledging every sync-step-2 / update message of an opted-in (`ext=1`)
 * connection, or closing it. A server that never acks would receive only the first message.
 */
export class SendGate {
  private inFlight = false
  private held: Uint8Array[] = []
  private heldSyncStep2 = false

  /** `onSent` hears of every acknowledged message as it goes out, in order. */
  constructor(private readonly onSent: (message: AcknowledgedMessage) => void) {}

  /** A frame the provider sends on the current socket: true to send it now, false when held. */
  outgoing(data: unknown): boolean {
    const message = readAcknowledgedMessage(data)
    if (message === null) return true
    if (this.inFlight) {
      this.held.push(message.update)
      if (message.kind === 'sync-step-2') this.heldSyncStep2 = true
      return false
    }
    this.inFlight = true
    this.onSent(message)
    return true
  }

  /**
   * The in-flight message was acknowledged. Returns the frame to send now (everything held, merged)
   * or null. `onSent` hears of that frame before this returns, so a tracker sees it go out before
   * it sees the ack that released it.
   */
  acknowledged(): Uint8Array | null {
    if (this.held.length === 0) {
      this.inFlight = false
      return null
    }
    const updates = this.held
    const message: AcknowledgedMessage = {
      // A held sync step 2 makes the merged message one: it carries what the server lacked.
      kind: this.heldSyncStep2 ? 'sync-step-2' : 'update',
      update: updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates),
    }
    this.held = []
    this.heldSyncStep2 = false
    this.onSent(message)
    return encodeAcknowledgedMessage(message)
  }

  /** The socket closed: what was held is dropped (the next sync step 2 carries it). */
  reset(): void {
    this.inFlight = false
    this.held = []
    this.heldSyncStep2 = false
  }
}

/** A socket of the class `gatedWebSocketClass` returns. */
export interface GatedSocket extends WebSocket {
  /** Sends past the gate: for the frame the gate releases on an ack. */
  sendPastGate(data: Uint8Array): void
}

/**
 * A subclass of `Base` whose `send` asks `allow(socket, data)` first. The stock WebsocketProvider
 * sends on its own (the sync step 2 answer, each local update), so the socket is where the client
 * can see and pace those messages without changing the provider.
 */
export const gatedWebSocketClass = (Base: WebSocketClass, allow: (socket: GatedSocket, data: unknown) => boolean): WebSocketClass =>
  class GatedWebSocket extends Base implements GatedSocket {
    override send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
      if (allow(this, data)) super.send(data)
    }

    sendPastGate(data: Uint8Array): void {
      super.send(data)
    }
  }
