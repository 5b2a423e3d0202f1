import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { isCollabError } from '../../shared/errors.ts'
import { eventually } from '../../shared/testing/eventually.ts'
import { startRedis, type RedisInstance } from '../../shared/testing/redisInstance.ts'
import { DocumentLeases, type Lease } from './documentLease.ts'
import { LeaseKeeper, type LeaseLoss } from './leaseKeeper.ts'

let redis: RedisInstance
const open: DocumentLeases[] = []
before(async () => {
  redis = await startRedis()
})
after(async () => {
  for (const leases of open) leases.close()
  await redis.stop()
})

/** A node's lease client on the test's Redis; every test uses documents of its own. */
const node = (nodeId: string, leaseMs?: number): DocumentLeases => {
  const leases = new DocumentLeases(redis.url, { nodeId, ...(leaseMs ? { leaseMs } : {}), commandTimeoutMs: 500 })
  open.push(leases)
  return leases
}

const acquired = async (leases: DocumentLeases, document: string, options?: { after?: number }): Promise<Lease> => {
  const result = await leases.acquire(document, options)
  assert.ok(result.acquired, `expected ${leases.nodeId} to acquire ${document}`)
  return result.lease
}

const leaseUnavailable = (error: unknown) => isCollabError(error) && error.code === 'ERR_LEASE_UNAVAILABLE'

test('two nodes contend for a document: exactly one holds it, the other is told who', async () => {
  const a = node('node-a')
  const b = node('node-b')
  await eventually(() => a.holder('warmup'))
  await eventually(() => b.holder('warmup'))
  const results = await Promise.all([a.acquire('acme/proposal/p1'), b.acquire('acme/proposal/p1')])
  const winners = results.filter((result) => result.acquired)
  assert.equal(winners.length, 1)
  const winner = winners[0]!.acquired ? winners[0]!.lease : assert.fail()
  const loser = results.find((result) => !result.acquired)!
  assert.ok(!loser.acquired, '!loser.acquired')
  assert.equal(loser.holder.nodeId, winner.nodeId)
  assert.equal(loser.holder.epoch, winner.epoch)
  const holder = await a.holder('acme/proposal/p1')
  assert.equal(holder?.nodeId, winner.nodeId)
  assert.equal(holder?.epoch, winner.epoch)

  // The holder asking again extends its lease with the same epoch.
  const again = await acquired(winner.nodeId === 'node-a' ? a : b, 'acme/proposal/p1')
  assert.equal(again.epoch, winner.epoch)
  // Many nodes at once: still one holder.
  const many = await Promise.all(['c', 'd', 'e', 'f'].map((id) => node(`node-${id}`).acquire('acme/proposal/p2').catch(() => null)))
  assert.ok(many.filter((result) => result?.acquired).length <= 1, 'many.filter((result) => result?.acquired).length <= 1')
})

test('an expired lease hands the document over with a higher epoch; the old holder can neither renew nor release it', async () => {
  const a = node('node-a', 200)
  const b = node('node-b', 10_000)
  await eventually(() => b.holder('warmup'))
  const first = await eventually(() => acquired(a, 'acme/proposal/p3'))
  // a stops renewing (paused past its lease): b takes over once the lease expires.
  const second = await eventually(() => acquired(b, 'acme/proposal/p3'))
  assert.ok(second.epoch > first.epoch, `epoch ${second.epoch} after ${first.epoch}`)

  assert.equal(await a.renew(first), null, 'a stale holder cannot renew')
  assert.equal(await a.release(first), false, 'a stale holder cannot release')
  const holder = await b.holder('acme/proposal/p3')
  assert.equal(holder?.nodeId, 'node-b')
  assert.equal(holder?.epoch, second.epoch)
  assert.ok(holder!.expiresInMs > 1_000, 'the new holder keeps its full lease')
  const renewed = await b.renew(second)
  assert.equal(renewed?.epoch, second.epoch)

  // Released by its holder: the next owner gets a higher epoch still.
  assert.equal(await b.release(second), true)
  assert.equal(await a.holder('acme/proposal/p3'), null)
  const third = await acquired(a, 'acme/proposal/p3')
  assert.ok(third.epoch > second.epoch, 'third.epoch > second.epoch')
})

test('the same node holding an old epoch cannot renew or release its new lease with the old one', async () => {
  const a = node('node-a', 200)
  const old = await eventually(() => acquired(a, 'acme/proposal/p4'))
  await eventually(async () => assert.equal(await a.holder('acme/proposal/p4'), null))
  const current = await acquired(a, 'acme/proposal/p4')
  assert.ok(current.epoch > old.epoch, 'current.epoch > old.epoch')
  assert.equal(await a.renew(old), null)
  assert.equal(await a.release(old), false)
  assert.equal((await a.holder('acme/proposal/p4'))?.epoch, current.epoch)
})

test('Redis paused or down: acquire and renew fail with ERR_LEASE_UNAVAILABLE instead of waiting, and work again once it is back', async () => {
  const a = node('node-a')
  const lease = await eventually(() => acquired(a, 'acme/proposal/p5'))

  redis.pause()
  try {
    await assert.rejects(a.acquire('acme/proposal/p6'), leaseUnavailable)
    await assert.rejects(a.renew(lease), leaseUnavailable)
    await assert.rejects(a.holder('acme/proposal/p5'), leaseUnavailable)
  } finally {
    redis.resume()
  }
  assert.equal((await eventually(() => a.renew(lease)))?.epoch, lease.epoch)

  await redis.kill()
  await assert.rejects(a.acquire('acme/proposal/p6'), leaseUnavailable)
  await assert.rejects(a.renew(lease), leaseUnavailable)
  await assert.rejects(a.release(lease), leaseUnavailable)

  // Back, but empty (Redis keeps nothing on disk): the epoch counter is gone, so the store's
  // highest epoch is passed in and the new epoch still rises above it.
  await redis.restart()
  const again = await eventually(() => acquired(a, 'acme/proposal/p5', { after: lease.epoch }))
  assert.ok(again.epoch > lease.epoch, `epoch ${again.epoch} after ${lease.epoch}`)
})

test('a kept lease outlives several lease times while another node keeps asking; cut off from Redis, the keeper declares it lost by itself and another node takes over', async () => {
  const a = node('node-a', 600)
  const b = node('node-b', 600)
  const lease = await eventually(() => acquired(a, 'acme/proposal/p7'))
  await eventually(() => b.holder('warmup'))
  const losses: LeaseLoss[] = []
  const keeper = new LeaseKeeper(a, lease, (reason) => losses.push(reason), 150)
  try {
    const start = performance.now()
    // Three lease times: without renewals the lease would have lapsed twice over.
    await eventually(
      async () => {
        const attempt = await b.acquire('acme/proposal/p7')
        assert.equal(attempt.acquired, false, 'b never gets a kept lease')
        assert.ok(performance.now() - start > 3 * 600, 'keep asking')
      },
      { intervalMs: 50 },
    )
    assert.ok(keeper.valid, 'keeper.valid')
    assert.equal(keeper.lease.epoch, lease.epoch)
    assert.deepEqual(losses, [])

    redis.pause()
    try {
      await eventually(() => assert.deepEqual(losses, ['expired']))
      assert.equal(keeper.valid, false)
    } finally {
      redis.resume()
    }
    const taken = await eventually(() => acquired(b, 'acme/proposal/p7'))
    assert.ok(taken.epoch > lease.epoch, 'taken.epoch > lease.epoch')
  } finally {
    keeper.stop()
  }
})
