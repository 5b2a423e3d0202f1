import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { GroupCommit, type PendingWrite } from './groupCommit.ts'

type Write = PendingWrite<string>

const write = (name: string): Write => ({ update: new TextEncoder().encode(name), source: name, sequence: 1, receivedAt: performance.now() })

/** A group commit over an in-memory "disk" that records each batch (by source) and can be told to fail. */
const recording = (now?: () => number) => {
  const batches: string[][] = []
  const lost: string[] = []
  let failNext = false
  const commit = new GroupCommit<Write>({
    writeBatch: async (writes: readonly Write[]) => {
      if (failNext) throw new Error('disk full')
      batches.push(writes.map((entry) => entry.source!))
    },
    currentStateVector: () => new Uint8Array([0]),
    batchCommitted: () => {},
    batchFailed: (_error: unknown, writes: readonly Write[]) => lost.push(...writes.map((entry) => entry.source!)),
  }, now)
  return { commit, batches, lost, failNextWrite: () => (failNext = true) }
}

describe('group commit', () => {
  test('writes handled in one task are one batch', async () => {
    const { commit, batches } = recording()
    commit.enqueue(write('a'))
    commit.enqueue(write('b'))
    await commit.drain()
    assert.deepEqual(batches, [['a', 'b']])
  })

  test('a quiet document commits at the end of the task: before the rest of the loop turn', async () => {
    const { commit, batches } = recording()
    let committedBeforeTheTurnEnded: boolean | null = null
    setImmediate(() => (committedBeforeTheTurnEnded = batches.length > 0)) // queued before the write
    commit.enqueue(write('a'))
    await commit.drain()
    assert.equal(committedBeforeTheTurnEnded, true)
    assert.deepEqual(batches, [['a']])
  })

  test('a busy document gathers the writes of every task of the loop turn into one batch', async () => {
    // A clock that stands still: however slow the machine, no gap between the writes looks quiet.
    const { commit, batches } = recording(() => 1000)
    commit.enqueue(write('first'))
    await nextTurn() // first is committed; the document is busy now
    // Three sockets' frames handled in three tasks of the same turn.
    await new Promise<void>((resolve) => {
      setImmediate(() => commit.enqueue(write('x')))
      setImmediate(() => commit.enqueue(write('y')))
      setImmediate(() => {
        commit.enqueue(write('z'))
        resolve()
      })
    })
    await commit.drain()
    assert.deepEqual(batches, [['first'], ['x', 'y', 'z']])
  })

  test('after a failed write everything queued is reported lost and later writes are refused', async () => {
    const { commit, batches, lost, failNextWrite } = recording()
    failNextWrite()
    commit.enqueue(write('a'))
    commit.enqueue(write('b'))
    await commit.drain()
    commit.enqueue(write('c'))
    await commit.drain()
    assert.deepEqual(batches, [])
    assert.deepEqual(lost, ['a', 'b'])
  })
})
