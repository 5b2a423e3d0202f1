import type { RecordCodec } from '../crypto/recordCodec.ts'
import type { LevelBatchDb, RangeOptions } from './levelBatchDb.ts'
import type { LogOp } from './writeAheadLog.ts'

/**
 * Encryption at rest for the LevelDB store: the same database API, with every value sealed on
 * its way in and opened on its way out, the record's key as its associated data (recordCodec.ts).
 * Keys pass through unchanged (ranges, listing and y-leveldb's clocks read keys only).
 */
export const sealedLevelDb = (db: LevelBatchDb, codec: RecordCodec, beforeWrite: (sealed: readonly LogOp[]) => void): LevelBatchDb => ({
  async batch(ops) {
    const sealed = sealOps(codec, ops)
    beforeWrite(sealed) // the keyring saved: a key the seals added is on disk before the records that need it
    return db.batch(sealed)
  },
  iterator(options) {
    const iterator = db.iterator(options)
    return {
      all: async () => (await iterator.all()).map(([key, value]) => [key, codec.open(key, value)]),
      next: async () => {
        const entry = await iterator.next()
        return entry && [entry[0], codec.open(entry[0], entry[1])]
      },
      close: () => iterator.close(),
    }
  },
  values(options: RangeOptions) {
    // Opening a value needs its key (the associated data): read entries.
    const iterator = db.iterator(options)
    return {
      all: async () => (await iterator.all()).map(([key, value]) => codec.open(key, value)),
      next: async () => {
        const entry = await iterator.next()
        return entry && codec.open(entry[0], entry[1])
      },
      close: () => iterator.close(),
    }
  },
  keys: (options) => db.keys(options),
  getMany: async (keys) => (await db.getMany(keys)).map((value, index) => value && codec.open(keys[index]!, value)),
})

/** The operations with their values sealed (a new array; deletes as they are). */
export const sealOps = (codec: RecordCodec, ops: readonly LogOp[]): LogOp[] =>
  ops.map((op) => (op.type === 'put' ? { type: 'put', key: op.key, value: codec.seal(op.key, op.value) } : op))
