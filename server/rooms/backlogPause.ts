import type { Peer } from '../connection/peer.ts'
import type { Logger } from '../observability/logger.ts'
import type { CollabMetrics } from '../observability/metrics.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'

/** What the pause needs of its room. */
export interface PausableRoom {
  readonly peers: ReadonlySet<Peer>
  readonly store: DocumentStorage
  readonly metrics: CollabMetrics
  readonly logger: Logger
  readonly state: string
}

/**
 * Backpressure on what can actually grow: the writes durable in the write-ahead log that
 * LevelDB has not caught up with (held in memory until it does; the group-commit queue itself is
 * written out every tick). While that backlog is full the room reads nothing from its writers
 * (TCP pushes back on the senders); a peer that joins meanwhile is read (its handshake is
 * answered) until its first write.
 */
export class BacklogPause {
  /** Set while the store's backlog is full and the peers' sockets are paused: cancels the wait for it to drain. */
  private cancelDrainWait: (() => void) | null = null

  constructor(private readonly room: PausableRoom) {}

  /** True while the store's backlog is full and the room does not read from its peers' sockets. */
  get paused(): boolean {
    return this.cancelDrainWait !== null
  }

  /** Pauses every peer's reading when the store's backlog is full, until it has drained. */
  pauseIfStoreBehind(): void {
    const { room } = this
    if (this.cancelDrainWait || room.state === 'closed' || !room.store.backlogFull) return
    room.metrics.readPauses.inc()
    room.logger.warn({ backlog: room.store.backlog }, 'store backlog full; pausing reads')
    for (const peer of room.peers) peer.pauseReading()
    this.cancelDrainWait = room.store.whenBacklogDrains(() => {
      this.cancelDrainWait = null
      for (const peer of room.peers) peer.resumeReading()
    })
  }

  /** The room closed: nobody waits for the drain any more. */
  cancel(): void {
    this.cancelDrainWait?.()
    this.cancelDrainWait = null
  }
}
