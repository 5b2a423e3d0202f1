import { TokenBucket } from './tokenBucket.ts'

/** What a connection's own messages make the server send it. */
export type ReplyKind = 'sync-step-2' | 'awareness'

export interface ReplyLimits {
  /** Bytes of replies per connection: sustained rate and burst. */
  readonly bytes: { readonly perSecond: number; readonly burst: number }
  /** A query-awareness is answered at most once per this many ms. */
  readonly awarenessQueryIntervalMs: number
}

/**
 * Bounds what one connection's requests make the server send it: the answer to a sync step 1 and
 * to a query-awareness, which cost a few bytes to ask and up to a whole document to answer.
 * Replies are paid from a byte bucket per connection. A reply that is not affordable now is not
 * dropped: the latest request of each kind waits (a newer one replaces it; the answer is made when
 * it is sent, so it is as fresh as an immediate one) and is answered once the bucket is out of
 * debt. So a connection asking n times in a window gets at most its burst plus the window's refill
 * of replies, however small its requests.
 *
 * Broadcasts of other peers' changes are not paid from here: they are not this connection's doing.
 */
export class ReplyThrottle {
  private readonly bucket: TokenBucket
  /** The latest unanswered request of each kind: a function that makes and sends the reply. */
  private readonly waiting = new Map<ReplyKind, () => number>()
  private lastAwarenessAnswer = -Infinity
  private timer: NodeJS.Timeout | null = null
  private disposed = false

  constructor(
    private readonly limits: ReplyLimits,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.bucket = new TokenBucket(limits.bytes.burst, limits.bytes.perSecond, now)
  }

  /**
   * Answers a request now or as soon as the budget allows. `answer` makes and sends the reply and
   * returns the bytes it sent.
   */
  request(kind: ReplyKind, answer: () => number): void {
    if (this.disposed) return
    this.waiting.set(kind, answer)
    this.flush()
  }

  /** Replies waiting (for tests and metrics). */
  get pending(): number {
    return this.waiting.size
  }

  /** The connection closed: drop what waits and the timer. */
  dispose(): void {
    this.disposed = true
    this.waiting.clear()
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  private flush = (): void => {
    this.timer = null
    if (this.disposed) return
    for (const [kind, answer] of this.waiting) {
      const wait = this.msUntilAllowed(kind)
      if (wait > 0) continue
      this.waiting.delete(kind)
      if (kind === 'awareness') this.lastAwarenessAnswer = this.now()
      this.bucket.spend(answer())
    }
    if (this.waiting.size === 0 || this.timer) return
    let wait = Infinity
    for (const kind of this.waiting.keys()) wait = Math.min(wait, this.msUntilAllowed(kind))
    // One timer per connection with a waiting reply, none otherwise.
    this.timer = setTimeout(this.flush, Math.max(1, Math.ceil(wait)))
    this.timer.unref()
  }

  private msUntilAllowed(kind: ReplyKind): number {
    const debt = this.bucket.msUntilPaid()
    if (kind !== 'awareness') return debt
    return Math.max(debt, this.lastAwarenessAnswer + this.limits.awarenessQueryIntervalMs - this.now())
  }
}
