import os from 'node:os'
import type { Registry } from 'prom-client'
import { CloseCode, formatCloseReason } from '../../shared/closeCodes.ts'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import type { ServerConfig } from '../config.ts'
import type { Logger } from '../observability/logger.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import { PostgresStorage } from '../persistence/postgres/postgresStorage.ts'
import { ClusterMetrics } from './clusterMetrics.ts'
import { DocumentLeases, newNodeId } from './documentLease.ts'
import { ClusterOwnership } from './documentOwnership.ts'
import { ForwardedConnection, type ForwardLimits, type ForwardRequest } from './forwarding.ts'
import { NodeAuth } from './nodeAuth.ts'
import { NodeRegistry } from './nodeRegistry.ts'
import type WebSocket from 'ws'
import type { DocumentIndex } from '../persistence/documentIndex.ts'

/** Renewed at 30% of the lease: three renewals fit in one lease (see documentLease.ts). */
export const RENEW_FRACTION = 0.3
/** Time to open a forwarded connection to the owner: a live node on the same network answers in milliseconds. */
export const FORWARD_CONNECT_TIMEOUT_MS = 3_000

/**
 * How often the index of existing documents is brought up to date with the shared store, for the
 * rules' cross-reference checks (synchronous, in memory): a document another node created is known
 * here within this. One query of every document's name: fine for tens of thousands of documents.
 */
export const INDEX_REFRESH_MS = 2_000

/** Where a document is served: here, or by the owner node at this URL. */
export type DocumentRoute = { readonly here: true } | { readonly here: false; readonly ownerUrl: string; readonly ownerId: string }

/**
 * This node's part in cluster mode: its id, the document leases, the node registry, node-to-node
 * authentication, forwarded connections and the cluster metrics, built from the configuration
 * (`redisUrl` set). A room takes its document's lease through `ownership`; the upgrade handler
 * and the admin API ask `route` where a document is served.
 */
export class ClusterNode {
  readonly nodeId: string
  readonly leases: DocumentLeases
  readonly metrics: ClusterMetrics
  readonly ownership: ClusterOwnership
  readonly auth: NodeAuth
  private registry: NodeRegistry | null = null
  private readonly forwarded = new Set<ForwardedConnection>()
  private advertised = ''
  private indexTimer: NodeJS.Timeout | null = null
  private readonly fenced: PostgresStorage['fenced']

  constructor(
    private readonly config: ServerConfig,
    store: DocumentStorage,
    registry: Registry,
    /** The shared secret node-to-node requests are signed with (cluster secret, JWT secret or dev secret). */
    secret: Uint8Array | string,
    private readonly logger: Logger,
  ) {
    if (!(store instanceof PostgresStorage)) throw new CollabError(ErrorCode.BadConfig, 'cluster mode needs the PostgreSQL store')
    this.nodeId = config.nodeId || newNodeId()
    this.metrics = new ClusterMetrics(registry)
    let redisDown = false
    this.leases = new DocumentLeases(config.redisUrl, {
      nodeId: this.nodeId,
      leaseMs: config.leaseMs,
      onError: (error) => {
        if (!redisDown) logger.error({ err: error.message }, 'Redis unreachable: documents cannot be taken over until it is back')
        redisDown = true
      },
    })
    this.ownership = new ClusterOwnership({
      leases: this.leases,
      store,
      highestEpoch: (storageName) => store.fenced.highestEpoch(storageName),
      metrics: this.metrics,
      renewEveryMs: Math.max(50, Math.floor(config.leaseMs * RENEW_FRACTION)),
      logger,
    })
    this.auth = NodeAuth.derive(secret, this.nodeId)
    this.fenced = store.fenced
  }

  /** Keeps `index` current with the documents other nodes create (see INDEX_REFRESH_MS). */
  keepIndexCurrent(index: DocumentIndex): void {
    this.indexTimer = setInterval(() => {
      this.fenced.allDocumentNames().then(
        (names) => index.addAll(names),
        () => {}, // the store's own health probe reports it
      )
    }, INDEX_REFRESH_MS)
    this.indexTimer.unref()
  }

  /** Adds a tenant's documents to `index` now (the document list must show what other nodes created). */
  async refreshIndex(index: DocumentIndex, tenant: string): Promise<void> {
    index.addAll(await this.fenced.documentNames(tenant))
  }

  /** Redis answers (documents can be taken, owners found): part of `/readyz`. */
  get healthy(): boolean {
    return this.leases.connected
  }

  /** The URL other nodes reach this node at (after `start`). */
  get advertiseUrl(): string {
    return this.advertised
  }

  /** Once listening: registers this node's advertise URL (the configured one, or host and bound port). */
  start(port: number): void {
    const host = ['0.0.0.0', '::', ''].includes(this.config.host) ? os.hostname() : this.config.host
    this.advertised = (this.config.advertiseUrl || `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/+$/, '')
    this.registry = new NodeRegistry(this.config.redisUrl, { nodeId: this.nodeId, advertiseUrl: this.advertised, onError: () => {} })
    this.registry.start()
    this.logger.info({ nodeId: this.nodeId, advertiseUrl: this.advertised }, 'cluster node registered')
  }

  /**
   * Where a document is served: here when this node has its room (loaded or loading) or holds its
   * lease, or when nobody holds it (the room's load takes it); else by the holder. Throws
   * ERR_LEASE_UNAVAILABLE when Redis cannot be asked, ERR_OWNER_UNREACHABLE when the holder is not
   * registered (stopped, its lease not yet expired).
   */
  async route(storageName: string, loadedHere: boolean): Promise<DocumentRoute> {
    if (loadedHere) return { here: true }
    const holder = await this.leases.holder(storageName)
    if (holder === null || holder.nodeId === this.nodeId) return { here: true }
    const ownerUrl = this.registry ? await this.registry.urlOf(holder.nodeId) : null
    if (!ownerUrl) throw new CollabError(ErrorCode.OwnerUnreachable, `the owner of ${storageName} (node ${holder.nodeId}) is not reachable`)
    return { here: false, ownerUrl, ownerId: holder.nodeId }
  }

  /** Pipes an upgraded client to the owner of its document. */
  forward(client: WebSocket, request: ForwardRequest): void {
    const limits: ForwardLimits = {
      connectTimeoutMs: FORWARD_CONNECT_TIMEOUT_MS,
      maxBufferedBytes: this.config.maxBufferedBytes,
      maxPayloadBytes: this.config.maxPayloadBytes,
      heartbeatIntervalMs: this.config.heartbeatIntervalMs,
    }
    new ForwardedConnection(client, request, { auth: this.auth, limits, metrics: this.metrics, logger: this.logger, open: this.forwarded })
  }

  /** Shutdown: forwarded clients are closed with 1001 (they reconnect elsewhere), the node unregistered. */
  async close(): Promise<void> {
    const reason = formatCloseReason(ErrorCode.ShuttingDown, 'server is shutting down')
    if (this.indexTimer) clearInterval(this.indexTimer)
    for (const connection of [...this.forwarded]) connection.close(CloseCode.GoingAway, reason)
    await this.ownership.released()
    await this.registry?.close()
    this.leases.close()
  }
}
