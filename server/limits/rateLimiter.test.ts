import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { RateLimiter } from './rateLimiter.ts'
import { TokenBucket } from './tokenBucket.ts'

describe('token bucket and rate limiter', () => {
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

  test('connections from one address share one budget; others are unaffected', () => {
    let now = 0
    const limiter = new RateLimiter({ messagesPerSecond: 1, messageBurst: 2, bytesPerSecond: 1000, byteBurst: 1000 }, () => now)
    limiter.attach('10.0.0.1')
    limiter.attach('10.0.0.1')
    limiter.attach('10.0.0.2')
    assert.equal(limiter.spend('10.0.0.1', 1), 'ok')
    assert.equal(limiter.spend('10.0.0.1', 1), 'ok')
    assert.equal(limiter.spend('10.0.0.1', 1), 'messages')
    assert.equal(limiter.spend('10.0.0.2', 1), 'ok')
    assert.equal(limiter.spend('10.0.0.2', 2000), 'bytes')
    // The budget lives as long as a connection from the address does.
    limiter.detach('10.0.0.1')
    assert.equal(limiter.spend('10.0.0.1', 1), 'messages')
    limiter.detach('10.0.0.1')
    limiter.attach('10.0.0.1')
    assert.equal(limiter.spend('10.0.0.1', 1), 'ok')
  })
})
