import { parseArgs } from 'node:util'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { CollabError, ErrorCode } from '../shared/errors.ts'
import { parseDuration } from './backup/duration.ts'

/** dist/app of this installation, whether the server runs from dist/server or (tsx) from server/. */
const BUILT_APP_DIR = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url))
  const root = path.basename(path.dirname(here)) === 'dist' ? path.resolve(here, '../..') : path.resolve(here, '..')
  return path.join(root, 'dist', 'app')
})()

/**
 * How each kind of option is read from its text (a flag's value or an environment variable).
 * Strict: a value that is not one of the accepted spellings is refused at start, never read as a
 * default or as `false` (a typo like `COLLAB_VALIDATION_GATE=TRUE` must not switch the gate off).
 */
const BOOLEAN_SPELLINGS = ['true', 'false', '1', '0'] as const
export const optionKinds = {
  text: () => z.string(),
  integer: (min: number, max = Number.MAX_SAFE_INTEGER) =>
    z
      .string()
      .regex(/^\d+$/, 'must be a non-negative integer')
      .transform(Number)
      .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`)),
  boolean: () =>
    z.enum(BOOLEAN_SPELLINGS, { error: `must be one of ${BOOLEAN_SPELLINGS.join(', ')}` }).transform((text) => text === 'true' || text === '1'),
  oneOf: <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { error: `must be one of ${values.join(', ')}` }),
  /** `<digits><s|m|h|d>` (backup/duration.ts) to milliseconds; empty, where allowed, is 0 (off). */
  duration: ({ allowEmpty }: { allowEmpty: boolean }) =>
    z
      .string()
      .refine((text) => (allowEmpty && text === '') || parseDuration(text) !== null, `must be a whole number and one unit of s, m, h, d (like 6h or 30d)${allowEmpty ? ', or empty' : ''}`)
      .transform((text) => (text === '' ? 0 : parseDuration(text)!)),
}

/** One option: where it comes from, how its text is parsed, and its default. */
interface OptionSpec<T> {
  /** The command-line flag, without `--`. Boolean options are switches (`--dev`). */
  readonly flag: string
  /** Environment variables, first set one wins. */
  readonly env: readonly string[]
  readonly parse: z.ZodType<T, string>
  readonly default: T
}

const option = <T>(flag: string, env: readonly string[], parse: z.ZodType<T, string>, fallback: NoInfer<T>): OptionSpec<T> => ({
  flag,
  env,
  parse,
  default: fallback,
})

const { text, integer, boolean, oneOf, duration } = optionKinds

/**
 * Every server option, written once: its flag, environment variables, parser and default. Each
 * comment says why the option exists and what breaks when it is changed. README's configuration
 * table lists the same options (a test checks it names every flag and variable). Precedence:
 * flag > environment variable > default.
 */
export const OPTIONS = {
  /** Loopback by default: a dev server must not be reachable from the network by accident. */
  host: option('host', ['COLLAB_HOST', 'HOST'], text(), '127.0.0.1'),
  /** 1234 is what y-websocket's examples use, so stock demos work unchanged. 0 picks a free port. */
  port: option('port', ['COLLAB_PORT', 'PORT'], integer(0, 65535), 1234),
  /** Where the embedded LevelDB lives. One server process owns it (LevelDB takes a lock). */
  dataDir: option('data-dir', ['COLLAB_DATA_DIR', 'DATA_DIR'], text(), './data'),
  /**
   * Keep everything in this PostgreSQL database instead of the LevelDB in data-dir
   * (`postgresql://user:password@host:5432/db`; migrations are applied at start). Empty: LevelDB.
   * Several servers may share one database (each document is written by the server that loaded it
   * last), which one LevelDB directory cannot do.
   */
  postgresUrl: option('postgres-url', ['COLLAB_POSTGRES_URL'], text(), ''),
  /**
   * Cluster mode: several nodes share one PostgreSQL (postgresUrl, required with it) and this Redis
   * (`redis://host:6379`), which holds one lease per document so that exactly one node at a time
   * applies, stores and broadcasts it; any node accepts any client and forwards it to the owner.
   * Empty: one node. Without it, two servers on one database fence each other out instead.
   */
  redisUrl: option('redis-url', ['COLLAB_REDIS_URL'], text(), ''),
  /**
   * This node's name in the leases and the node registry. Empty: a fresh one per process (host,
   * pid, random part). Two processes must never share one: they would take each other's leases for
   * their own and both write.
   */
  nodeId: option('node-id', ['COLLAB_NODE_ID'], text(), ''),
  /**
   * The base URL other nodes reach this node at (`http://10.0.0.5:8080`): where they forward clients
   * and admin changes of the documents it owns. Empty: `http://<host>:<bound port>` (the machine's
   * host name when host is a wildcard address). Wrong, and forwarded clients are closed with a
   * retryable code until another node owns their document.
   */
  advertiseUrl: option(
    'advertise-url',
    ['COLLAB_ADVERTISE_URL'],
    text().refine((url) => url === '' || /^https?:\/\/[^/?#]+\/?$/.test(url), 'must be a base URL like http://10.0.0.5:8080'),
    '',
  ),
  /**
   * The secret node-to-node requests (forwarded connections, forwarded admin changes) are signed
   * with (≥ 32 bytes). Empty: derived from jwt-secret or the dev-mode secret, which every node
   * shares anyway; required in cluster mode when tokens are verified with a public key (nodes then
   * share no secret). Anyone holding it can act as a node: as secret as the JWT secret.
   */
  clusterSecret: option(
    'cluster-secret',
    ['COLLAB_CLUSTER_SECRET'],
    text().refine((secret) => secret === '' || Buffer.byteLength(secret) >= 32, 'must be at least 32 bytes'),
    '',
  ),
  /**
   * How long a document's lease lasts without renewal (renewed every 30% of it). A crashed owner's
   * documents get a new owner within this; shorter leases take over sooner but let a slow Redis
   * round trip or a GC pause hand a busy document over. Tests shorten it.
   */
  leaseMs: option('lease-ms', ['COLLAB_LEASE_MS'], integer(300, 600_000), 10_000),
  /**
   * Encryption at rest: a file holding the 32-byte master key as base64. With a master key every
   * stored value (LevelDB, its write-ahead log, PostgreSQL, CLI exports) is sealed with AES-256-GCM
   * under per-tenant data keys that the master key wraps. Empty: off (the default for development;
   * production should turn it on). Once a store is encrypted it does not open without its key.
   */
  masterKeyFile: option('master-key-file', ['COLLAB_MASTER_KEY_FILE'], text(), ''),
  /** The master key itself, base64, for platforms that inject secrets as variables (the file wins when both are set). */
  masterKey: option('master-key', ['COLLAB_MASTER_KEY'], text(), ''),
  /**
   * Largest WebSocket frame accepted. A full-state sync of a big proposal is well under 1 MiB;
   * 8 MiB leaves room for long offline batches while bounding what one frame can make us buffer.
   * Bigger frames are closed with 1009 before they are read into memory.
   */
  maxPayloadBytes: option('max-payload', ['COLLAB_MAX_PAYLOAD'], integer(1024), 8 * 1024 * 1024),
  /**
   * Server messages of at least this many bytes are sent compressed (permessage-deflate) to clients
   * that offer it; 0: the extension is not negotiated. A large first sync shrinks several times (the
   * bytes a joiner on a slow link waits for); a keystroke's update is far below it and is sent as
   * it is, so typing costs no zlib time and an idle socket no zlib context
   * (connection/messageCompression.ts). Off by default: on a LAN the CPU it costs is worth more than
   * the bytes, and every socket that was sent one compressed message keeps a deflate context
   * (~210 KiB) for its life. Lower = more messages compressed, more sockets keeping one.
   */
  wsCompressionThreshold: option('ws-compression-threshold', ['COLLAB_WS_COMPRESSION_THRESHOLD'], integer(0), 0),
  /**
   * Ping interval. A peer that has not answered the previous ping when the next one is due is
   * terminated, so a half-open socket is gone within two intervals. Lower = faster detection,
   * more idle traffic.
   */
  heartbeatIntervalMs: option('heartbeat-interval', ['COLLAB_HEARTBEAT_INTERVAL_MS'], integer(10), 30_000),
  /**
   * How long an empty room stays in memory after its last peer left. Reconnects (page reloads,
   * flaky networks) within this window do not pay a reload from disk.
   */
  roomUnloadGraceMs: option('room-unload-grace', ['COLLAB_ROOM_UNLOAD_GRACE_MS'], integer(0), 10_000),
  /**
   * Stored updates per document after which the document is compacted (its updates merged into
   * one) in the background; a large document waits for more (compactionPolicy.ts). Lower = more
   * compaction work; higher = slower cold loads.
   */
  compactAfterUpdates: option('compact-after', ['COLLAB_COMPACT_AFTER_UPDATES'], integer(1), 500),
  /**
   * Under load, at most one LevelDB batch per this many ms (writes are durable in the write-ahead
   * log before that; LevelDB catches up in batches). Lower = LevelDB closer behind the log, more
   * CPU per write (~20 µs per batch); higher = fewer, larger batches, reads of a busy document wait
   * longer for LevelDB. Tests raise it to crash a server whose writes are only in the log.
   */
  storeBatchIntervalMs: option('store-batch-interval', ['COLLAB_STORE_BATCH_INTERVAL_MS'], integer(0), 10),
  /**
   * Writes durable in the write-ahead log that LevelDB has not caught up with (all documents), and
   * their bytes: held in memory until it does. From either limit on, rooms stop reading from their
   * sockets (TCP pushes back on the senders) until the backlog has drained to half, so a stalled
   * disk cannot grow memory without bound. LevelDB normally lags by one batch interval, a few
   * writes; 10,000 writes or 64 MiB is seconds of a heavy load. Lower = pauses sooner under a slow
   * disk; higher = more memory held before anyone waits.
   */
  maxStoreBacklogWrites: option('max-store-backlog-writes', ['COLLAB_MAX_STORE_BACKLOG_WRITES'], integer(1), 10_000),
  maxStoreBacklogBytes: option('max-store-backlog-bytes', ['COLLAB_MAX_STORE_BACKLOG_BYTES'], integer(1), 64 * 1024 * 1024),
  /**
   * Browser origins allowed to connect (comma-separated); empty allows any. Refused origins get
   * HTTP 403 before the upgrade. Non-browser clients send no Origin and are not affected.
   */
  allowedOrigins: option('allowed-origins', ['COLLAB_ALLOWED_ORIGINS'], text(), ''),
  /**
   * Take the client address from the first X-Forwarded-For entry. Only behind a
   * proxy you run: otherwise any client picks its own address. Every socket then comes from the
   * proxy, so the per-address cap on unauthenticated sockets is not applied (the global one is).
   */
  trustProxy: option('trust-proxy', ['COLLAB_TRUST_PROXY'], boolean(), false),
  /**
   * Inbound budget per user (tenant + user id, all its connections together): sustained messages
   * per second, bursts up to rateMessageBurst. Keyed by who is connected, never by address, so a
   * hundred editors behind one office NAT have a hundred budgets. A user over budget is slowed
   * (its sockets are not read until the debt is paid: TCP backpressure), not closed. Typing with a
   * cursor is ~10 messages/s per tab; 300/s leaves a user many busy tabs.
   */
  rateMessagesPerSecond: option('rate-messages', ['COLLAB_RATE_MESSAGES_PER_SECOND'], integer(1), 300),
  rateMessageBurst: option('rate-message-burst', ['COLLAB_RATE_MESSAGE_BURST'], integer(1), 2000),
  /**
   * Inbound bytes per second per user; bursts up to rateByteBurst, which must exceed
   * maxPayloadBytes or a large (legal) offline sync step 2 would be slowed at once.
   */
  rateBytesPerSecond: option('rate-bytes', ['COLLAB_RATE_BYTES_PER_SECOND'], integer(1), 2 * 1024 * 1024),
  rateByteBurst: option('rate-byte-burst', ['COLLAB_RATE_BYTE_BURST'], integer(1), 32 * 1024 * 1024),
  /**
   * Inbound budget per connection, inside its user's: one runaway tab is slowed before it spends
   * its user's budget for the user's other tabs. 100/s is ten times typing with a cursor update
   * per keystroke (5 characters/s); the burst covers a reconnect's catch-up.
   */
  connectionMessagesPerSecond: option('connection-messages', ['COLLAB_CONNECTION_MESSAGES_PER_SECOND'], integer(1), 100),
  connectionMessageBurst: option('connection-message-burst', ['COLLAB_CONNECTION_MESSAGE_BURST'], integer(1), 1000),
  /** Inbound bytes per connection; the burst exceeds maxPayloadBytes (one offline sync at once). */
  connectionBytesPerSecond: option('connection-bytes', ['COLLAB_CONNECTION_BYTES_PER_SECOND'], integer(1), 1024 * 1024),
  connectionByteBurst: option('connection-byte-burst', ['COLLAB_CONNECTION_BYTE_BURST'], integer(1), 16 * 1024 * 1024),
  /**
   * What a connection's own requests (sync step 1, query-awareness: a few bytes each) may make
   * the server send it: bytes per second and burst. A request beyond it is answered late (the
   * latest of each kind), never dropped. Without it a 1-byte query-awareness costs the room's
   * whole presence, and a viewer pulls ~100 MB/s. Broadcasts of others' changes are not counted.
   * The first answer at connect is always sent at once, however big the document.
   */
  replyBytesPerSecond: option('reply-bytes', ['COLLAB_REPLY_BYTES_PER_SECOND'], integer(1), 1024 * 1024),
  replyByteBurst: option('reply-byte-burst', ['COLLAB_REPLY_BYTE_BURST'], integer(1), 8 * 1024 * 1024),
  /** A query-awareness is answered at most once per this many ms per connection (coalesced). */
  awarenessQueryIntervalMs: option('awareness-query-interval', ['COLLAB_AWARENESS_QUERY_INTERVAL_MS'], integer(0), 1000),
  /**
   * Time a client has to send its request headers (and the upgrade request). Short, so stalled
   * half-sent requests cannot hold file descriptors: they get a JSON 408 and are closed. Node's
   * 60 s default lets one address park thousands of sockets.
   */
  headersTimeoutMs: option('headers-timeout', ['COLLAB_HEADERS_TIMEOUT_MS'], integer(1), 10_000),
  /** Time for a whole HTTP request (admin API bodies); at least headersTimeoutMs. */
  requestTimeoutMs: option('request-timeout', ['COLLAB_REQUEST_TIMEOUT_MS'], integer(1), 30_000),
  /**
   * Largest request head (request line + headers). Tokens are ~1 KB; 16 KiB (Node's default)
   * leaves room. Larger requests get a JSON 431 instead of a reset.
   */
  maxHeaderBytes: option('max-header-size', ['COLLAB_MAX_HEADER_BYTES'], integer(1024), 16 * 1024),
  /**
   * Sockets of one address that have not completed an authenticated upgrade (connecting, sending
   * headers, waiting for their token to verify, plain HTTP requests). Past this the address's
   * oldest such socket is closed to make room, so stalled requests cannot pile up while a fresh
   * request (a health check, a neighbour's connect) still gets in. 64 covers an office reconnecting
   * at once: each socket is unauthenticated only for a round trip or two.
   */
  maxUnauthenticatedPerAddress: option('max-unauthenticated-per-address', ['COLLAB_MAX_UNAUTHENTICATED_PER_ADDRESS'], integer(1), 64),
  /**
   * The same over all addresses, so the descriptors left (the process's limit, `ulimit -n`) serve
   * authenticated users and health checks. 0: a quarter of the process's descriptor limit.
   */
  maxUnauthenticatedSockets: option('max-unauthenticated', ['COLLAB_MAX_UNAUTHENTICATED_SOCKETS'], integer(0), 0),
  /**
   * A peer whose unsent data passes this is closed (4408): it reads slower than the document
   * changes, and buffering for it without a cap lets one slow client exhaust the server's memory.
   */
  maxBufferedBytes: option('max-buffered', ['COLLAB_MAX_BUFFERED_BYTES'], integer(1024), 16 * 1024 * 1024),
  /**
   * Largest encoded document (Y.encodeStateAsUpdate) the server accepts: an update that would take
   * a document past it is compensated whole, with a `document-size` notice. Every document must be
   * openable: a fresh joiner gets the whole document in one sync step 2, so this plus
   * JOINER_HEADROOM_BYTES must stay under maxBufferedBytes (checked at load) or the joiner is cut
   * off (4408). An ordinary proposal is tens of KB; 8 MiB is hundreds of times that and leaves half
   * of the default maxBufferedBytes for what else a joiner is sent.
   */
  maxDocumentBytes: option('max-document-bytes', ['COLLAB_MAX_DOCUMENT_BYTES'], integer(1024), 8 * 1024 * 1024),
  /**
   * Dev mode (`npm start` turns it on): an HS256 secret is created in the data directory on first
   * start and `GET /dev/token?user=…&role=…&tenant=…` hands out tokens to anyone who can reach the
   * server. For demos and tests only; the server logs a warning at start. Without dev mode the
   * server refuses to start unless one key source below is configured.
   */
  devMode: option('dev', ['COLLAB_DEV_MODE'], boolean(), false),
  /** HS256 shared secret (≥ 32 bytes, RFC 7518). Prefer the environment variable: flags show up in `ps`. */
  jwtSecret: option(
    'jwt-secret',
    ['COLLAB_JWT_SECRET'],
    text().refine((secret) => secret === '' || Buffer.byteLength(secret) >= 32, 'must be at least 32 bytes (HS256, RFC 7518)'),
    '',
  ),
  /** A PEM public key file (RS256 or ES256, see jwtAlgorithm) of the identity provider. */
  jwtPublicKeyFile: option('jwt-public-key-file', ['COLLAB_JWT_PUBLIC_KEY_FILE'], text(), ''),
  /** The algorithm of jwtPublicKeyFile; pinned, never taken from the token. */
  jwtAlgorithm: option('jwt-algorithm', ['COLLAB_JWT_ALGORITHM'], oneOf(['RS256', 'ES256']), 'RS256'),
  /** A local JWKS file (`{"keys": [...]}`) with the identity provider's public keys. */
  jwksFile: option('jwks-file', ['COLLAB_JWKS_FILE'], text(), ''),
  /** Required `iss` of tokens, when set. */
  jwtIssuer: option('jwt-issuer', ['COLLAB_JWT_ISSUER'], text(), ''),
  /** Required `aud` of tokens, when set. */
  jwtAudience: option('jwt-audience', ['COLLAB_JWT_AUDIENCE'], text(), ''),
  /** Seconds of clock skew forgiven on `exp`/`nbf`. */
  jwtClockToleranceSec: option('jwt-clock-tolerance', ['COLLAB_JWT_CLOCK_TOLERANCE_SEC'], integer(0, 300), 5),
  /**
   * Upgrade requests whose token is still being verified. Verification is async; without a cap a
   * flood of upgrades with junk tokens would queue without bound before any auth completes.
   */
  maxPendingUpgrades: option('max-pending-upgrades', ['COLLAB_MAX_PENDING_UPGRADES'], integer(1), 512),
  /**
   * Largest awareness update (bytes) a viewer may send: viewers may show presence and a cursor,
   * but must not use awareness as a side channel to push data to every peer.
   */
  maxViewerAwarenessBytes: option('max-viewer-awareness', ['COLLAB_MAX_VIEWER_AWARENESS_BYTES'], integer(64), 4096),
  /**
   * Largest awareness state (one client's JSON, bytes) relayed for any role; larger states are
   * refused (not relayed, the connection stays). Every joiner is sent every state, so one big state
   * costs each peer that much at every join and every change. The project's client sends ~330
   * bytes (user id, name, colour, role and a rich-text selection); 8 KiB leaves room for long
   * names and other presence fields.
   */
  maxAwarenessStateBytes: option('max-awareness-state', ['COLLAB_MAX_AWARENESS_STATE_BYTES'], integer(64), 8192),
  /**
   * Deepest nesting of shared types (rich-text elements in elements) an update may create; a
   * root's children are at depth 1. Yjs's toJSON/toString/clone and editors' renderers recurse once
   * per level, so a chain of a few thousand levels overflows a stack in the server or in every
   * client that opens the document. 64 is far above real documents (lists in lists in quotes stay
   * below ~20) and far below any stack limit; raising it toward the thousands brings the crash back
   * for clients.
   */
  maxRichTextDepth: option('max-rich-text-depth', ['COLLAB_MAX_RICH_TEXT_DEPTH'], integer(1, 1000), 64),
  /**
   * The semantic validation gate (rules + compensation). Only ever turned off to measure what it
   * costs (bench/); with it off, any editor can write anything the schema of Yjs allows.
   */
  validationGate: option('validation-gate', ['COLLAB_VALIDATION_GATE'], boolean(), true),
  /**
   * Days of event-log history kept per document (audit trail and time travel). Older events are
   * folded into a base snapshot when a document loads and hourly while it stays loaded, so the log
   * still rebuilds the document. 0 keeps no history beyond the current state.
   */
  eventRetentionDays: option('event-retention-days', ['COLLAB_EVENT_RETENTION_DAYS'], integer(0), 30),
  /**
   * The background verifier checks one stored document that is not loaded every this many ms (0:
   * off). 10 s walks 8,640 documents a day at a cost of one `docs verify` each — a low, steady rate
   * that finds silent damage within days without competing with the users.
   */
  verifyIntervalMs: option('verify-interval', ['COLLAB_VERIFY_INTERVAL_MS'], integer(0), 10_000),
  /**
   * Days the access audit (who opened which document, refusals, admin calls, CLI actions) is kept;
   * older records are deleted in the background (at start and hourly). 400: over a year, what
   * yearly compliance reviews ask for. 0 keeps them forever.
   */
  auditRetentionDays: option('audit-retention-days', ['COLLAB_AUDIT_RETENTION_DAYS'], integer(0), 400),
  /**
   * Access records held in memory waiting to be written. Recording never waits for the store: past
   * this many, new records are dropped and counted (collab_audit_dropped_total) rather than slowing
   * connections. 10,000 rides out a store stall of seconds at thousands of connections a second.
   */
  auditBufferRecords: option('audit-buffer-records', ['COLLAB_AUDIT_BUFFER_RECORDS'], integer(1), 10_000),
  /** How long an access record waits to be written with others: fewer, larger store writes. Tests shorten it. */
  auditFlushMs: option('audit-flush-ms', ['COLLAB_AUDIT_FLUSH_MS'], integer(1, 60_000), 250),
  /** Bearer token `/metrics` requires; empty serves metrics to anyone who reaches the port. */
  metricsToken: option('metrics-token', ['COLLAB_METRICS_TOKEN'], text(), ''),
  /** pino level; logs are JSON lines. */
  logLevel: option('log-level', ['COLLAB_LOG_LEVEL', 'LOG_LEVEL'], oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'),
  /**
   * The built demo web app served at `/` (`npm run build` writes it to dist/app). Empty: dist/app
   * of this installation. A directory without index.html serves no app (the API still works).
   */
  appDir: option('app-dir', ['COLLAB_APP_DIR'], text(), ''),
  /**
   * Serve the app's source map (`/app.js.map`, ~2.4 MB: the whole client source) and point
   * developer tools to it. Off by default: it is for debugging, and a public server need not hand
   * out its source.
   */
  serveSourceMaps: option('serve-source-maps', ['COLLAB_SERVE_SOURCE_MAPS'], boolean(), false),
  /**
   * PEM certificate (chain) and private key: with both the server terminates TLS itself, https and
   * wss on the same port, and every HTTP answer carries HSTS. Re-read on SIGHUP (a bad file then
   * keeps the certificate in use). Empty: plain http/ws, for loopback or behind a proxy that
   * terminates TLS (a non-loopback bind without TLS logs a warning).
   */
  tlsCert: option('tls-cert', ['COLLAB_TLS_CERT'], text(), ''),
  tlsKey: option('tls-key', ['COLLAB_TLS_KEY'], text(), ''),
  /**
   * Oldest TLS version accepted. 1.3 by default: every supported browser and Node speak it, and it
   * has no weak cipher suites to configure away; 1.2 only for old clients that cannot.
   */
  tlsMinVersion: option('tls-min-version', ['COLLAB_TLS_MIN_VERSION'], oneOf(['1.3', '1.2']), '1.3'),
  /**
   * Device trust: a PEM CA whose certificates clients must present (mutual TLS); the certificate's
   * subject CN must equal the token's `device` claim. Without it no client certificate is asked for.
   */
  tlsClientCa: option('tls-client-ca', ['COLLAB_TLS_CLIENT_CA'], text(), ''),
  /** A PEM CRL of the client CA: certificates it lists are refused. Re-read on SIGHUP with the certificate. */
  tlsCrl: option('tls-crl', ['COLLAB_TLS_CRL'], text(), ''),
  /**
   * Tokens must show a second factor in their `amr` claim (RFC 8176: one of mfa, otp, hwk, swk,
   * sc), for sync and the HTTP APIs alike; others are refused with ERR_MFA_REQUIRED (401).
   */
  requireMfa: option('require-mfa', ['COLLAB_REQUIRE_MFA'], boolean(), false),
  /**
   * Scheduled backups (LevelDB store): the directory they are written to, how often, and how long
   * they are kept. The interval is off by default (an operator chooses where backups go, ideally
   * another disk or a mount that is copied off the machine); each backup is a consistent snapshot
   * taken without pausing writes, so a short interval costs only the reading and the disk space.
   * Retention deletes older backups after each successful one, never the newest.
   */
  backupDir: option('backup-dir', ['COLLAB_BACKUP_DIR'], text(), ''),
  backupIntervalMs: option('backup-interval', ['COLLAB_BACKUP_INTERVAL'], duration({ allowEmpty: true }), 0),
  backupRetentionMs: option('backup-retention', ['COLLAB_BACKUP_RETENTION'], duration({ allowEmpty: false }), 30 * 86_400_000),
  /**
   * The document list's summaries (server/summaries/) follow every change at once in memory; the
   * store is written with the changed ones at most once per this many ms, so a burst of edits costs
   * one write. Lower = less to summarize again after a crash (the log shows what is stale); higher
   * = fewer writes.
   */
  summaryFlushMs: option('summary-flush-interval', ['COLLAB_SUMMARY_FLUSH_INTERVAL_MS'], integer(10, 600_000), 1_000),
  /**
   * The operations view's samples of the server's own metrics (`GET /api/operations`): one every
   * this many ms, the last 180 kept. Lower = finer charts, a registry read more often.
   */
  opsSampleIntervalMs: option('ops-sample-interval', ['COLLAB_OPS_SAMPLE_INTERVAL_MS'], integer(100, 600_000), 2_000),
}

type Options = typeof OPTIONS
export type ServerConfig = { [K in keyof Options]: Options[K]['default'] }

/** Every option at its default (paths not yet resolved); tests start from it. */
export const DEFAULT_CONFIG: Readonly<ServerConfig> = Object.freeze(
  Object.fromEntries(Object.entries(OPTIONS).map(([key, spec]) => [key, spec.default])) as ServerConfig,
)

/**
 * What a fresh joiner is sent besides the document's sync step 2, and must fit in its send buffer
 * with it: the server's sync step 1, the awareness states, updates broadcast while it reads.
 */
export const JOINER_HEADROOM_BYTES = 1024 * 1024

const isSwitch = (spec: OptionSpec<unknown>): boolean => typeof spec.default === 'boolean'

const badConfig = (message: string) => new CollabError(ErrorCode.BadConfig, message)

/** Builds the configuration from defaults, environment and command-line flags. Throws ERR_BAD_CONFIG. */
export const loadConfig = (argv: readonly string[] = [], env: NodeJS.ProcessEnv = {}): ServerConfig => {
  const specs = Object.entries(OPTIONS) as Array<[keyof ServerConfig, OptionSpec<unknown>]>
  let flags: Record<string, string | boolean | undefined>
  try {
    flags = parseArgs({
      args: [...argv],
      options: Object.fromEntries(specs.map(([, spec]) => [spec.flag, { type: isSwitch(spec) ? 'boolean' : 'string' } as const])),
      strict: true,
      allowPositionals: false,
    }).values
  } catch (error) {
    throw badConfig((error as Error).message)
  }
  const config: Record<string, unknown> = {}
  for (const [key, spec] of specs) {
    const flag = flags[spec.flag]
    if (flag === true) {
      config[key] = true // a switch given on the command line
      continue
    }
    const source = flag !== undefined ? `--${spec.flag}` : spec.env.find((name) => env[name] !== undefined && env[name] !== '')
    const raw = flag ?? (source ? env[source] : undefined)
    if (raw === undefined) {
      config[key] = spec.default
      continue
    }
    const parsed = spec.parse.safeParse(raw)
    if (!parsed.success) throw badConfig(`${source} ${parsed.error.issues[0]?.message ?? 'is not valid'}, got "${String(raw).slice(0, 80)}"`)
    config[key] = parsed.data
  }
  const result = config as ServerConfig
  checkKeySources(result)
  checkTlsFiles(result)
  if (result.redisUrl && !result.postgresUrl) {
    throw badConfig('redis-url (cluster mode) needs postgres-url: the nodes of a cluster share one PostgreSQL database')
  }
  if (result.redisUrl && !result.clusterSecret && !result.jwtSecret && !result.devMode) {
    throw badConfig('cluster mode with a public token key needs cluster-secret: nodes sign their requests to each other with it')
  }
  if (result.backupIntervalMs > 0 && !result.backupDir) throw badConfig('backup-interval needs backup-dir: where the backups are written')
  if (result.backupIntervalMs > 0 && result.postgresUrl) throw badConfig('scheduled backups are of the LevelDB store; back up PostgreSQL with pg_dump or PITR (README, Operations)')
  if (result.requestTimeoutMs < result.headersTimeoutMs) throw badConfig('request-timeout must be at least headers-timeout')
  if (result.maxDocumentBytes + JOINER_HEADROOM_BYTES > result.maxBufferedBytes) {
    throw badConfig(
      `max-document-bytes (${result.maxDocumentBytes}) plus ${JOINER_HEADROOM_BYTES} bytes of headroom must not exceed max-buffered (${result.maxBufferedBytes}): a fresh joiner could not be sent the whole document`,
    )
  }
  result.dataDir = path.resolve(result.dataDir)
  result.appDir = result.appDir ? path.resolve(result.appDir) : BUILT_APP_DIR
  if (result.backupDir) result.backupDir = path.resolve(result.backupDir)
  for (const key of ['tlsCert', 'tlsKey', 'tlsClientCa', 'tlsCrl'] as const) if (result[key]) result[key] = path.resolve(result[key])
  return result
}

/** Exactly one way to verify tokens: dev mode's own secret or one configured key source. */
const checkKeySources = (config: ServerConfig): void => {
  const keySources = [config.jwtSecret, config.jwtPublicKeyFile, config.jwksFile].filter(Boolean).length
  if (keySources > 1) throw badConfig('configure one of jwt-secret, jwt-public-key-file, jwks-file')
  if (keySources === 1 && config.devMode) throw badConfig('dev mode makes its own secret; do not configure a key with --dev')
  if (keySources === 0 && !config.devMode) {
    throw badConfig('no token key configured: set COLLAB_JWT_SECRET, --jwt-public-key-file or --jwks-file, or run in dev mode with --dev')
  }
}

/** A certificate needs its key; device trust and its CRL only exist on top of TLS. */
const checkTlsFiles = (config: ServerConfig): void => {
  if (Boolean(config.tlsCert) !== Boolean(config.tlsKey)) throw badConfig('tls-cert and tls-key go together: set both or neither')
  if (config.tlsClientCa && !config.tlsCert) throw badConfig('tls-client-ca needs TLS: set tls-cert and tls-key too')
  if (config.tlsCrl && !config.tlsClientCa) throw badConfig('tls-crl lists revoked client certificates: it needs tls-client-ca')
}
