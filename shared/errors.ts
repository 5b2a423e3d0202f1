/**
 * Typed errors with stable codes. Codes are for programs (tests, logs, the CLI, close reasons);
 * messages are for people. Every failure the server reports to a peer carries one of these codes.
 */
export const ErrorCode = {
  /** The URL does not name a document as `<type>/<id>`. */
  BadDocumentName: 'ERR_BAD_DOCUMENT_NAME',
  /** The document type is not one of proposal | customer | content. */
  UnknownDocumentType: 'ERR_UNKNOWN_DOCUMENT_TYPE',
  /** A frame could not be decoded as a y-protocols message. */
  MalformedMessage: 'ERR_MALFORMED_MESSAGE',
  /** A frame's message type is not one the server speaks. */
  UnknownMessageType: 'ERR_UNKNOWN_MESSAGE_TYPE',
  /** An update failed the structural check before decoding (truncated, garbage, bad content ref). */
  MalformedUpdate: 'ERR_MALFORMED_UPDATE',
  /** An update's header claims more structs/clients than its bytes can hold (allocation attack). */
  UpdateCountsOutOfRange: 'ERR_UPDATE_COUNTS_OUT_OF_RANGE',
  /** The update writes to a root type the document type does not have (schema of the document). */
  UnknownRoot: 'ERR_UNKNOWN_ROOT',
  /**
   * The update depends on changes the server has not received (Yjs would hold it as pending and
   * integrate it later inside another user's transaction). The connection is closed with a
   * retryable code; the client's reconnect handshake sends everything in order.
   */
  ResyncRequired: 'ERR_RESYNC_REQUIRED',
  /** Y.applyUpdate threw: the room was reloaded from disk and the update dropped. */
  UpdateApplyFailed: 'ERR_UPDATE_APPLY_FAILED',
  /** A frame exceeded maxPayload. */
  MessageTooBig: 'ERR_MESSAGE_TOO_BIG',
  /** A write to LevelDB failed: nothing was acknowledged, the room is reloaded from disk. */
  PersistenceFailed: 'ERR_PERSISTENCE_FAILED',
  /** The data directory is held by another process (LevelDB's lock): a server already runs on it. */
  DataDirLocked: 'ERR_DATA_DIR_LOCKED',
  /** Far more messages than a connection's or its user's budget, for a sustained time: closed, retry later. */
  RateLimitedMessages: 'ERR_RATE_LIMITED_MESSAGES',
  /** Far more bytes than a connection's or its user's budget, for a sustained time: closed, retry later. */
  RateLimitedBytes: 'ERR_RATE_LIMITED_BYTES',
  /** The peer reads slower than the document changes: its send buffer passed maxBufferedBytes. */
  SlowReader: 'ERR_SLOW_READER',
  /** The request carries no token (no `token` query parameter, no `bearer.` subprotocol entry). */
  TokenMissing: 'ERR_TOKEN_MISSING',
  /** The token cannot be trusted: not a JWT, `alg` not the configured one (none, HS256 on RS256 …), bad signature. */
  TokenInvalid: 'ERR_TOKEN_INVALID',
  /** The token's `exp` has passed (beyond the clock tolerance), at the upgrade or during a connection. */
  TokenExpired: 'ERR_TOKEN_EXPIRED',
  /** Good signature, unacceptable claims: missing `exp`, `exp` in milliseconds, unknown role, wrong issuer/audience … */
  TokenClaims: 'ERR_TOKEN_CLAIMS',
  /** A bad `GET /dev/token` request (dev mode only). */
  DevTokenRequest: 'ERR_DEV_TOKEN_REQUEST',
  /** A viewer (read-only role) sent a change: it is not applied, persisted or broadcast. */
  ReadOnly: 'ERR_READ_ONLY',
  /** An awareness update above the size allowed for this connection. */
  AwarenessTooLarge: 'ERR_AWARENESS_TOO_LARGE',
  /** Too many upgrade requests are waiting for their token to be verified. */
  TooManyPendingConnections: 'ERR_TOO_MANY_PENDING_CONNECTIONS',
  /** No review item with this id in the caller's tenant. */
  ReviewNotFound: 'ERR_REVIEW_NOT_FOUND',
  /** The review item was already approved, rejected or found stale. */
  ReviewAlreadyDecided: 'ERR_REVIEW_ALREADY_DECIDED',
  /** The admin API needs a token with the admin role. */
  AdminOnly: 'ERR_ADMIN_ONLY',
  /** A request the server cannot read: bad JSON or parameter (admin API), malformed HTTP. */
  BadRequest: 'ERR_BAD_REQUEST',
  /** The request's headers passed maxHeaderBytes (e.g. a huge token): HTTP 431. */
  HeadersTooLarge: 'ERR_HEADERS_TOO_LARGE',
  /** The request's headers did not arrive within headersTimeoutMs: HTTP 408. */
  RequestTimeout: 'ERR_REQUEST_TIMEOUT',
  /** The request's Origin header is not in the allow-list. */
  OriginNotAllowed: 'ERR_ORIGIN_NOT_ALLOWED',
  /** The server is shutting down. */
  ShuttingDown: 'ERR_SHUTTING_DOWN',
  /** Client: the document handle was destroyed while something still waited on it (whenSynced, whenSaved). */
  HandleDestroyed: 'ERR_HANDLE_DESTROYED',
  /** Configuration is invalid. */
  BadConfig: 'ERR_BAD_CONFIG',
} as const
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

export class CollabError extends Error {
  override readonly name = 'CollabError'
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message)
  }
}

export const isCollabError = (value: unknown): value is CollabError => value instanceof CollabError
