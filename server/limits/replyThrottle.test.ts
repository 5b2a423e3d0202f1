import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { eventually } from '../../shared/testing/eventually.ts'
import { ReplyThrottle } from './replyThrottle.ts'

describe('reply throttle', () => {
  test('over budget, the latest request of each kind waits and both are answered once the debt is paid; nothing after dispose', async () => {
    let now = 0
    const sent: string[] = []
    const answer = (name: string, bytes: number) => () => {
      sent.push(name)
      return bytes
    }
    // 1,000 bytes a second, 10 of burst: a 50-byte reply leaves 40 ms of debt.
    const throttle = new ReplyThrottle({ bytes: { perSecond: 1_000, burst: 10 }, awarenessQueryIntervalMs: 0 }, () => now)
    throttle.request('sync-step-2', answer('step2-a', 50))
    assert.deepEqual(sent, ['step2-a'])
    throttle.request('awareness', answer('awareness-a', 5))
    throttle.request('sync-step-2', answer('step2-b', 5))
    throttle.request('awareness', answer('awareness-b', 5))
    assert.equal(throttle.pending, 2)
    assert.deepEqual(sent, ['step2-a'])
    now += 1_000 // the debt is paid; the throttle's own timer looks again
    await eventually(() => assert.equal(throttle.pending, 0))
    assert.deepEqual(new Set(sent), new Set(['step2-a', 'step2-b', 'awareness-b']))

    throttle.request('sync-step-2', answer('step2-c', 50))
    throttle.request('sync-step-2', answer('step2-d', 5))
    assert.equal(throttle.pending, 1)
    throttle.dispose()
    now += 1_000
    throttle.request('awareness', answer('after-dispose', 5))
    assert.equal(throttle.pending, 0)
    assert.deepEqual(sent.slice(3), ['step2-c'])
  })

  test('query-awareness is answered at most once per interval, the latest question last', async () => {
    let now = 0
    const sent: string[] = []
    const throttle = new ReplyThrottle({ bytes: { perSecond: 1e9, burst: 1e9 }, awarenessQueryIntervalMs: 500 }, () => now)
    for (const name of ['q1', 'q2', 'q3']) {
      throttle.request('awareness', () => {
        sent.push(name)
        return 10
      })
    }
    assert.deepEqual(sent, ['q1'])
    assert.equal(throttle.pending, 1)
    now += 500
    await eventually(() => assert.deepEqual(sent, ['q1', 'q3']))
    throttle.dispose()
  })
})
