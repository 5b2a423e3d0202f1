/** The default clock, one function for every bucket (a default `() => performance.now()` is a closure per bucket). */
export const monotonicNow = (): number => performance.now()

/**
 * A token bucket: holds up to `capacity` tokens, refilled continuously at `refillPerSecond`.
 * `take(n)` spends n tokens if there are enough. `spend(n)` always spends them and may leave the
 * bucket in debt: what was already read from a socket has been paid for, and the debt says how
 * long the sender must wait (`msUntilPaid`). The clock is injectable so tests need no sleeps.
 */
export class TokenBucket {
  private tokens: number
  private updatedAt: number

  constructor(
    private readonly capacity: number,
    private readonly refillPerSecond: number,
    private readonly now: () => number = monotonicNow,
  ) {
    this.tokens = capacity
    this.updatedAt = now()
  }

  private refill(): void {
    const now = this.now()
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) / 1000) * this.refillPerSecond)
    this.updatedAt = now
  }

  take(amount = 1): boolean {
    this.refill()
    if (this.tokens < amount) return false
    this.tokens -= amount
    return true
  }

  /** Spends `amount` even beyond what the bucket holds. */
  spend(amount: number): void {
    this.refill()
    this.tokens -= amount
  }

  /** Milliseconds until the bucket is out of debt (0 when it is not in debt). */
  msUntilPaid(): number {
    this.refill()
    return this.tokens >= 0 ? 0 : (-this.tokens / this.refillPerSecond) * 1000
  }
}
