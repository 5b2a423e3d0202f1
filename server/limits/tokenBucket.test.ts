import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { InboundBudgets } from './inboundBudget.ts'
import { TokenBucket } from './tokenBucket.ts'

describe('token buckets and inbound budgets', () => {
  test('a bucket allows its burst, refuses beyond it, and refills with time', () => {
    let now = 0
    const bucket = new TokenBucket(3, 10, () => now)
    assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [true, true, true, false])
    now += 100 // 0.1 s at 10/s = one token
    assert.equal(bucket.take(), true)
    assert.equal(bucket.take(), false)
    now += 10_000 // refills to capacity, never beyond
    assert.deepEqual([bucket.take(3), bucket.take()], [true, false])
  })

  test('spending beyond the bucket leaves a debt that says how long to wait', () => {
    let now = 0
    const bucket = new TokenBucket(10, 10, () => now)
    bucket.spend(10)
    assert.equal(bucket.msUntilPaid(), 0)
    bucket.spend(5) // 5 tokens of debt at 10/s
    assert.equal(bucket.msUntilPaid(), 500)
    now += 500
    assert.equal(bucket.msUntilPaid(), 0)
    assert.equal(bucket.take(), false) // paid off, nothing saved yet
  })

  test('connections of one user share the user budget; another user on the same address is unaffected', () => {
    let now = 0
    const budgets = new InboundBudgets(
      {
        connectionMessages: { perSecond: 10, burst: 3 },
        connectionBytes: { perSecond: 1000, burst: 1000 },
        userMessages: { perSecond: 1, burst: 4 },
        userBytes: { perSecond: 1000, burst: 1000 },
      },
      () => now,
    )
    const first = budgets.attach('acme', 'mallory')
    const second = budgets.attach('acme', 'mallory')
    const neighbour = budgets.attach('acme', 'alice')
    assert.deepEqual([first.spend(1), first.spend(1), first.spend(1)], [0, 0, 0])
    assert.equal(first.spend(1), 100) // its own bucket: one message of debt at 10/s
    assert.equal(second.spend(1), 1000) // the user's: 4 spent, now one in debt at 1/s
    assert.equal(neighbour.spend(1), 0)
    assert.equal(Math.round(neighbour.spend(2000)), 1001) // bytes: 1 + 2000 spent of 1000, at 1000/s
    assert.equal(budgets.size, 2)
    // The user's budget (and its debt) lives as long as one of its connections.
    budgets.detach(first)
    assert.equal(second.msUntilPaid(), 1000)
    budgets.detach(second)
    budgets.detach(neighbour)
    assert.equal(budgets.size, 0)
    assert.equal(budgets.attach('acme', 'mallory').msUntilPaid(), 0)
  })
})
