import { RENEW_EVERY_MS, type DocumentLeases, type Lease } from './documentLease.ts'

export type LeaseLoss =
  /** Redis did not confirm a renewal before the lease's validUntil: the holder must assume it lapsed. */
  | 'expired'
  /** Redis answered that this node no longer holds the lease (it lapsed and maybe another node took it). */
  | 'taken'

/**
 * Keeps one held lease alive: renews it every `renewEveryMs` and says when it is lost. The holder
 * writes only while `valid`: at the lease's validUntil without a confirmed renewal it is lost
 * (`onLost('expired')`), whether or not Redis could be asked — a node cut off from Redis stops on
 * its own, before another node can take over. (The store's epoch fence refuses it anyway; this
 * keeps a cut-off node from acknowledging writes it can no longer make.)
 */
export class LeaseKeeper {
  private current: Lease
  private lost: LeaseLoss | null = null
  private renewTimer: NodeJS.Timeout | null = null
  private expiryTimer: NodeJS.Timeout | null = null
  private stopped = false

  constructor(
    private readonly leases: DocumentLeases,
    lease: Lease,
    private readonly onLost: (reason: LeaseLoss, lease: Lease) => void,
    private readonly renewEveryMs = RENEW_EVERY_MS,
  ) {
    this.current = lease
    this.armExpiry()
    this.scheduleRenewal()
  }

  get lease(): Lease {
    return this.current
  }

  /** May the holder write (and broadcast) under this lease right now? */
  get valid(): boolean {
    return this.lost === null && !this.stopped && performance.now() < this.current.validUntil
  }

  /** Stops renewing and gives the lease up (the document unloaded here). */
  async release(): Promise<void> {
    this.stop()
    if (this.lost === null) await this.leases.release(this.current).catch(() => {}) // unreleased, it expires
  }

  /** Stops renewing without releasing (shutdown: the lease expires). */
  stop(): void {
    this.stopped = true
    if (this.renewTimer) clearTimeout(this.renewTimer)
    if (this.expiryTimer) clearTimeout(this.expiryTimer)
  }

  private scheduleRenewal(): void {
    this.renewTimer = setTimeout(() => void this.renew(), this.renewEveryMs)
    this.renewTimer.unref()
  }

  private async renew(): Promise<void> {
    if (this.stopped || this.lost) return
    try {
      const renewed = await this.leases.renew(this.current)
      if (this.stopped || this.lost) return
      if (renewed === null) return this.lose('taken')
      this.current = renewed
      this.armExpiry()
    } catch {
      // Redis unavailable (ERR_LEASE_UNAVAILABLE): try again at the next interval; the expiry
      // timer ends the lease in time if no renewal gets through.
    }
    this.scheduleRenewal()
  }

  private armExpiry(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer)
    this.expiryTimer = setTimeout(() => this.lose('expired'), Math.max(0, this.current.validUntil - performance.now()))
    this.expiryTimer.unref()
  }

  private lose(reason: LeaseLoss): void {
    if (this.lost || this.stopped) return
    this.lost = reason
    if (this.renewTimer) clearTimeout(this.renewTimer)
    if (this.expiryTimer) clearTimeout(this.expiryTimer)
    this.onLost(reason, this.current)
  }
}
