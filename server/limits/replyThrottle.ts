import { monotonicNow, TokenBucket } from './tokenBucket.ts'

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
  /**
   * The latest unanswered request of each kind: a function that makes and sends the reply. Two
   * fields, not a Map: every connection has a throttle (its first sync step 1 makes it), and an
   * empty Map costs more than the rest of it.
   */
  private waitingSyncStep2: (() => number) | null = null
  private waitingAwareness: (() => number) | null = null
  private lastAwarenessAnswer = -Infinity
  private timer: NodeJS.Timeout | null = null
  private disposed = false

  constructor(
    private readonly limits: ReplyLimits,
    private readonly now: () => number = monotonicNow,
  ) {
    this.bucket = new TokenBucket(limits.bytes.burst, limits.bytes.perSecond, now)
  }

  /**
   * Answers a request now or as soon as the budget allows. `answer` makes and sends the reply and
   * returns the bytes it sent.
   */
  request(kind: ReplyKind, answer: () => number): void {
    if (this.disposed) return
    if (kind === 'awareness') this.waitingAwareness = answer
    else this.waitingSyncStep2 = answer
    this.flush()
  }

  /** Replies waiting (for tests and metrics). */
  get pending(): number {
    return (this.waitingSyncStep2 ? 1 : 0) + (this.waitingAwareness ? 1 : 0)
  }

  /** The connection closed: drop what waits and the timer. */
  dispose(): void {
    this.disposed = true
    this.waitingSyncStep2 = null
    this.waitingAwareness = null
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  /** Sends what the budget allows (the document before presence: a joiner needs it first); a timer for the rest. */
  private flush(): void {
    this.timer = null
    if (this.disposed) return
    if (this.waitingSyncStep2 && this.msUntilAllowed('sync-step-2') <= 0) {
      const answer = this.waitingSyncStep2
      this.waitingSyncStep2 = null
      this.bucket.spend(answer())
    }
    if (this.waitingAwareness && this.msUntilAllowed('awareness') <= 0) {
      const answer = this.waitingAwareness
      this.waitingAwareness = null
      this.lastAwarenessAnswer = this.now()
      this.bucket.spend(answer())
    }
    if (this.pending === 0 || this.timer || this.disposed) return
    let wait = Infinity
    if (this.waitingSyncStep2) wait = this.msUntilAllowed('sync-step-2')
    if (this.waitingAwareness) wait = Math.min(wait, this.msUntilAllowed('awareness'))
    // One timer per connection with a waiting reply, none otherwise; a shared callback, not a closure per throttle.
    this.timer = setTimeout(flushThrottle, Math.max(1, Math.ceil(wait)), this)
    this.timer.unref()
  }

  private msUntilAllowed(kind: ReplyKind): number {
    const debt = this.bucket.msUntilPaid()
    if (kind !== 'awareness') return debt
    return Math.max(debt, this.lastAwarenessAnswer + this.limits.awarenessQueryIntervalMs - this.now())
  }

  /** For the shared timer callback. */
  static flush(throttle: ReplyThrottle): void {
    throttle.flush()
  }
}

const flushThrottle = (throttle: ReplyThrottle): void => ReplyThrottle.flush(throttle)
