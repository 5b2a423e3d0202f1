import { ErrorCode } from './errors.ts'

/**
 * WebSocket close codes, shared by server and client. 1xxx are the RFC 6455 codes the server uses;
 * 4xxx are application codes whose last three digits echo the nearest HTTP status, so a reader
 * guesses their meaning. Every code is documented in README and covered by a test.
 */
export const CloseCode = {
  /** Server shutdown (RFC 6455 "going away"); the client reconnects to the next instance. */
  GoingAway: 1001,
  /** A frame above maxPayload; `ws` closes with this itself. */
  MessageTooBig: 1009,
  /**
   * Handling a frame failed unexpectedly (RFC 6455 "internal error"): the room reloads from disk.
   * Stock clients reconnect and resync (it is outside 4400–4499, which they treat as permanent).
   */
  InternalError: 1011,
  /**
   * Sustained abuse of the inbound budget (RFC 6455 "try again later"). Over budget a connection
   * is first slowed (its socket is not read); it is closed only when it owes more than a minute of
   * budget. Not 4429: stock y-websocket 3 stops reconnecting after 44xx, and an office behind one
   * address would stay offline; every client (y-websocket 2 and 3, ours) retries 1013.
   */
  RateLimited: 1013,
  /** A frame that is not a y-protocols message, or an unknown message type. */
  MalformedMessage: 4400,
  /** The token expired during the connection; reconnect with a fresh one (getToken). */
  Unauthorized: 4401,
  /** The token does not grant access to this document. */
  Forbidden: 4403,
  /** The peer did not read what it was sent fast enough (send buffer above maxBufferedBytes). */
  SlowReader: 4408,
  /** An update that failed the structural check or threw while being applied. */
  InvalidUpdate: 4422,
  /**
   * Reconnect and resync: the update depended on changes the server does not have yet. In the
   * 4500 range because stock y-websocket (≥ 3) reconnects after 45xx and gives up after 44xx.
   */
  ResyncRequired: 4503,
  /** The server could not make an update durable; nothing was acknowledged. Reconnect resends it. */
  PersistenceFailed: 4500,
  /**
   * Cluster mode: the node serving the connection lost the document or cannot reach its owner
   * (the echo is 502, a gateway's trouble). Reconnect: the next connection reaches the current
   * owner. In the 4500 range, which stock y-websocket reconnects after.
   */
  DocumentMoved: 4502,
} as const
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode]

/**
 * Close codes after which a client must not reconnect on its own: it would resend the same
 * refused state (or credentials) and loop. 4401 is not here: a fresh token from getToken fixes it.
 */
export const TERMINAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.Forbidden,
  CloseCode.MalformedMessage,
  CloseCode.InvalidUpdate,
  CloseCode.MessageTooBig,
])

/** The close code used for each error code a peer can be disconnected with. */
export const closeCodeFor = (code: ErrorCode): CloseCode => {
  switch (code) {
    case ErrorCode.MalformedMessage:
    case ErrorCode.UnknownMessageType:
      return CloseCode.MalformedMessage
    case ErrorCode.MalformedUpdate:
    case ErrorCode.UpdateCountsOutOfRange:
    case ErrorCode.UpdateApplyFailed:
    case ErrorCode.UnknownRoot:
    case ErrorCode.NestingTooDeep:
    case ErrorCode.ForeignClientId:
    case ErrorCode.UndeletedGcRange:
    case ErrorCode.UnkeyedMapContent:
      return CloseCode.InvalidUpdate
    case ErrorCode.ResyncRequired:
      return CloseCode.ResyncRequired
    case ErrorCode.RoomFailed:
      return CloseCode.InternalError
    case ErrorCode.MessageTooBig:
      return CloseCode.MessageTooBig
    case ErrorCode.PersistenceFailed:
      return CloseCode.PersistenceFailed
    case ErrorCode.DocumentMoved:
    case ErrorCode.OwnerUnreachable:
      return CloseCode.DocumentMoved
    case ErrorCode.RateLimitedMessages:
    case ErrorCode.RateLimitedBytes:
      return CloseCode.RateLimited
    case ErrorCode.SlowReader:
      return CloseCode.SlowReader
    case ErrorCode.TokenMissing:
    case ErrorCode.TokenInvalid:
    case ErrorCode.TokenExpired:
    case ErrorCode.TokenClaims:
    case ErrorCode.MfaRequired:
    case ErrorCode.ClientCertMissing:
    case ErrorCode.ClientCertUntrusted:
    case ErrorCode.ClientCertRevoked:
      return CloseCode.Unauthorized
    case ErrorCode.DeviceMismatch:
      return CloseCode.Forbidden
    case ErrorCode.AwarenessTooLarge:
      return CloseCode.MessageTooBig
    default:
      return CloseCode.GoingAway
  }
}

/**
 * A close reason is limited to 123 bytes by RFC 6455. The reason is `<ERROR_CODE>: <message>`,
 * so a program can read the code with `parseCloseReason`.
 */
export const formatCloseReason = (code: ErrorCode, message: string): string => {
  const reason = `${code}: ${message}`
  const bytes = new TextEncoder().encode(reason)
  if (bytes.length <= 123) return reason
  // Cut at a byte boundary and drop a code point the cut may have split.
  return new TextDecoder().decode(bytes.subarray(0, 120)).replace(/\uFFFD$/, '') + '...'
}

export const parseCloseReason = (reason: string): { code: string | null; message: string } => {
  const match = /^(ERR_[A-Z0-9_]+): ?(.*)$/s.exec(reason)
  return match ? { code: match[1] ?? null, message: match[2] ?? '' } : { code: null, message: reason }
}
