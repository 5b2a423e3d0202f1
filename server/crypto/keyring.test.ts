import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { ErrorCode, isCollabError } from '../../shared/errors.ts'
import { tempDir } from '../../shared/testing/tempDir.ts'
import { DocumentStore } from '../persistence/documentStore.ts'
import { Keyring } from './keyring.ts'
import { readKeyringFile } from './keyringFile.ts'
import { RecordCodec } from './recordCodec.ts'

test('a data key seals at most its budget of records: the next record rolls a new key, and every record still opens', () => {
  const master = randomBytes(32)
  const codec = new RecordCodec(Keyring.open(master, null, { messagesPerKey: 3 }))
  const sealed = Array.from({ length: 7 }, (_, index) => codec.seal(['v1', 'acme/proposal/p', 'update', index], Buffer.from(`record ${index}`)))
  assert.deepEqual(sealed.map((record) => codec.keyIdOf(record)), [1, 1, 1, 2, 2, 2, 3])
  sealed.forEach((record, index) => assert.equal(codec.open(['v1', 'acme/proposal/p', 'update', index], record).toString(), `record ${index}`))
})

test('the count resumes from its reservation after a restart, never below what was used', () => {
  const master = randomBytes(32)
  const first = Keyring.open(master, null, { messagesPerKey: 2 ** 20 })
  for (let i = 0; i < 10; i++) first.sealingKey('acme')
  const state = first.state()
  assert.ok(state.dataKeys[0]!.reserved >= 10, `reserved ${state.dataKeys[0]!.reserved}`)
  // Reopened with a budget just above the reservation: the next records roll over at once.
  const second = Keyring.open(master, state, { messagesPerKey: state.dataKeys[0]!.reserved })
  assert.equal(second.sealingKey('acme').id, 2)
})

test('another tenant opens nothing of a tenant: the same key id of another tenant is another key', () => {
  const codec = new RecordCodec(Keyring.open(randomBytes(32), null))
  const record = codec.seal(['posalpro_reviews', 'acme', 'r-1'], Buffer.from('secret'))
  codec.seal(['posalpro_reviews', 'other', 'r-1'], Buffer.from('x'))
  assert.throws(
    () => codec.open(['posalpro_reviews', 'other', 'r-1'], record),
    (error: unknown) => isCollabError(error) && error.code === ErrorCode.RecordNotAuthentic,
  )
})

test('the LevelDB store rolls a new data key at the budget and keeps the keyring on disk ahead of the records', async () => {
  const dir = await tempDir('posalpro-keyring-')
  const atRest = { masterKey: randomBytes(32), messagesPerKey: 4 }
  try {
    const store = await DocumentStore.open(dir.path, { atRest })
    for (let i = 0; i < 5; i++) await store.appendBatch('acme/proposal/p', { update: new Uint8Array([0, 0]) })
    await store.close()
    assert.ok((readKeyringFile(dir.path)?.dataKeys.length ?? 0) >= 2, 'a second data key was rolled')
    const reopened = await DocumentStore.open(dir.path, { atRest })
    assert.equal((await reopened.loadUpdates('acme/proposal/p')).length, 5)
    await reopened.close()
  } finally {
    await dir.remove()
  }
})

test('several master keys, newest first: the keyring opens with whichever opens its canary and comes back re-wrapped under the newest; none that opens it is ERR_WRONG_MASTER_KEY', () => {
  const [old, fresh] = [randomBytes(32), randomBytes(32)]
  const original = Keyring.open(old, null)
  original.sealingKey('acme')
  const stored = original.state()
  const reopened = Keyring.openWithAny([fresh, old], stored)
  assert.ok(reopened.dirty, 'the re-wrap is saved at once')
  assert.ok(Keyring.opensCanary(fresh, reopened.state()) && !Keyring.opensCanary(old, reopened.state()), 're-wrapped under the first key: the new key opens it, the old one no longer')
  assert.equal(Keyring.open(fresh, reopened.state()).dataKeyIds().get('acme')?.[0], 1)
  assert.equal(Keyring.openWithAny([old], stored).dirty, false, 'opened with the newest: nothing to save')
  assert.throws(
    () => Keyring.openWithAny([randomBytes(32), randomBytes(32)], stored),
    (error: unknown) => isCollabError(error) && error.code === ErrorCode.WrongMasterKey,
  )
})

test('two holders of one stored keyring: merging adds the other\'s reservations to its own (one budget) and its new keys; the same key id made twice does not merge', () => {
  const master = randomBytes(32)
  const base = Keyring.open(master, null, { messagesPerKey: 2 ** 30 })
  base.sealingKey('acme')
  const stored = base.state()
  const nodeA = Keyring.open(master, stored, { messagesPerKey: 2 ** 30 })
  const nodeB = Keyring.open(master, stored, { messagesPerKey: 2 ** 30 })
  nodeA.sealingKey('acme')
  nodeA.sealingKey('globex')
  nodeB.sealingKey('acme')
  const reservedBy = (keyring: Keyring) => keyring.state().dataKeys.find((key) => key.tenant === 'acme')!.reserved
  const start = stored.dataKeys[0]!.reserved
  const [blockA, blockB] = [reservedBy(nodeA) - start, reservedBy(nodeB) - start]
  const savedByA = Keyring.open(master, nodeA.state(), { messagesPerKey: 2 ** 30 })
  assert.ok(nodeB.absorb(savedByA), 'the keyring another node saved is merged in')
  assert.equal(reservedBy(nodeB), start + blockA + blockB, 'both blocks counted')
  assert.deepEqual(nodeB.dataKeyIds().get('globex'), [1], "A's new key taken in")
  // Both made globex's first key at once: different bytes under one id.
  const nodeC = Keyring.open(master, stored, { messagesPerKey: 2 ** 30 })
  nodeC.sealingKey('globex')
  assert.equal(nodeC.absorb(savedByA), false)
})
