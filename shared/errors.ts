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
  /**
   * The update creates structs under a Yjs client id another user (or the server) already wrote
   * under in this document: Yjs would take them as that user's, and that user's own later changes
   * under the id as already known, and drop them. The first writer of a client id owns it.
   */
  ForeignClientId: 'ERR_FOREIGN_CLIENT_ID',
  /**
   * The update carries a GC range past what the server knows of its client id that the update
   * itself does not delete. Yjs writes a GC only for deleted content, so such a range is garbage
   * of nothing: it would mark clocks as known that nobody wrote (a burnt range).
   */
  UndeletedGcRange: 'ERR_UNDELETED_GC_RANGE',
  /** Content without a key written into a map root (array-style items under a map such as `meta`). */
  UnkeyedMapContent: 'ERR_UNKEYED_MAP_CONTENT',
  /** Y.applyUpdate threw: the room was reloaded from disk and the update dropped. */
  UpdateApplyFailed: 'ERR_UPDATE_APPLY_FAILED',
  /**
   * The update would nest shared types (rich-text elements) deeper than maxRichTextDepth. Refused
   * whole, before it is applied: deep trees overflow the stack of whatever walks them.
   */
  NestingTooDeep: 'ERR_NESTING_TOO_DEEP',
  /**
   * Handling a frame threw unexpectedly (a bug, not the peer's fault): the room's peers are closed,
   * the room reloads from disk, and they reconnect and resync. Other rooms are not affected.
   */
  RoomFailed: 'ERR_ROOM_FAILED',
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
  /**
   * An awareness state (one client's presence) above maxAwarenessStateBytes: refused, not relayed;
   * the connection stays (a notice tells a client that asked for extension messages).
   */
  AwarenessStateTooLarge: 'ERR_AWARENESS_STATE_TOO_LARGE',
  /** An awareness state nested deeper than stock clients can re-encode (they recurse): refused, not relayed. */
  AwarenessStateTooDeep: 'ERR_AWARENESS_STATE_TOO_DEEP',
  /** An awareness state whose `user` names someone other than the token's user: refused, not relayed. */
  AwarenessIdentityMismatch: 'ERR_AWARENESS_IDENTITY_MISMATCH',
  /** An awareness state (or its removal) for a client id whose presence another user set. */
  AwarenessNotYours: 'ERR_AWARENESS_NOT_YOURS',
  /** Too many upgrade requests are waiting for their token to be verified. */
  TooManyPendingConnections: 'ERR_TOO_MANY_PENDING_CONNECTIONS',
  /** No review item with this id in the caller's tenant. */
  ReviewNotFound: 'ERR_REVIEW_NOT_FOUND',
  /** The review item was already approved, rejected or found stale. */
  ReviewAlreadyDecided: 'ERR_REVIEW_ALREADY_DECIDED',
  /** No conflict with this id in the document (dismissal). */
  ConflictNotFound: 'ERR_CONFLICT_NOT_FOUND',
  /** Only the person whose value a conflict replaced may dismiss it. */
  ConflictNotYours: 'ERR_CONFLICT_NOT_YOURS',
  /** The admin API needs a token with the admin role. */
  AdminOnly: 'ERR_ADMIN_ONLY',
  /**
   * The caller may not decide this review item: the rule that held it names who may (a manager for
   * financial figures, a legal user for legal text, an admin for anything), and they are not that.
   */
  NotReviewer: 'ERR_NOT_REVIEWER',
  /** Restoring an earlier version is for managers and admins; editors and viewers are refused. */
  RestoreNotAllowed: 'ERR_RESTORE_NOT_ALLOWED',
  /** No event with this number in the document's retained history (pruned, or never written). */
  EventNotFound: 'ERR_EVENT_NOT_FOUND',
  /**
   * An imported update depends on changes the document does not have: Yjs would keep that part
   * pending and integrate it later inside someone else's change, so the import is refused whole.
   * (An export carries a document's whole state; a part of one cannot be merged on its own.)
   */
  ImportIncomplete: 'ERR_IMPORT_INCOMPLETE',
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
  /**
   * Cluster mode: a write carried a fencing epoch lower than one that has already written the
   * document (another node took it over). Nothing of the write was stored; the writer has lost
   * the document and must stop writing and broadcasting it.
   */
  StaleEpoch: 'ERR_STALE_EPOCH',
  /** Cluster mode: Redis (which holds the document leases) did not answer in time or is unreachable. */
  LeaseUnavailable: 'ERR_LEASE_UNAVAILABLE',
  /** Configuration is invalid. */
  BadConfig: 'ERR_BAD_CONFIG',
  /**
   * Admin CLI: the target already holds data — a PostgreSQL database that holds documents (copy
   * into it was not asked for), or a directory a backup is restored into that is not empty.
   */
  TargetNotEmpty: 'ERR_TARGET_NOT_EMPTY',
  /** Admin CLI copy into PostgreSQL: a document or its event log reads differently in the target after the copy. */
  CopyMismatch: 'ERR_COPY_MISMATCH',
  /** Device trust (mutual TLS) is on and the connection presented no client certificate. */
  ClientCertMissing: 'ERR_CLIENT_CERT_MISSING',
  /** The client certificate is not signed by the configured client CA, or is expired or otherwise invalid. */
  ClientCertUntrusted: 'ERR_CLIENT_CERT_UNTRUSTED',
  /** The client certificate is listed in the configured CRL. */
  ClientCertRevoked: 'ERR_CLIENT_CERT_REVOKED',
  /** The token's `device` claim is not the device the client certificate names (its subject CN). */
  DeviceMismatch: 'ERR_DEVICE_MISMATCH',
  /** MFA is required and the token's `amr` claim shows no second factor. */
  MfaRequired: 'ERR_MFA_REQUIRED',
  /**
   * Cluster mode: this node no longer owns the document (its lease lapsed or was taken, or the
   * store refused its epoch), or the node the client was forwarded to went away. Reconnect: the
   * next connection reaches the document's current owner.
   */
  DocumentMoved: 'ERR_DOCUMENT_MOVED',
  /** Cluster mode: the document's owner is known but cannot be reached (dead, its lease not yet expired). Retry later. */
  OwnerUnreachable: 'ERR_OWNER_UNREACHABLE',
  /** Cluster mode: a node-to-node request without a valid signature (forged, or older than its window). */
  NodeAuthFailed: 'ERR_NODE_AUTH_FAILED',
  /**
   * The development front (`npm run cluster`): no node accepted the connection, or the node it
   * reached closed it or stayed silent past the answer timeout before answering (HTTP 502).
   */
  NodeUnreachable: 'ERR_NODE_UNREACHABLE',
  /** At rest: the master key (file or variable) is not 32 bytes of base64, or cannot be read. */
  BadMasterKey: 'ERR_BAD_MASTER_KEY',
  /** At rest: the store holds encrypted data and no master key was given; nothing was read or written. */
  MasterKeyRequired: 'ERR_MASTER_KEY_REQUIRED',
  /** At rest: the master key given does not open the store's canary (another key); nothing was read or written. */
  WrongMasterKey: 'ERR_WRONG_MASTER_KEY',
  /** At rest: a master key was given but the store already holds data stored without encryption. */
  StoreNotEncrypted: 'ERR_STORE_NOT_ENCRYPTED',
  /**
   * At rest: a stored record does not decrypt where it is: altered, or moved from another document,
   * tenant, record kind or position (its associated data differs), or plain where a sealed one belongs.
   */
  RecordNotAuthentic: 'ERR_RECORD_NOT_AUTHENTIC',
  /** At rest: a stored record names a data key the keyring does not hold (deleted, or from another store). */
  UnknownDataKey: 'ERR_UNKNOWN_DATA_KEY',
  /** A backup file is not one, was cut short, fails its SHA-256 checksum, or a record in it does not decode. */
  BackupDamaged: 'ERR_BACKUP_DAMAGED',
  /** Backups of the server's own format need the LevelDB store; a PostgreSQL store is backed up with pg_dump. */
  BackupUnsupported: 'ERR_BACKUP_UNSUPPORTED',
  /** As many online backups as allowed are streaming already (each holds a snapshot): retry once one is done. */
  BackupInProgress: 'ERR_BACKUP_IN_PROGRESS',
  /** Archiving a document (and bringing it back) needs the manager or admin role: HTTP 403. */
  ManagerOnly: 'ERR_MANAGER_ONLY',
  /** No document of that name in the caller's tenant (archive, duplicate): HTTP 404. */
  DocumentNotFound: 'ERR_DOCUMENT_NOT_FOUND',
  /** Access audit report: the period holds more access records than one report lists; ask for a shorter one. */
  AuditRangeTooLarge: 'ERR_AUDIT_RANGE_TOO_LARGE',
  /**
   * A socket without an authenticated upgrade closed to make room: its address held
   * maxUnauthenticatedPerAddress such sockets. Never sent (the socket is cut); recorded in the access audit.
   */
  TooManyUnauthenticatedFromAddress: 'ERR_TOO_MANY_UNAUTHENTICATED_FROM_ADDRESS',
  /** The same, because the server held maxUnauthenticatedSockets such sockets in total. */
  TooManyUnauthenticated: 'ERR_TOO_MANY_UNAUTHENTICATED',
  /** A TLS handshake failed (an old protocol version, no shared cipher, not TLS). Never sent (no channel yet); recorded in the access audit. */
  TlsHandshakeFailed: 'ERR_TLS_HANDSHAKE_FAILED',
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
