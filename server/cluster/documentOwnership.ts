import { CollabError, ErrorCode, isCollabError } from '../../shared/errors.ts'
import type { Logger } from '../observability/logger.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import type { ClusterMetrics, OwnershipLoss } from './clusterMetrics.ts'
import type { DocumentLeases } from './documentLease.ts'
import { LeaseKeeper } from './leaseKeeper.ts'

/** A document this node owns while its room is loaded. */
export interface HeldDocument {
  /** The fencing epoch every write of the room carries. */
  readonly epoch: number
  /** May the room write (and acknowledge, broadcast) right now? False from the moment the lease may have lapsed. */
  readonly valid: boolean
  /** The store refused a write as stale: another node owns the document. Stops renewing. */
  refused(): void
  /**
   * The room found the lease past its end before the keeper's timer said so (a write was about to
   * start): counted as lost (expired) once, whichever noticed first. Stops renewing.
   */
  lapsed(): void
  /** The room unloaded: gives the lease up so another node may take the document at once. */
  release(): Promise<void>
}

/** How a room becomes its document's only writer before it loads it (cluster mode). */
export interface DocumentOwnership {
  /**
   * Takes the document's lease, then claims its epoch in the store (from that commit on, any
   * earlier owner's writes are refused), and keeps the lease renewed. `onLost` is called once if
   * the lease is lost while held. Throws ERR_DOCUMENT_MOVED when another node holds it,
   * ERR_LEASE_UNAVAILABLE when Redis cannot be asked.
   */
  take(storageName: string, onLost: (reason: OwnershipLoss) => void): Promise<HeldDocument>
}

export interface ClusterOwnershipOptions {
  readonly leases: DocumentLeases
  readonly store: DocumentStorage
  /** The highest epoch the store has seen for a document: new epochs go above it even after Redis lost its counters. */
  readonly highestEpoch: (storageName: string) => Promise<number>
  readonly metrics: ClusterMetrics
  readonly renewEveryMs: number
  readonly logger: Logger
}

/** Ownership through Redis leases and the store's epoch fence. */
export class ClusterOwnership implements DocumentOwnership {
  /** Releases under way, per document: a room loading the document again waits for its predecessor's. */
  private readonly releasing = new Map<string, Promise<void>>()

  constructor(private readonly options: ClusterOwnershipOptions) {}

  /** Resolves once every lease given up so far is released (shutdown: before the Redis connection closes). */
  async released(): Promise<void> {
    await Promise.all(this.releasing.values())
  }

  async take(storageName: string, onLost: (reason: OwnershipLoss) => void): Promise<HeldDocument> {
    const { leases, store, metrics } = this.options
    // Acquire *extends* a lease this node already holds: without this wait a room unloading here
    // could release the lease its successor on this node has just extended.
    await this.releasing.get(storageName)
    const attempt = await leases.acquire(storageName, { after: await this.options.highestEpoch(storageName) })
    if (!attempt.acquired) {
      throw new CollabError(ErrorCode.DocumentMoved, `${storageName} is owned by node ${attempt.holder.nodeId}`)
    }
    const { lease } = attempt
    try {
      await store.claim(storageName, lease.epoch)
    } catch (error) {
      await leases.release(lease).catch(() => {})
      if (isCollabError(error) && error.code === ErrorCode.StaleEpoch) {
        metrics.staleEpochRefusals.inc()
        throw new CollabError(ErrorCode.DocumentMoved, error.message)
      }
      throw error
    }
    metrics.ownershipAcquired.inc()
    let ended = false // lost, refused or lapsed: counted once
    const lost = (reason: OwnershipLoss) => {
      if (ended) return
      ended = true
      metrics.ownershipLost.inc({ reason })
      this.options.logger.warn({ document: storageName, epoch: lease.epoch, reason }, 'document lease lost')
      onLost(reason)
    }
    const keeper = new LeaseKeeper(leases, lease, (reason) => lost(reason), this.options.renewEveryMs)
    let refused = false
    return {
      epoch: lease.epoch,
      get valid() {
        return !refused && keeper.valid
      },
      refused: () => {
        if (refused) return
        refused = true
        metrics.staleEpochRefusals.inc()
        keeper.stop()
        if (!ended) {
          ended = true
          metrics.ownershipLost.inc({ reason: 'stale-epoch' })
        }
      },
      lapsed: () => {
        keeper.stop()
        if (ended) return
        ended = true
        metrics.ownershipLost.inc({ reason: 'expired' })
        this.options.logger.warn({ document: storageName, epoch: lease.epoch, reason: 'expired' }, 'document lease lost')
      },
      release: () => {
        if (refused) return Promise.resolve()
        const released = keeper.release().finally(() => {
          if (this.releasing.get(storageName) === released) this.releasing.delete(storageName)
        })
        this.releasing.set(storageName, released)
        return released
      },
    }
  }
}
