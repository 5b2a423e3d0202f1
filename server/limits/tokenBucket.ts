/**
 * A token bucket: holds up to `capacity` tokens, refilled continuously at `refillPerSecond`.
 * `take(n)` spends n tokens if there are enough. The clock is injectable so tests need no sleeps.
 */
export class TokenBucket {
  private tokens: number
  private updatedAt: number

  constructor(
    private readonly capacity: number,
    private readonly refillPerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = capacity
    this.updatedAt = now()
  }

  take(amount = 1): boolean {
    const now = this.now()
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) / 1000) * this.refillPerSecond)
    this.updatedAt = now
    if (this.tokens < amount) return false
    this.tokens -= amount
    return true
  }
}
