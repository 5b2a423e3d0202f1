import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as encoding from 'lib0/encoding'
import * as awarenessProtocol from 'y-protocols/awareness'
import type * as Y from 'yjs'
import { seededRandom } from '../testing/seededRandom.ts'
import { AWARENESS_TIMEOUT_MS, AwarenessRelay } from './awarenessRelay.ts'

/** The server's former awareness: a y-protocols Awareness with no state of its own. */
const referenceAwareness = () => {
  const host = { clientID: 0, on: () => {}, off: () => {} } as unknown as Y.Doc
  const awareness = new awarenessProtocol.Awareness(host)
  awareness.setLocalState(null)
  clearInterval((awareness as unknown as { _checkInterval: NodeJS.Timeout })._checkInterval)
  return awareness
}

const update = (entries: ReadonlyArray<readonly [client: number, clock: number, state: unknown]>): Uint8Array => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, entries.length)
  for (const [client, clock, state] of entries) {
    encoding.writeVarUint(encoder, client)
    encoding.writeVarUint(encoder, clock)
    encoding.writeVarString(encoder, JSON.stringify(state))
  }
  return encoding.toUint8Array(encoder)
}

/** What the reference broadcasts for one applied update: the clients of its `update` event, encoded. */
const referenceApply = (awareness: awarenessProtocol.Awareness, bytes: Uint8Array, origin: unknown) => {
  let changed: number[] = []
  const listener = ({ added, updated, removed }: Record<'added' | 'updated' | 'removed', number[]>) => {
    changed = [...added, ...updated, ...removed]
  }
  awareness.on('update', listener)
  awarenessProtocol.applyAwarenessUpdate(awareness, bytes, origin)
  awareness.off('update', listener)
  return changed
}

describe('awareness relay', () => {
  test('rebroadcasts exactly what y-protocols would, byte for byte, over random updates', () => {
    const random = seededRandom(7)
    const reference = referenceAwareness()
    const relay = new AwarenessRelay<string>()
    const clocks = new Map<number, number>()
    const states = [{}, { user: { name: 'A' } }, { user: { name: 'B' }, cursor: { anchor: 1, head: 3 } }, null]
    for (let step = 0; step < 2_000; step++) {
      const entries: Array<[number, number, unknown]> = []
      for (let i = 0, n = 1 + random.int(3); i < n; i++) {
        const client = 1 + random.int(6)
        // Mostly newer clocks, sometimes replays and equal clocks (the echoes stock clients send).
        const known = clocks.get(client) ?? 0
        const clock = Math.max(0, known + random.int(4) - 1)
        clocks.set(client, Math.max(known, clock))
        entries.push([client, clock, random.pick(states)])
      }
      const bytes = update(entries)
      const expected = referenceApply(reference, bytes, 'peer')
      const changed = relay.apply(bytes, 'peer')
      assert.deepEqual(changed, expected, `step ${step}`)
      if (changed.length > 0) assert.deepEqual(relay.encode(changed), awarenessProtocol.encodeAwarenessUpdate(reference, expected), `step ${step}`)
      assert.deepEqual(relay.clients().sort(), [...reference.getStates().keys()].sort())
      assert.equal(relay.size, reference.getStates().size)
    }
    reference.destroy()
  })

  test('a leaving connection removes the states it set, at their clock, and only those', () => {
    const relay = new AwarenessRelay<string>()
    relay.apply(update([[1, 3, { user: 'a' }]]), 'alice')
    relay.apply(update([[2, 1, { user: 'b' }]]), 'bob')
    // Client 1 reconnected on a new connection before its old one was noticed as gone.
    relay.apply(update([[1, 4, { user: 'a' }]]), 'alice-again')
    assert.deepEqual(relay.removeOwnedBy('alice'), [])
    assert.deepEqual(relay.removeOwnedBy('bob'), [2])
    assert.deepEqual(relay.removeOwnedBy('bob'), [])
    assert.deepEqual(relay.clients(), [1])
    // The removal carries the client's clock: a stock client accepts it (same clock, null state).
    const reference = referenceAwareness()
    awarenessProtocol.applyAwarenessUpdate(reference, update([[2, 1, { user: 'b' }]]), 'server')
    awarenessProtocol.applyAwarenessUpdate(reference, relay.encode([2]), 'server')
    assert.equal(reference.getStates().has(2), false)
    // A replay of the old state is refused; the client's next clock is accepted.
    assert.deepEqual(relay.apply(update([[2, 1, { user: 'b' }]]), 'bob'), [])
    assert.deepEqual(relay.apply(update([[2, 2, { user: 'b' }]]), 'bob'), [2])
    reference.destroy()
  })

  test('states not renewed within the timeout expire; removed clients are forgotten a timeout later', () => {
    const relay = new AwarenessRelay<string>()
    relay.apply(update([[1, 1, { user: 'a' }]]), 'alice', 1_000)
    relay.apply(update([[2, 1, { user: 'b' }]]), 'bob', 1_000)
    relay.apply(update([[2, 2, { user: 'b' }]]), 'bob', 16_000) // bob renews (every 15 s)
    assert.deepEqual(relay.expire(1_000 + AWARENESS_TIMEOUT_MS - 1), [])
    assert.deepEqual(relay.expire(1_000 + AWARENESS_TIMEOUT_MS), [1])
    assert.deepEqual(relay.clients(), [2])
    // The expiry is broadcast at the client's clock, so its next renewal (clock 2) is accepted everywhere.
    const reference = referenceAwareness()
    awarenessProtocol.applyAwarenessUpdate(reference, update([[1, 1, { user: 'a' }]]), 'server')
    awarenessProtocol.applyAwarenessUpdate(reference, relay.encode([1]), 'server')
    assert.equal(reference.getStates().has(1), false)
    awarenessProtocol.applyAwarenessUpdate(reference, update([[1, 2, { user: 'a' }]]), 'server')
    assert.equal(reference.getStates().has(1), true)
    reference.destroy()
    // Its leaving connection has nothing left to remove.
    assert.deepEqual(relay.removeOwnedBy('alice'), [])
    // Still refusing replays until forgotten, then forgotten entirely.
    assert.deepEqual(relay.apply(update([[1, 1, { user: 'a' }]]), 'alice', 40_000), [])
    relay.expire(16_000 + 2 * AWARENESS_TIMEOUT_MS)
    assert.equal(relay.size, 0)
    assert.deepEqual(relay.apply(update([[1, 1, { user: 'a' }]]), 'alice', 100_000), [1])
  })
})
