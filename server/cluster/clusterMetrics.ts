import { Counter, Gauge, type Registry } from 'prom-client'

/** Why a node stopped owning a document it had loaded. */
export type OwnershipLoss = 'expired' | 'taken' | 'stale-epoch'

/** Cluster mode's metrics, on the server's registry (served at each node's `/metrics`). */
export class ClusterMetrics {
  readonly ownershipAcquired: Counter
  readonly ownershipLost: Counter<'reason'>
  readonly staleEpochRefusals: Counter
  readonly forwardedConnections: Counter
  readonly forwardedOpen: Gauge
  readonly forwardBufferedBytes: Gauge
  readonly forwardFailures: Counter<'reason'>
  readonly forwardedAdminRequests: Counter

  constructor(registry: Registry) {
    const registers = [registry]
    this.ownershipAcquired = new Counter({ name: 'collab_cluster_ownership_acquired_total', help: 'Documents this node took the lease of and loaded', registers })
    this.ownershipLost = new Counter({
      name: 'collab_cluster_ownership_lost_total',
      help: 'Loaded documents this node lost, by reason (expired: no renewal confirmed in time; taken: Redis says another holder; stale-epoch: the store refused a write)',
      labelNames: ['reason'] as const,
      registers,
    })
    this.staleEpochRefusals = new Counter({ name: 'collab_cluster_stale_epoch_refusals_total', help: 'Writes or claims the store refused with ERR_STALE_EPOCH', registers })
    this.forwardedConnections = new Counter({ name: 'collab_cluster_forwarded_connections_total', help: 'Client connections forwarded to the owner node', registers })
    this.forwardedOpen = new Gauge({ name: 'collab_cluster_forwarded_connections', help: 'Client connections being forwarded to an owner node now', registers })
    this.forwardBufferedBytes = new Gauge({
      name: 'collab_cluster_forward_buffered_bytes',
      help: 'Bytes forwarded connections hold, sent on and not yet written to a socket (each direction of each connection bounded by maxBufferedBytes)',
      registers,
    })
    this.forwardFailures = new Counter({
      name: 'collab_cluster_forward_failures_total',
      help: 'Forwarded connections closed by this node, by reason (unreachable, timeout, buffer, owner-gone)',
      labelNames: ['reason'] as const,
      registers,
    })
    this.forwardedAdminRequests = new Counter({ name: 'collab_cluster_forwarded_admin_requests_total', help: 'Admin changes forwarded to the owner node', registers })
  }
}
