import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'
import { CloseCode, formatCloseReason } from '../shared/closeCodes.ts'
import { ErrorCode } from '../shared/errors.ts'
import type { ServerConfig } from './config.ts'
import { handleHttpRequest } from './http/httpRoutes.ts'
import type { Logger } from './observability/logger.ts'
import type { Peer } from './connection/peer.ts'
import { createAuthentication } from './connection/authentication.ts'
import { selectSubprotocol } from './auth/index.ts'
import { createUpgradeHandler } from './connection/upgradeHandler.ts'
import { perMessageDeflate } from './connection/messageCompression.ts'
import { AdminOperations } from './admin/adminOperations.ts'
import { liveDocuments } from './admin/liveDocuments.ts'
import { KeyAdministration, type MasterKeyStatus } from './admin/keyAdministration.ts'
import { masterKeySource } from './crypto/masterKey.ts'
import { BackgroundVerifier } from './integrity/backgroundVerifier.ts'
import { CollabMetrics } from './observability/metrics.ts'
import type { DocumentStorage } from './persistence/documentStorage.ts'
import { openStorage } from './persistence/openStorage.ts'
import { RoomRegistry } from './rooms/roomRegistry.ts'
import { DocumentIndex } from './persistence/documentIndex.ts'
import { parseAllowedOrigins } from './connection/clientAddress.ts'
import { InboundBudgets } from './limits/inboundBudget.ts'
import { defaultUnauthenticatedCap, UnauthenticatedSockets } from './limits/unauthenticatedSockets.ts'
import { answerClientError } from './connection/upgradeRefusal.ts'
import { NotificationStore } from './notifications/notificationStore.ts'
import { createWebServer } from './tls/webServer.ts'
import { loadTlsSettings } from './tls/tlsSettings.ts'
import { addHstsToUpgrade } from './tls/hsts.ts'
import { warnIfPlainOnNetwork } from './tls/plainBindWarning.ts'
import type { ClusterNode } from './cluster/clusterNode.ts'
import { adminForwarding } from './cluster/adminForwarding.ts'
import { DocumentStore } from './persistence/documentStore.ts'
import { limitedOnlineBackups } from './backup/storeBackup.ts'
import { ScheduledBackups } from './backup/scheduledBackups.ts'
import { OperationalMetrics } from './observability/operationalMetrics.ts'
import { SyncFailureStreaks } from './observability/syncFailures.ts'
import { SummaryKeeper } from './summaries/summaryKeeper.ts'
import { summaryStorageFor } from './summaries/summaryStorage.ts'
import { OperationsSampler } from './observability/operationsSampler.ts'
import { startServerAudit } from './audit/serverAudit.ts'

export interface CollabServer {
  readonly config: ServerConfig
  readonly store: DocumentStorage
  readonly rooms: RoomRegistry
  /** The bound port (useful with port 0). */
  readonly port: number
  readonly peers: ReadonlySet<Peer>
  /** Stops accepting, makes every pending write durable, closes peers (1001) and the store. */
  close(): Promise<void>
  /**
   * Re-reads the TLS certificate, key, client CA and CRL (SIGHUP): new connections get them,
   * established ones are kept. A file that cannot be used keeps the old ones. False when nothing changed.
   */
  reloadTls(): Promise<boolean>
  /**
   * Re-reads the master key file (SIGHUP) and re-wraps the keyring under its first key when one of
   * its keys opens the store; a file that does not changes nothing (the error says why).
   */
  reloadMasterKey(): Promise<MasterKeyStatus>
}

/**
 * Starts the HTTP + WebSocket server: opens the store, then listens. Resolves once connections
 * are accepted. Throws ERR_PERSISTENCE_FAILED when the store cannot be opened (the data directory
 * is locked by another server, PostgreSQL cannot be reached).
 */
export const startCollabServer = async (config: ServerConfig, logger: Logger): Promise<CollabServer> => {
  // TLS files first: a bad certificate stops the start before the store is opened.
  const tls = await loadTlsSettings(config)
  const store = await openStorage(config, logger)
  const metrics = new CollabMetrics()
  const documentNames = await store.documentNames()
  const index = new DocumentIndex(documentNames)
  // The list's summaries: read at start, the missing ones rebuilt in the background.
  const summaries = await SummaryKeeper.open(summaryStorageFor(store), store, documentNames, logger, { flushMs: config.summaryFlushMs })
  const { verifier, devSecret } = await createAuthentication(config, logger)
  // Cluster mode's modules (the Redis client: ~250 ms of CPU) are loaded only when it is on.
  const cluster = config.redisUrl
    ? new (await import('./cluster/clusterNode.ts')).ClusterNode(config, store, metrics.registry, config.clusterSecret || config.jwtSecret || devSecret!, logger)
    : null
  const rooms = new RoomRegistry({
    metrics,
    store,
    logger,
    roomUnloadGraceMs: config.roomUnloadGraceMs,
    compactAfterUpdates: config.compactAfterUpdates,
    maxDocumentBytes: config.maxDocumentBytes,
    index,
    validationGate: config.validationGate,
    maxRichTextDepth: config.maxRichTextDepth,
    eventRetentionMs: config.eventRetentionDays * 24 * 3600 * 1000,
    ownership: cluster?.ownership ?? null,
    afterCommit: (room, writes) => summaries.committed(room, writes),
  })
  const peers = new Set<Peer>()
  const documentSource = liveDocuments(store, rooms)
  const operations = new AdminOperations(documentSource, config.maxRichTextDepth)
  const sampler = new OperationsSampler(
    metrics.registry,
    () => {
      let pendingReviews = 0
      for (const room of rooms.all()) if (room.state === 'ready') pendingReviews += room.reviews.all().length
      return { connections: peers.size, loadedDocuments: rooms.size, pendingReviews }
    },
    config.opsSampleIntervalMs,
  )
  const keys = new KeyAdministration(store, masterKeySource(config))
  const notifications = new NotificationStore(store)
  const audit = startServerAudit(config, store, metrics.registry, logger)
  const forward = cluster ? adminForwarding(cluster, rooms) : null
  const integrity = new BackgroundVerifier({
    store,
    isLoaded: (storageName) => rooms.holds(storageName),
    metrics,
    logger: logger.child({ component: 'verifier' }),
    intervalMs: config.verifyIntervalMs,
  })
  cluster?.keepIndexCurrent(index)
  // Backups in the server's own format are of the LevelDB store (PostgreSQL: pg_dump).
  const backup = store instanceof DocumentStore ? limitedOnlineBackups(store) : undefined
  const scheduledBackups =
    store instanceof DocumentStore && config.backupIntervalMs > 0
      ? new ScheduledBackups(store, { directory: config.backupDir, intervalMs: config.backupIntervalMs, retentionMs: config.backupRetentionMs, registry: metrics.registry, logger })
      : null
  const operational = new OperationalMetrics(metrics.registry, () => store.healthy)
  const syncFailures = new SyncFailureStreaks(metrics.registry)
  let accepting = true

  // Short header/request timeouts and a bounded head, checked often enough that a stalled request
  // is cut close to its timeout (Node checks every 30 s by default).
  const web = createWebServer(
    tls,
    config,
    logger,
    {
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      maxHeaderSize: config.maxHeaderBytes,
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(config.headersTimeoutMs / 4))),
    },
    (request, response) =>
    handleHttpRequest(request, response, {
      ready: () => accepting && store.healthy && (cluster?.healthy ?? true),
      stats: () => ({ connections: peers.size, rooms: rooms.size }),
      devSecret,
      admin: { verifier, operations, keys, integrity, audit, integrityProblems: { inc: () => metrics.integrityProblems.inc({ source: 'admin-verify' }) }, ...(forward ? { forward } : {}), ...(backup ? { backup } : {}) },
      conflicts: { verifier, store, rooms, ...(forward ? { forward } : {}) },
      reviews: { verifier, operations, documents: liveDocuments(store, rooms), audit: audit.trail, ...(forward ? { forward } : {}) },
      history: { verifier, store, rooms, documents: liveDocuments(store, rooms), ...(forward ? { forward } : {}) },
      verifier,
      documents: {
        verifier,
        keeper: summaries,
        source: documentSource,
        rooms,
        ...(forward ? { forward } : {}),
        ...(cluster
          ? {
              refresh: async (tenant: string) => {
                await cluster.refreshIndex(index, tenant)
                summaries.listUnsummarized(tenant, index.namesOf(tenant))
                await summaries.refresh(2_000)
              },
            }
          : {}),
      },
      operations: { verifier, sampler },
      notifications,
      appDir: config.appDir,
      serveSourceMaps: config.serveSourceMaps,
      metrics: {
        token: config.metricsToken,
        render: async () => {
          metrics.connections.set(peers.size)
          metrics.rooms.set(rooms.size)
          metrics.storeBacklogWrites.set(store.backlog.writes)
          metrics.storeBacklogBytes.set(store.backlog.bytes)
          return { contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }
        },
      },
    }),
    audit.trail,
  )
  const httpServer = web.server
  httpServer.on('clientError', (error: Error, socket) => answerClientError(error, socket, audit.trail))
  const unauthenticated = new UnauthenticatedSockets({
    // Behind a trusted proxy every socket comes from the proxy's address: only the total applies.
    perAddress: config.trustProxy ? Infinity : config.maxUnauthenticatedPerAddress,
    total: config.maxUnauthenticatedSockets || defaultUnauthenticatedCap(),
    onEvicted: (address, code) => audit.trail.socketCut(address, code),
  })
  httpServer.on('connection', (socket) => unauthenticated.add(socket))
  // ws checks maxPayload while reading a frame and closes with 1009 before buffering it whole.
  // handleProtocols: answer with our subprotocol, never echo the `bearer.<jwt>` entry.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.maxPayloadBytes,
    perMessageDeflate: perMessageDeflate(config.wsCompressionThreshold),
    handleProtocols: (protocols) => selectSubprotocol(protocols),
    // `peers` tracks the connections; ws's own set would add an entry and a close listener (a closure) per socket.
    clientTracking: false,
  })
  if (tls) wss.on('headers', addHstsToUpgrade)

  const inboundBudgets = new InboundBudgets({
    connectionMessages: { perSecond: config.connectionMessagesPerSecond, burst: config.connectionMessageBurst },
    connectionBytes: { perSecond: config.connectionBytesPerSecond, burst: config.connectionByteBurst },
    userMessages: { perSecond: config.rateMessagesPerSecond, burst: config.rateMessageBurst },
    userBytes: { perSecond: config.rateBytesPerSecond, burst: config.rateByteBurst },
  })

  httpServer.on(
    'upgrade',
    createUpgradeHandler({
      wss,
      rooms,
      peers,
      policy: { verifier, allowedOrigins: parseAllowedOrigins(config.allowedOrigins), deviceTrust: tls?.deviceTrust ?? false },
      inboundBudgets,
      replyLimits: {
        bytes: { perSecond: config.replyBytesPerSecond, burst: config.replyByteBurst },
        awarenessQueryIntervalMs: config.awarenessQueryIntervalMs,
      },
      unauthenticated,
      logger,
      accepting: () => accepting,
      trustProxy: config.trustProxy,
      maxPendingUpgrades: config.maxPendingUpgrades,
      maxBufferedBytes: config.maxBufferedBytes,
      maxViewerAwarenessBytes: config.maxViewerAwarenessBytes,
      maxAwarenessStateBytes: config.maxAwarenessStateBytes,
      cluster,
      syncFailures,
      audit: audit.trail,
    }),
  )

  // Heartbeat: a peer that did not answer the previous ping is terminated at the next tick.
  const heartbeat = setInterval(() => {
    for (const peer of peers) peer.heartbeat()
  }, config.heartbeatIntervalMs)
  heartbeat.unref()
  // Token expiry: one sweep a second over all peers instead of a timer per peer (a Timeout, its
  // closure and a timer-list entry per connection). A connection may so outlive its token by up to
  // a second (plus event-loop lag): tokens live minutes to hours and the upgrade already accepts 5 s
  // of clock skew, so a second is well inside what a token's `exp` means here. The sweep is a
  // comparison per peer (~10 µs per thousand peers).
  const expirySweep = setInterval(() => {
    const now = Date.now()
    for (const peer of peers) peer.expireIfDue(now)
  }, 1_000)
  expirySweep.unref()
  // One sweep a second over all rooms instead of timers per room: awareness states nobody renewed
  // (y-protocols checks every 3 s for its 30 s timeout), and documents idle long enough to be
  // kept encoded (Room.letDocGoIfIdle).
  const roomSweep = setInterval(() => {
    const now = Date.now()
    for (const room of rooms.all()) {
      room.expireAwareness(now)
      room.letDocGoIfIdle(now)
    }
  }, 1_000)
  roomSweep.unref()
  // Retention for documents that stay loaded for a long time (loading prunes too).
  const retention = setInterval(() => {
    for (const room of rooms.all()) if (room.state === 'ready') void room.pruneEventLog()
  }, 3600_000)
  retention.unref()
  integrity.start()

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject)
    httpServer.listen(config.port, config.host, () => {
      httpServer.off('error', reject)
      resolve()
    })
  })
  const { port } = httpServer.address() as AddressInfo
  cluster?.start(port)
  logger.info({ host: config.host, port, store: store.location, tls: tls !== null, ...(cluster ? { nodeId: cluster.nodeId } : {}) }, 'listening')
  warnIfPlainOnNetwork(config.host, tls !== null, logger)

  let closing: Promise<void> | null = null
  const close = (): Promise<void> => {
    closing ??= (async () => {
      accepting = false
      clearInterval(heartbeat)
      clearInterval(expirySweep)
      clearInterval(roomSweep)
      clearInterval(retention)
      integrity.stop()
      await scheduledBackups?.stop()
      httpServer.close()
      await rooms.closeAll(CloseCode.GoingAway, formatCloseReason(ErrorCode.ShuttingDown, 'server is shutting down'))
      for (const peer of peers) peer.close(CloseCode.GoingAway)
      await cluster?.close()
      wss.close()
      httpServer.closeAllConnections()
      sampler.close()
      await summaries.close()
      await audit.close()
      await store.close()
      logger.info('stopped')
    })()
    return closing
  }

  return { config, store, rooms, peers, close, reloadTls: web.reload, reloadMasterKey: () => keys.reloadMasterKey(), get port() { return port } }
}
