import { parseArgs } from 'node:util'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { CollabError, ErrorCode } from '../shared/errors.ts'

/** dist/app of this installation, whether the server runs from dist/server or (tsx) from server/. */
const BUILT_APP_DIR = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url))
  const root = path.basename(path.dirname(here)) === 'dist' ? path.resolve(here, '../..') : path.resolve(here, '..')
  return path.join(root, 'dist', 'app')
})()

/**
 * Every server option in one place. Each comment says why the option exists and what breaks when
 * it is changed; README's configuration table lists the same options with their flags and env vars.
 * Precedence: flag > environment variable > default.
 */
export const DEFAULT_CONFIG = {
  /** Loopback by default: a dev server must not be reachable from the network by accident. */
  host: '127.0.0.1',
  /** 1234 is what y-websocket's examples use, so stock demos work unchanged. 0 picks a free port. */
  port: 1234,
  /** Where the embedded LevelDB lives. One server process owns it (LevelDB takes a lock). */
  dataDir: './data',
  /**
   * Largest WebSocket frame accepted. A full-state sync of a big proposal is well under 1 MiB;
   * 8 MiB leaves room for long offline batches while bounding what one frame can make us buffer.
   * Bigger frames are closed with 1009 before they are read into memory.
   */
  maxPayloadBytes: 8 * 1024 * 1024,
  /**
   * Ping interval. A peer that has not answered the previous ping when the next one is due is
   * terminated, so a half-open socket is gone within two intervals. Lower = faster detection,
   * more idle traffic.
   */
  heartbeatIntervalMs: 30_000,
  /**
   * How long an empty room stays in memory after its last peer left. Reconnects (page reloads,
   * flaky networks) within this window do not pay a reload from disk.
   */
  roomUnloadGraceMs: 10_000,
  /**
   * Stored updates per document after which the document is compacted (its updates merged into
   * one) in the background. Lower = more compaction work; higher = slower cold loads.
   */
  compactAfterUpdates: 500,
  /**
   * Under load, at most one LevelDB batch per this many ms (writes are durable in the write-ahead
   * log before that; LevelDB catches up in batches). Lower = LevelDB closer behind the log, more
   * CPU per write (~20 µs per batch); higher = fewer, larger batches, reads of a busy document wait
   * longer for LevelDB. Tests raise it to crash a server whose writes are only in the log.
   */
  storeBatchIntervalMs: 10,
  /**
   * Accepted updates of one document waiting for LevelDB. Above this the room stops reading from
   * its sockets until the store catches up, so a burst cannot grow memory without bound. Group
   * commit merges the queue into one write, so the queue rarely grows unless the disk stalls.
   */
  maxPendingWrites: 1000,
  /**
   * Browser origins allowed to connect (comma-separated in flags/env); empty allows any. Refused
   * origins get HTTP 403 before the upgrade. Non-browser clients send no Origin and are not affected.
   */
  allowedOrigins: '',
  /**
   * Take the client address from the first X-Forwarded-For entry (logs, refusals). Only behind a
   * proxy you run: otherwise any client picks its own address. Every socket then comes from the
   * proxy, so the per-address cap on unauthenticated sockets is not applied (the global one is).
   */
  trustProxy: false,
  /**
   * Inbound budget per user (tenant + user id, all its connections together): sustained messages
   * per second, bursts up to rateMessageBurst. Keyed by who is connected, never by address, so a
   * hundred editors behind one office NAT have a hundred budgets. A user over budget is slowed
   * (its sockets are not read until the debt is paid: TCP backpressure), not closed. Typing with a
   * cursor is ~10 messages/s per tab; 300/s leaves a user many busy tabs.
   */
  rateMessagesPerSecond: 300,
  rateMessageBurst: 2000,
  /**
   * Inbound bytes per second per user; bursts up to rateByteBurst, which must exceed
   * maxPayloadBytes or a large (legal) offline sync step 2 would be slowed at once.
   */
  rateBytesPerSecond: 2 * 1024 * 1024,
  rateByteBurst: 32 * 1024 * 1024,
  /**
   * Inbound budget per connection, inside its user's: one runaway tab is slowed before it spends
   * its user's budget for the user's other tabs. 100/s is ten times typing with a cursor update
   * per keystroke (5 characters/s); the burst covers a reconnect's catch-up.
   */
  connectionMessagesPerSecond: 100,
  connectionMessageBurst: 1000,
  /** Inbound bytes per connection; the burst exceeds maxPayloadBytes (one offline sync at once). */
  connectionBytesPerSecond: 1024 * 1024,
  connectionByteBurst: 16 * 1024 * 1024,
  /**
   * What a connection's own requests (sync step 1, query-awareness: a few bytes each) may make
   * the server send it: bytes per second and burst. A request beyond it is answered late (the
   * latest of each kind), never dropped. Without it a 1-byte query-awareness costs the room's
   * whole presence, and a viewer pulls ~100 MB/s. Broadcasts of others' changes are not counted.
   * The first answer at connect is always sent at once, however big the document.
   */
  replyBytesPerSecond: 1024 * 1024,
  replyByteBurst: 8 * 1024 * 1024,
  /** A query-awareness is answered at most once per this many ms per connection (coalesced). */
  awarenessQueryIntervalMs: 1000,
  /**
   * Time a client has to send its request headers (and the upgrade request). Short, so stalled
   * half-sent requests cannot hold file descriptors: they get a JSON 408 and are closed. Node's
   * 60 s default lets one address park thousands of sockets.
   */
  headersTimeoutMs: 10_000,
  /** Time for a whole HTTP request (admin API bodies); at least headersTimeoutMs. */
  requestTimeoutMs: 30_000,
  /**
   * Largest request head (request line + headers). Tokens are ~1 KB; 16 KiB (Node's default)
   * leaves room. Larger requests get a JSON 431 instead of a reset.
   */
  maxHeaderBytes: 16 * 1024,
  /**
   * Sockets of one address that have not completed an authenticated upgrade (connecting, sending
   * headers, waiting for their token to verify, plain HTTP requests). Past this the address's
   * oldest such socket is closed to make room, so stalled requests cannot pile up while a fresh
   * request (a health check, a neighbour's connect) still gets in. 64 covers an office reconnecting
   * at once: each socket is unauthenticated only for a round trip or two.
   */
  maxUnauthenticatedPerAddress: 64,
  /**
   * The same over all addresses, so the descriptors left (the process's limit, `ulimit -n`) serve
   * authenticated users and health checks. 0: a quarter of the process's descriptor limit.
   */
  maxUnauthenticatedSockets: 0,
  /**
   * A peer whose unsent data passes this is closed (4408): it reads slower than the document
   * changes, and buffering for it without a cap lets one slow client exhaust the server's memory.
   */
  maxBufferedBytes: 16 * 1024 * 1024,
  /**
   * Dev mode (`npm start` turns it on): an HS256 secret is created in the data directory on first
   * start and `GET /dev/token?user=…&role=…&tenant=…` hands out tokens to anyone who can reach the
   * server. For demos and tests only; the server logs a warning at start. Without dev mode the
   * server refuses to start unless one key source below is configured.
   */
  devMode: false,
  /** HS256 shared secret (≥ 32 bytes). Prefer the environment variable: flags show up in `ps`. */
  jwtSecret: '',
  /** A PEM public key file (RS256 or ES256, see jwtAlgorithm) of the identity provider. */
  jwtPublicKeyFile: '',
  /** The algorithm of jwtPublicKeyFile; pinned, never taken from the token. */
  jwtAlgorithm: 'RS256',
  /** A local JWKS file (`{"keys": [...]}`) with the identity provider's public keys. */
  jwksFile: '',
  /** Required `iss` of tokens, when set. */
  jwtIssuer: '',
  /** Required `aud` of tokens, when set. */
  jwtAudience: '',
  /** Seconds of clock skew forgiven on `exp`/`nbf`. */
  jwtClockToleranceSec: 5,
  /**
   * Upgrade requests whose token is still being verified. Verification is async; without a cap a
   * flood of upgrades with junk tokens would queue without bound before any auth completes.
   */
  maxPendingUpgrades: 512,
  /**
   * Largest awareness update (bytes) a viewer may send: viewers may show presence and a cursor,
   * but must not use awareness as a side channel to push data to every peer.
   */
  maxViewerAwarenessBytes: 4096,
  /**
   * The semantic validation gate (rules + compensation). Only ever turned off to measure what it
   * costs (bench/); with it off, any editor can write anything the schema of Yjs allows.
   */
  validationGate: true,
  /**
   * Days of event-log history kept per document (audit trail and time travel). Older events are
   * folded into a base snapshot when a document loads and hourly while it stays loaded, so the log
   * still rebuilds the document. 0 keeps no history beyond the current state.
   */
  eventRetentionDays: 30,
  /** Bearer token `/metrics` requires; empty serves metrics to anyone who reaches the port. */
  metricsToken: '',
  /** pino level: fatal, error, warn, info, debug, trace, silent. */
  logLevel: 'info',
  /**
   * The built demo web app served at `/` (`npm run build` writes it to dist/app). Empty: dist/app
   * of this installation. A directory without index.html serves no app (the API still works).
   */
  appDir: '',
} as const

export type ServerConfig = {
  host: string
  port: number
  dataDir: string
  maxPayloadBytes: number
  heartbeatIntervalMs: number
  roomUnloadGraceMs: number
  compactAfterUpdates: number
  storeBatchIntervalMs: number
  maxPendingWrites: number
  allowedOrigins: string
  trustProxy: boolean
  rateMessagesPerSecond: number
  rateMessageBurst: number
  rateBytesPerSecond: number
  rateByteBurst: number
  connectionMessagesPerSecond: number
  connectionMessageBurst: number
  connectionBytesPerSecond: number
  connectionByteBurst: number
  replyBytesPerSecond: number
  replyByteBurst: number
  awarenessQueryIntervalMs: number
  headersTimeoutMs: number
  requestTimeoutMs: number
  maxHeaderBytes: number
  maxUnauthenticatedPerAddress: number
  maxUnauthenticatedSockets: number
  maxBufferedBytes: number
  devMode: boolean
  jwtSecret: string
  jwtPublicKeyFile: string
  jwtAlgorithm: string
  jwksFile: string
  jwtIssuer: string
  jwtAudience: string
  jwtClockToleranceSec: number
  maxPendingUpgrades: number
  maxViewerAwarenessBytes: number
  validationGate: boolean
  eventRetentionDays: number
  metricsToken: string
  logLevel: string
  appDir: string
}

type OptionKind = 'string' | 'integer' | 'boolean'
/** The flag and environment variable of each option (README's table is generated from the same names). */
export const CONFIG_SOURCES: { [K in keyof ServerConfig]: { flag: string; env: string[]; kind: OptionKind } } = {
  host: { flag: 'host', env: ['COLLAB_HOST', 'HOST'], kind: 'string' },
  port: { flag: 'port', env: ['COLLAB_PORT', 'PORT'], kind: 'integer' },
  dataDir: { flag: 'data-dir', env: ['COLLAB_DATA_DIR', 'DATA_DIR'], kind: 'string' },
  maxPayloadBytes: { flag: 'max-payload', env: ['COLLAB_MAX_PAYLOAD'], kind: 'integer' },
  heartbeatIntervalMs: { flag: 'heartbeat-interval', env: ['COLLAB_HEARTBEAT_INTERVAL_MS'], kind: 'integer' },
  roomUnloadGraceMs: { flag: 'room-unload-grace', env: ['COLLAB_ROOM_UNLOAD_GRACE_MS'], kind: 'integer' },
  compactAfterUpdates: { flag: 'compact-after', env: ['COLLAB_COMPACT_AFTER_UPDATES'], kind: 'integer' },
  storeBatchIntervalMs: { flag: 'store-batch-interval', env: ['COLLAB_STORE_BATCH_INTERVAL_MS'], kind: 'integer' },
  maxPendingWrites: { flag: 'max-pending-writes', env: ['COLLAB_MAX_PENDING_WRITES'], kind: 'integer' },
  allowedOrigins: { flag: 'allowed-origins', env: ['COLLAB_ALLOWED_ORIGINS'], kind: 'string' },
  trustProxy: { flag: 'trust-proxy', env: ['COLLAB_TRUST_PROXY'], kind: 'boolean' },
  rateMessagesPerSecond: { flag: 'rate-messages', env: ['COLLAB_RATE_MESSAGES_PER_SECOND'], kind: 'integer' },
  rateMessageBurst: { flag: 'rate-message-burst', env: ['COLLAB_RATE_MESSAGE_BURST'], kind: 'integer' },
  rateBytesPerSecond: { flag: 'rate-bytes', env: ['COLLAB_RATE_BYTES_PER_SECOND'], kind: 'integer' },
  rateByteBurst: { flag: 'rate-byte-burst', env: ['COLLAB_RATE_BYTE_BURST'], kind: 'integer' },
  connectionMessagesPerSecond: { flag: 'connection-messages', env: ['COLLAB_CONNECTION_MESSAGES_PER_SECOND'], kind: 'integer' },
  connectionMessageBurst: { flag: 'connection-message-burst', env: ['COLLAB_CONNECTION_MESSAGE_BURST'], kind: 'integer' },
  connectionBytesPerSecond: { flag: 'connection-bytes', env: ['COLLAB_CONNECTION_BYTES_PER_SECOND'], kind: 'integer' },
  connectionByteBurst: { flag: 'connection-byte-burst', env: ['COLLAB_CONNECTION_BYTE_BURST'], kind: 'integer' },
  replyBytesPerSecond: { flag: 'reply-bytes', env: ['COLLAB_REPLY_BYTES_PER_SECOND'], kind: 'integer' },
  replyByteBurst: { flag: 'reply-byte-burst', env: ['COLLAB_REPLY_BYTE_BURST'], kind: 'integer' },
  awarenessQueryIntervalMs: { flag: 'awareness-query-interval', env: ['COLLAB_AWARENESS_QUERY_INTERVAL_MS'], kind: 'integer' },
  headersTimeoutMs: { flag: 'headers-timeout', env: ['COLLAB_HEADERS_TIMEOUT_MS'], kind: 'integer' },
  requestTimeoutMs: { flag: 'request-timeout', env: ['COLLAB_REQUEST_TIMEOUT_MS'], kind: 'integer' },
  maxHeaderBytes: { flag: 'max-header-size', env: ['COLLAB_MAX_HEADER_BYTES'], kind: 'integer' },
  maxUnauthenticatedPerAddress: { flag: 'max-unauthenticated-per-address', env: ['COLLAB_MAX_UNAUTHENTICATED_PER_ADDRESS'], kind: 'integer' },
  maxUnauthenticatedSockets: { flag: 'max-unauthenticated', env: ['COLLAB_MAX_UNAUTHENTICATED_SOCKETS'], kind: 'integer' },
  maxBufferedBytes: { flag: 'max-buffered', env: ['COLLAB_MAX_BUFFERED_BYTES'], kind: 'integer' },
  devMode: { flag: 'dev', env: ['COLLAB_DEV_MODE'], kind: 'boolean' },
  jwtSecret: { flag: 'jwt-secret', env: ['COLLAB_JWT_SECRET'], kind: 'string' },
  jwtPublicKeyFile: { flag: 'jwt-public-key-file', env: ['COLLAB_JWT_PUBLIC_KEY_FILE'], kind: 'string' },
  jwtAlgorithm: { flag: 'jwt-algorithm', env: ['COLLAB_JWT_ALGORITHM'], kind: 'string' },
  jwksFile: { flag: 'jwks-file', env: ['COLLAB_JWKS_FILE'], kind: 'string' },
  jwtIssuer: { flag: 'jwt-issuer', env: ['COLLAB_JWT_ISSUER'], kind: 'string' },
  jwtAudience: { flag: 'jwt-audience', env: ['COLLAB_JWT_AUDIENCE'], kind: 'string' },
  jwtClockToleranceSec: { flag: 'jwt-clock-tolerance', env: ['COLLAB_JWT_CLOCK_TOLERANCE_SEC'], kind: 'integer' },
  maxPendingUpgrades: { flag: 'max-pending-upgrades', env: ['COLLAB_MAX_PENDING_UPGRADES'], kind: 'integer' },
  maxViewerAwarenessBytes: { flag: 'max-viewer-awareness', env: ['COLLAB_MAX_VIEWER_AWARENESS_BYTES'], kind: 'integer' },
  validationGate: { flag: 'validation-gate', env: ['COLLAB_VALIDATION_GATE'], kind: 'boolean' },
  eventRetentionDays: { flag: 'event-retention-days', env: ['COLLAB_EVENT_RETENTION_DAYS'], kind: 'integer' },
  metricsToken: { flag: 'metrics-token', env: ['COLLAB_METRICS_TOKEN'], kind: 'string' },
  logLevel: { flag: 'log-level', env: ['COLLAB_LOG_LEVEL', 'LOG_LEVEL'], kind: 'string' },
  appDir: { flag: 'app-dir', env: ['COLLAB_APP_DIR'], kind: 'string' },
}

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

const parseValue = (name: string, kind: OptionKind, raw: string | boolean): string | number | boolean => {
  if (kind === 'boolean') return raw === true || raw === 'true' || raw === '1'
  if (typeof raw !== 'string') throw new CollabError(ErrorCode.BadConfig, `--${name} needs a value`)
  if (kind === 'string') return raw
  if (!/^\d+$/.test(raw)) throw new CollabError(ErrorCode.BadConfig, `${name} must be a non-negative integer, got "${raw}"`)
  return Number(raw)
}

/** Builds the configuration from defaults, environment and command-line flags. Throws ERR_BAD_CONFIG. */
export const loadConfig = (argv: readonly string[] = [], env: NodeJS.ProcessEnv = {}): ServerConfig => {
  const options = Object.fromEntries(
    Object.values(CONFIG_SOURCES).map(({ flag, kind }) => [flag, { type: kind === 'boolean' ? 'boolean' : 'string' }]),
  ) as Record<string, { type: 'string' | 'boolean' }>
  let flags: Record<string, string | boolean | undefined>
  try {
    flags = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values
  } catch (error) {
    throw new CollabError(ErrorCode.BadConfig, (error as Error).message)
  }
  const config: Record<string, unknown> = { ...DEFAULT_CONFIG }
  for (const [key, { flag, env: envNames, kind }] of Object.entries(CONFIG_SOURCES)) {
    const fromEnv = envNames.map((name) => env[name]).find((value) => value !== undefined && value !== '')
    const raw = flags[flag] ?? fromEnv
    if (raw !== undefined) config[key] = parseValue(flag, kind, raw)
  }
  const result = config as ServerConfig
  if (result.port > 65535) throw new CollabError(ErrorCode.BadConfig, `port must be ≤ 65535, got ${result.port}`)
  if (result.maxPayloadBytes < 1024) throw new CollabError(ErrorCode.BadConfig, 'max-payload must be at least 1024 bytes')
  if (result.maxPendingWrites < 1) throw new CollabError(ErrorCode.BadConfig, 'max-pending-writes must be at least 1')
  if (result.headersTimeoutMs < 1 || result.requestTimeoutMs < result.headersTimeoutMs) {
    throw new CollabError(ErrorCode.BadConfig, 'headers-timeout must be at least 1 ms and request-timeout at least headers-timeout')
  }
  if (result.heartbeatIntervalMs < 10) throw new CollabError(ErrorCode.BadConfig, 'heartbeat-interval must be at least 10 ms')
  if (!LOG_LEVELS.has(result.logLevel)) throw new CollabError(ErrorCode.BadConfig, `unknown log level "${result.logLevel}"`)
  if (result.jwtAlgorithm !== 'RS256' && result.jwtAlgorithm !== 'ES256') {
    throw new CollabError(ErrorCode.BadConfig, `jwt-algorithm must be RS256 or ES256, got "${result.jwtAlgorithm}"`)
  }
  const keySources = [result.jwtSecret, result.jwtPublicKeyFile, result.jwksFile].filter(Boolean).length
  if (keySources > 1) throw new CollabError(ErrorCode.BadConfig, 'configure one of jwt-secret, jwt-public-key-file, jwks-file')
  if (keySources === 1 && result.devMode) {
    throw new CollabError(ErrorCode.BadConfig, 'dev mode makes its own secret; do not configure a key with --dev')
  }
  if (keySources === 0 && !result.devMode) {
    throw new CollabError(
      ErrorCode.BadConfig,
      'no token key configured: set COLLAB_JWT_SECRET, --jwt-public-key-file or --jwks-file, or run in dev mode with --dev',
    )
  }
  result.dataDir = path.resolve(result.dataDir)
  result.appDir = result.appDir ? path.resolve(result.appDir) : BUILT_APP_DIR
  return result
}
