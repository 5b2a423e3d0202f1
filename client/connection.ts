import type * as decoding from 'lib0/decoding'
import type { ConflictRecord } from '../shared/conflictRecord.ts'
import { ObservableV2 } from 'lib0/observable'
import type { Awareness } from 'y-protocols/awareness'
import { WebsocketProvider } from 'y-websocket'
import type * as Y from 'yjs'
import { CloseCode, TERMINAL_CLOSE_CODES, parseCloseReason } from '../shared/closeCodes.ts'
import { CollabError, ErrorCode } from '../shared/errors.ts'
import {
  EXTENSION_QUERY_PARAM,
  EXTENSION_VERSION,
  MESSAGE_EXTENSION,
  readExtensionMessage,
  type DigestResult,
  type Notice,
  type PendingReview,
} from '../shared/extensionProtocol.ts'
import { tokenSubprotocols } from '../shared/tokenTransport.ts'
import { countingWebSocketClass, type CountedMessage, type WebSocketClass } from './outgoingMessages.ts'

/**
 * Where a document stands with the server:
 *  - `offline`: not connected, and either not trying (`connect: false`, `disconnect()`, a
 *    terminal close, destroyed) or the last attempt failed (server unreachable, refused, or the
 *    token could not be fetched). Attempts go on in the background with backoff while wanted, but
 *    do not flip the status back to `connecting`: a laptop without network shows `offline`, not a
 *    flicker. The next status after a successful attempt is `syncing`.
 *  - `connecting`: a connection is being set up (waiting for the local state to load, fetching a
 *    token, the socket opening) for the first time after `connect()`, or again right after an
 *    established connection dropped (including the short backoff before that reconnect).
 *  - `syncing`: the socket is open; the server's sync step 2 has not arrived yet.
 *  - `synced`: the server's sync step 2 arrived; local and server state are exchanged.
 */
export type ConnectionStatus = 'offline' | 'connecting' | 'syncing' | 'synced'

/** An open connection was closed by the other side (the server, or the network in between). */
export interface CloseInfo {
  /** The WebSocket close code: 1001, 1009, 4xxx from shared/closeCodes.ts; 1006 when the connection was lost. */
  readonly code: number
  /** The close reason as sent, `<ERROR_CODE>: message` when the server closed deliberately. */
  readonly reason: string
  /**
   * The ERR_* code: read from the reason, or implied by the close code where that is unambiguous
   * (1009: `ws` closes a too-big frame itself, with an empty reason). Null when neither says.
   */
  readonly errorCode: string | null
  /** False when the code is terminal (TERMINAL_CLOSE_CODES): the handle stays offline until `connect()`. */
  readonly willReconnect: boolean
}

export interface ConnectionOptions {
  /** The server's WebSocket URL, without the document path. */
  readonly url: string
  /** The room: `<type>/<id>`. */
  readonly room: string
  readonly doc: Y.Doc
  readonly WebSocket: WebSocketClass
  readonly token?: string | undefined
  readonly getToken?: (() => Promise<string> | string) | undefined
  /** Upper bound of the exponential reconnect backoff, in ms. */
  readonly maxBackoffMs: number
  /** Settles (either way) when the first connection may start: once the local state is loaded. */
  readonly ready: Promise<unknown>
  /** The device's network state, where the platform knows it (browsers); null: assume online. */
  readonly network: NetworkSignal | null
}

/**
 * What the platform knows about the network (browsers: `navigator.onLine` and the online/offline
 * events). False means surely offline; true means maybe online — it only decides when to try.
 */
export interface NetworkSignal {
  online(): boolean
  /** Calls `listener` on every change; returns the unsubscribe function. */
  subscribe(listener: (online: boolean) => void): () => void
}

export interface ConnectionEvents {
  status: (status: ConnectionStatus) => void
  closed: (info: CloseInfo) => void
  /**
   * Messages of ours became durable: the server's durable state vector, and how many of the
   * current connection's sync-step-2 / update messages are durable now (cumulative).
   */
  ack: (durableStateVector: Uint8Array, durableMessages: number) => void
  notice: (notice: Notice) => void
  /** The changes of this document held for review that we may see (the whole list, each time). */
  pendingReviews: (reviews: readonly PendingReview[]) => void
  /** This user's open conflicts in the document (the whole list, on connect and when it changes). */
  conflicts: (conflicts: readonly ConflictRecord[]) => void
  /** The server's answer to our digest check (see client/integrityCheck.ts). */
  digestResult: (result: DigestResult) => void
  /** A sync-step-2 or update message went out on the current socket, numbered from 1 per connection. */
  sent: (message: CountedMessage) => void
  /** The current socket closed (for any reason, also locally): message numbers start again. */
  disconnected: () => void
  error: (error: Error) => void
}

/** Close codes whose error code `ws` does not put in the reason. */
const IMPLIED_ERROR_CODES: ReadonlyMap<number, string> = new Map([[CloseCode.MessageTooBig, ErrorCode.MessageTooBig]])

export const describeClose = (code: number, reason: string, willReconnect: boolean): CloseInfo => ({
  code,
  reason,
  errorCode: parseCloseReason(reason).code ?? IMPLIED_ERROR_CODES.get(code) ?? null,
  willReconnect,
})

/**
 * What the connection is doing: nothing; getting ready for a socket (local state, token); waiting
 * out the backoff before the next attempt; or a provider socket exists (opening or open).
 */
type Phase = 'idle' | 'preparing' | 'waiting' | 'socket'

/**
 * One document's link to the server, built on the stock y-websocket WebsocketProvider. The
 * provider does the sync and awareness protocol; this class owns *when* to connect, because a
 * token must be fetched (asynchronously) before each attempt, and the provider's own reconnect
 * timer opens its socket synchronously. Invariant: `provider.shouldConnect` is true only while the
 * provider has a socket, so the provider's reconnect timers always find nothing to do.
 */
export class Connection extends ObservableV2<ConnectionEvents> {
  readonly provider: WebsocketProvider
  private phase: Phase = 'idle'
  /** The user wants a connection (connect() and no disconnect(), destroy() or terminal close since). */
  private wanted = false
  /** The last attempt failed before its socket opened. */
  private lastAttemptFailed = false
  /** Attempts since the last sync, for the backoff. */
  private failures = 0
  private retryTimer: ReturnType<typeof setTimeout> | null = null
  /** Incremented by every attempt and by disconnect(), so a stale async attempt gives up. */
  private attemptId = 0
  private currentStatus: ConnectionStatus = 'offline'
  private destroyed = false
  /** The latest update message sent on the current socket (null before the first, and after it closed). */
  private lastUpdateMessage: CountedMessage | null = null
  /** False while the platform says the device is offline: no attempts then, and none to wait out after. */
  private networkOnline: boolean
  private readonly unsubscribeNetwork: () => void

  constructor(private readonly options: ConnectionOptions) {
    super()
    // A stale socket (already replaced) belongs to a connection whose counts are over.
    const CountingWebSocket = countingWebSocketClass(options.WebSocket, (socket, message) => {
      if (socket === this.provider.ws) this.onMessageSent(message)
    })
    this.provider = new WebsocketProvider(options.url, options.room, options.doc, {
      connect: false,
      // Node has no tabs; in browsers, cross-tab sync would bypass the server's validation gate.
      disableBc: true,
      WebSocketPolyfill: CountingWebSocket,
      params: { [EXTENSION_QUERY_PARAM]: EXTENSION_VERSION },
      // The token travels in Sec-WebSocket-Protocol, never in the URL: a URL shows up in the
      // browser console at every refused or retried connection (and in proxy logs).
      protocols: tokenSubprotocols(options.token),
      maxBackoffTime: options.maxBackoffMs,
      // onConnectionClose decides about reconnecting; the provider must never stop on its own.
      shouldReconnect: () => true,
    })
    // y-websocket dispatches on `provider.messageHandlers[type]`; 100 is the PosalPro extension.
    this.provider.messageHandlers[MESSAGE_EXTENSION] = (_encoder, decoder) => this.onExtensionMessage(decoder)
    this.provider.on('status', this.onProviderStatus)
    this.provider.on('sync', this.onProviderSync)
    this.provider.on('connection-close', this.onConnectionClose)
    this.networkOnline = options.network?.online() ?? true
    this.unsubscribeNetwork = options.network?.subscribe(this.onNetworkChange) ?? (() => {})
  }

  get status(): ConnectionStatus {
    return this.currentStatus
  }

  get awareness(): Awareness {
    return this.provider.awareness
  }

  /**
   * The number of the update message of the current connection that carries `update` (a local
   * doc update), or null when none does: the provider did not send it (no open socket), so it
   * waits for the next sync step 2.
   *
   * Call it from a doc 'update' listener registered after this connection was created: the
   * provider's own listener (registered in the constructor) runs first, as lib0 calls listeners in
   * registration order, so a sent update is the latest update message. Its bytes are compared, so
   * a listener that ran first would get null (saved waits for a reconnect), never a wrong number.
   */
  messageCarrying(update: Uint8Array): number | null {
    const message = this.lastUpdateMessage
    return message !== null && sameBytes(message.update, update) ? message.number : null
  }

  /** Starts connecting (after the local state loaded) and keeps reconnecting until disconnect(). */
  connect(): void {
    if (this.destroyed || this.wanted) return
    this.wanted = true
    this.lastAttemptFailed = false
    this.failures = 0
    void this.attempt()
  }

  /** Closes the connection and stops reconnecting. */
  disconnect(): void {
    if (!this.wanted) return
    this.wanted = false
    this.attemptId += 1
    this.cancelRetry()
    if (this.phase === 'socket') this.provider.disconnect() // → onConnectionClose
    this.phase = 'idle'
    this.refreshStatus()
  }

  override destroy(): void {
    if (this.destroyed) return
    this.disconnect()
    this.destroyed = true
    this.unsubscribeNetwork()
    this.provider.destroy()
    super.destroy()
  }

  private async attempt(): Promise<void> {
    if (!this.networkOnline) {
      this.scheduleRetry()
      return
    }
    const attemptId = ++this.attemptId
    const current = () => attemptId === this.attemptId && this.wanted && !this.destroyed
    this.phase = 'preparing'
    this.refreshStatus()
    await this.options.ready.catch(() => {}) // a failed local load must not keep the server away
    let token = this.options.token
    if (this.options.getToken) {
      try {
        token = await this.options.getToken()
      } catch (error) {
        if (!current()) return
        this.emit('error', [asError(error, 'getToken failed')])
        this.lastAttemptFailed = true
        this.scheduleRetry()
        return
      }
    }
    if (!current()) return
    // y-websocket reads `protocols` each time it opens a socket.
    this.provider.protocols = tokenSubprotocols(token)
    this.phase = 'socket'
    try {
      this.provider.connect()
    } catch (error) {
      // The WebSocket constructor threw (a malformed URL): retrying cannot help.
      this.provider.shouldConnect = false
      this.wanted = false
      this.phase = 'idle'
      this.refreshStatus()
      this.emit('error', [asError(error, 'could not open a WebSocket')])
      return
    }
    this.refreshStatus()
  }

  private scheduleRetry(): void {
    this.phase = 'waiting'
    if (!this.networkOnline) {
      // No timer: the 'online' event starts the next attempt (onNetworkChange).
      this.lastAttemptFailed = true
      this.refreshStatus()
      return
    }
    this.failures += 1
    const delay = Math.min(2 ** this.failures * 100, this.options.maxBackoffMs)
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      if (this.wanted && !this.destroyed) void this.attempt()
    }, delay)
    this.refreshStatus()
  }

  /**
   * Offline: a socket is dropped at once (browsers keep a dead WebSocket open until a timeout,
   * and its sends vanish) and no attempt is made until the network is back. Online again: the
   * next attempt starts now instead of after the backoff.
   */
  private readonly onNetworkChange = (online: boolean): void => {
    if (online === this.networkOnline) return
    this.networkOnline = online
    if (!this.wanted || this.destroyed) return
    this.attemptId += 1 // an attempt waiting for its token gives up
    this.cancelRetry()
    if (online) {
      this.failures = 0
      void this.attempt()
    } else if (this.phase === 'socket') {
      this.provider.disconnect() // → onConnectionClose → scheduleRetry, which waits for the network
    } else {
      this.scheduleRetry()
    }
  }

  private cancelRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer)
    this.retryTimer = null
  }

  /**
   * The provider emits this before it resets its own state (`wsconnected` still tells whether the
   * socket had opened). `event` is null for a local close (disconnect, or the provider's watchdog).
   */
  private readonly onConnectionClose = (event: CloseEvent | null): void => {
    const wasOpen = this.provider.wsconnected
    this.provider.shouldConnect = false
    this.phase = 'idle'
    this.lastUpdateMessage = null
    this.emit('disconnected', [])
    if (event !== null && TERMINAL_CLOSE_CODES.has(event.code)) this.wanted = false
    const willReconnect = this.wanted && !this.destroyed
    if (willReconnect) {
      this.lastAttemptFailed = !wasOpen
      this.scheduleRetry()
    } else {
      this.refreshStatus()
    }
    if (event !== null && wasOpen) this.emit('closed', [describeClose(event.code, event.reason, willReconnect)])
  }

  private readonly onProviderStatus = ({ status }: { status: 'connected' | 'disconnected' | 'connecting' }): void => {
    if (status === 'connected') this.lastAttemptFailed = false
    this.refreshStatus()
  }

  private readonly onProviderSync = (synced: boolean): void => {
    if (synced) this.failures = 0
    this.refreshStatus()
  }

  private onExtensionMessage(decoder: decoding.Decoder): void {
    let message
    try {
      message = readExtensionMessage(decoder)
    } catch (error) {
      this.emit('error', [new CollabError(ErrorCode.MalformedMessage, `unreadable extension message: ${asError(error, '').message}`)])
      return
    }
    if (message === null) return // a subtype from a newer server
    if (message.kind === 'notice') {
      this.emit('notice', [message.notice])
      return
    }
    if (message.kind === 'pending-reviews') {
      this.emit('pendingReviews', [message.reviews])
      return
    }
    if (message.kind === 'open-conflicts') {
      this.emit('conflicts', [message.conflicts])
      return
    }
    if (message.kind === 'digest-result') {
      this.emit('digestResult', [message.result])
      return
    }
    this.emit('ack', [message.durableStateVector, message.durableMessages])
  }

  /** Sends an extension message on the open socket; false when there is none. */
  sendExtension(message: Uint8Array): boolean {
    const socket = this.provider.ws
    if (this.phase !== 'socket' || socket === null || socket.readyState !== socket.OPEN) return false
    socket.send(message)
    return true
  }

  private onMessageSent(message: CountedMessage): void {
    // A copy: the socket owns the frame the update is a view into.
    if (message.kind === 'update') this.lastUpdateMessage = { ...message, update: message.update.slice() }
    this.emit('sent', [message])
  }

  private refreshStatus(): void {
    const status = this.deriveStatus()
    if (status === this.currentStatus) return
    this.currentStatus = status
    this.emit('status', [status])
  }

  private deriveStatus(): ConnectionStatus {
    if (this.phase === 'idle') return 'offline'
    // Only read the provider's flags while it owns a socket: during a close they are stale.
    if (this.phase === 'socket' && this.provider.wsconnected) return this.provider.synced ? 'synced' : 'syncing'
    return this.lastAttemptFailed ? 'offline' : 'connecting'
  }
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

const asError = (error: unknown, fallback: string): Error =>
  error instanceof Error ? error : new Error(error === undefined ? fallback : String(error))
