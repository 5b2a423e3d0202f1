import { TokenBucket } from './tokenBucket.ts'

/** A sustained rate and the burst above it that a bucket allows. */
export interface Rate {
  readonly perSecond: number
  readonly burst: number
}

export interface InboundLimits {
  /** Messages and bytes one connection may send. */
  readonly connectionMessages: Rate
  readonly connectionBytes: Rate
  /** Messages and bytes one user (tenant + user id) may send over all its connections together. */
  readonly userMessages: Rate
  readonly userBytes: Rate
}

interface UserBudget {
  readonly messages: TokenBucket
  readonly bytes: TokenBucket
  connections: number
}

/**
 * The inbound budget of one connection: its own buckets and its user's shared ones. Keyed by who
 * is connected, never by address: an office of a hundred editors behind one NAT address has a
 * hundred budgets, and one abuser among them spends only its own.
 */
export class ConnectionBudget {
  private readonly messages: TokenBucket
  private readonly bytes: TokenBucket

  constructor(
    limits: InboundLimits,
    readonly userKey: string,
    private readonly user: UserBudget,
    now?: () => number,
  ) {
    this.messages = new TokenBucket(limits.connectionMessages.burst, limits.connectionMessages.perSecond, now)
    this.bytes = new TokenBucket(limits.connectionBytes.burst, limits.connectionBytes.perSecond, now)
  }

  /**
   * Pays for one message of `bytes` bytes that was already read (it is handled either way), and
   * answers how long to stop reading so that the connection and its user get back within budget.
   */
  spend(bytes: number): number {
    this.messages.spend(1)
    this.bytes.spend(bytes)
    this.user.messages.spend(1)
    this.user.bytes.spend(bytes)
    return this.msUntilPaid()
  }

  /** Which of the budgets needed the longest wait at the last look (for the close reason). */
  limitedBy: 'messages' | 'bytes' = 'messages'

  /** Milliseconds until every bucket this connection draws on is out of debt. */
  msUntilPaid(): number {
    const messages = Math.max(this.messages.msUntilPaid(), this.user.messages.msUntilPaid())
    const bytes = Math.max(this.bytes.msUntilPaid(), this.user.bytes.msUntilPaid())
    this.limitedBy = bytes > messages ? 'bytes' : 'messages'
    return Math.max(messages, bytes)
  }
}

/**
 * The per-user budgets, shared by all connections of a user so that opening more sockets buys a
 * user no more than `user*` allows, plus a budget per connection.
 */
export class InboundBudgets {
  private readonly users = new Map<string, UserBudget>()

  constructor(
    private readonly limits: InboundLimits,
    private readonly now?: () => number,
  ) {}

  /** A budget for a new connection of the user; `detach` it once when the connection closes. */
  attach(tenant: string, userId: string): ConnectionBudget {
    // A NUL cannot occur in either part (token claims are validated strings), so keys cannot collide.
    const userKey = `${tenant}\u0000${userId}`
    let user = this.users.get(userKey)
    if (!user) {
      user = {
        messages: new TokenBucket(this.limits.userMessages.burst, this.limits.userMessages.perSecond, this.now),
        bytes: new TokenBucket(this.limits.userBytes.burst, this.limits.userBytes.perSecond, this.now),
        connections: 0,
      }
      this.users.set(userKey, user)
    }
    user.connections++
    return new ConnectionBudget(this.limits, userKey, user, this.now)
  }

  /**
   * The connection closed. The user's budget lives as long as one of its connections does, so a
   * user in debt who reconnects on another socket still owes it.
   */
  detach(budget: ConnectionBudget): void {
    const user = this.users.get(budget.userKey)
    if (user && --user.connections === 0) this.users.delete(budget.userKey)
  }

  /** Users with a connection (for tests and metrics). */
  get size(): number {
    return this.users.size
  }
}
