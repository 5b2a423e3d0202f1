import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as Y from 'yjs'
import { ErrorCode } from '../../shared/errors.ts'
import type { EventRecord } from '../persistence/eventLog.ts'
import { checkUpdateStructure } from '../protocol/updateGuard.ts'
import { ClientOwners, decodeOwner, encodeOwner, ownerKey, ownersFromEventLog, undeletedGcRange } from './clientOwnership.ts'

const dependencies = (update: Uint8Array) => {
  const check = checkUpdateStructure(update)
  if (!check.ok) throw new Error(check.message)
  return check.dependencies
}

const event = (seq: number, userId: string, update: Uint8Array, outcome: EventRecord['outcome'] = 'accepted', applied = true): EventRecord => ({
  seq,
  at: seq,
  userId,
  device: null,
  outcome,
  applied,
  ruleIds: [],
  paths: [],
  update,
})

/** One map field written under `client`. */
const idUpdate = (client: number): Uint8Array => {
  const doc = new Y.Doc()
  doc.clientID = client
  doc.getMap('meta').set('title', 'x')
  return Y.encodeStateAsUpdate(doc)
}

describe('client-id owners (without a server)', () => {
  test('a GC range is covered only where the delete set covers all of its part past the known clock', () => {
    const known = (clock: number) => () => clock
    // GC 7:0…9 against deletes of 7: [0, 4) and [4, 10) touch: covered.
    assert.equal(undeletedGcRange([7, 0, 10], [7, 4, 6, 7, 0, 4], known(0)), null)
    assert.deepEqual(undeletedGcRange([7, 0, 10], [7, 0, 4, 7, 5, 5], known(0)), { client: 7, from: 0, to: 10 })
    // Only the part past the known clock needs to be deleted.
    assert.equal(undeletedGcRange([7, 0, 10], [7, 6, 4], known(6)), null)
    assert.equal(undeletedGcRange([7, 0, 10], [], known(10)), null)
    // Another client's deletion does not cover it.
    assert.deepEqual(undeletedGcRange([7, 0, 2], [8, 0, 2], known(0)), { client: 7, from: 0, to: 2 })
  })

  test('first writer owns; the same user may go on; the server’s ids are nobody’s', () => {
    const doc = new Y.Doc()
    const owners = new ClientOwners()
    const writer = new Y.Doc()
    writer.clientID = 5
    writer.getMap('meta').set('title', 'a')
    const first = Y.encodeStateAsUpdate(writer)
    const result = owners.check(doc, 'bob', dependencies(first))
    assert.deepEqual(result, { claims: [{ client: 5, userId: 'bob' }] })
    owners.record([{ client: 5, userId: 'bob' }])
    Y.applyUpdate(doc, first)
    const sv = Y.encodeStateVector(writer)
    writer.getMap('meta').set('title', 'b')
    const next = Y.encodeStateAsUpdate(writer, sv)
    assert.deepEqual(owners.check(doc, 'bob', dependencies(next)), { claims: [] })
    const refused = owners.check(doc, 'mallory', dependencies(next))
    assert.ok('error' in refused && refused.error.code === ErrorCode.ForeignClientId, '\'error\' in refused && refused.error.code === ErrorCode.ForeignClientId')
    // Re-sending what the server has is no claim at all.
    assert.deepEqual(owners.check(doc, 'mallory', dependencies(first)), { claims: [] })
    doc.clientID = 9
    assert.deepEqual(owners.serverClaim(doc), [], 'nothing written under it yet')
    doc.getMap('meta').set('title', 'server')
    assert.deepEqual(owners.serverClaim(doc), [{ client: 9, userId: null }])
    assert.deepEqual(owners.serverClaim(doc), [])
    doc.clientID = 5
    assert.deepEqual(owners.serverClaim(doc), [], 'a user’s id stays theirs')
    // Announced in awareness by another user's client: not up for grabs; its own user goes on.
    const fresh = new ClientOwners()
    const connection = { identity: { userId: 'bob' } }
    fresh.announce(5, connection)
    const announced = fresh.check(new Y.Doc(), 'mallory', dependencies(first))
    assert.ok('error' in announced && announced.error.code === ErrorCode.ForeignClientId, '\'error\' in announced && announced.error.code === ErrorCode.ForeignClientId')
    assert.deepEqual(fresh.check(new Y.Doc(), 'bob', dependencies(first)), { claims: [{ client: 5, userId: 'bob' }] })
    // A connection reserves a few ids at most (a stock client shows one).
    for (let client = 100; client < 110; client++) fresh.announce(client, connection)
    const reserved = [...Array(10).keys()].filter((i) => 'error' in fresh.check(new Y.Doc(), 'mallory', dependencies(idUpdate(100 + i))))
    assert.deepEqual(reserved, [0, 1, 2])
  })

  test('rebuilt from an event log: the first applied event that brings a client’s clocks; the server’s changes are nobody’s', () => {
    const bob = new Y.Doc()
    bob.clientID = 1
    bob.getMap('meta').set('title', 'x')
    const bobFirst = Y.encodeStateAsUpdate(bob)
    const server = new Y.Doc()
    server.clientID = 2
    Y.applyUpdate(server, bobFirst)
    const sv = Y.encodeStateVector(server)
    server.getMap('meta').set('title', 'back')
    const compensation = Y.encodeStateAsUpdate(server, sv)
    const viewer = new Y.Doc()
    viewer.clientID = 3
    viewer.getMap('meta').set('title', 'never applied')
    const claims = ownersFromEventLog([
      event(1, 'bob', bobFirst),
      event(2, 'server', compensation, 'compensation'),
      event(3, 'vera', Y.encodeStateAsUpdate(viewer), 'rejected', false),
      // Bob's clocks again (a resend): the first writer stays the owner.
      event(4, 'mallory', bobFirst),
    ])
    assert.deepEqual(claims, [
      { client: 1, userId: 'bob' },
      { client: 2, userId: null },
    ])
  })

  test('owner records round-trip, client ids above 2^32 included', () => {
    for (const claim of [{ client: 0, userId: 'a' }, { client: 2 ** 32 + 5, userId: null }, { client: Number.MAX_SAFE_INTEGER, userId: 'ü' }]) {
      assert.deepEqual(decodeOwner(ownerKey('acme/proposal/p', claim.client), encodeOwner(claim)), claim)
    }
  })
})
