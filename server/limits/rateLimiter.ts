import { TokenBucket } from './tokenBucket.ts'

export interface RateLimits {
  /** Sustained messages per second per client address; bursts up to `messageBurst`. */
  readonly messagesPerSecond: number
  readonly messageBurst: number
  /** Sustained bytes per second per client address; bursts up to `byteBurst`. */
  readonly bytesPerSecond: number
  readonly byteBurst: number
}

interface AddressBudget {
  readonly messages: TokenBucket
  readonly bytes: TokenBucket
  connections: number
}

export type RateVerdict = 'ok' | 'messages' | 'bytes'

/**
 * Message and byte budgets per client address, shared by all connections from that address, so
 * opening more sockets does not buy more budget. The address is the socket's remote address
 * (x-forwarded-for only behind a trusted proxy, decided by the caller).
 */
export class RateLimiter {
  private readonly budgets = new Map<string, AddressBudget>()

  constructor(
    private readonly limits: RateLimits,
    private readonly now?: () => number,
  ) {}

  /** Registers a connection from `address`; call `detach` with the same address once when it closes. */
  attach(address: string): void {
    let budget = this.budgets.get(address)
    if (!budget) {
      budget = {
        messages: new TokenBucket(this.limits.messageBurst, this.limits.messagesPerSecond, this.now),
        bytes: new TokenBucket(this.limits.byteBurst, this.limits.bytesPerSecond, this.now),
        connections: 0,
      }
      this.budgets.set(address, budget)
    }
    budget.connections++
  }

  /**
   * A connection from `address` closed (once per `attach`; no closure per connection to guard it:
   * the caller detaches on the socket's single close event).
   */
  detach(address: string): void {
    const budget = this.budgets.get(address)
    if (budget && --budget.connections === 0) this.budgets.delete(address)
  }

  /** Spends one message and `bytes` bytes of the address's budget. */
  spend(address: string, bytes: number): RateVerdict {
    const budget = this.budgets.get(address)
    if (!budget) return 'ok'
    if (!budget.messages.take(1)) return 'messages'
    if (!budget.bytes.take(bytes)) return 'bytes'
    return 'ok'
  }
}
