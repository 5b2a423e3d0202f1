import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import type { LevelBatchDb } from './levelBatchDb.ts'
import { stateVectorEntry, stateVectorKey, updateKey, updateRange } from './storageKeys.ts'
import { SERVER_DOC_OPTIONS } from './storedDoc.ts'
import type { LogOp } from './writeAheadLog.ts'

/**
 * A document's updates in LevelDB: reading them (with the state vector entry when current) and
 * merging them into one. Each function is one operation on the document's chain; the store keeps
 * the document's update clock around them.
 */

/**
 * The updates and (if asked) the current state vector, read together so they agree, with the
 * clock of the last update (-1: none). The state vector entry (and the update at clock 0) are read
 * first: a document with neither has no updates (every writer, y-leveldb's own too, stores the
 * entry with a document's first update, and a compaction writes it too; the update at clock 0
 * guards against a writer that did not), so a new document costs one point read instead of a range
 * scan (a LevelDB iterator costs ~3× a get: most of what loading a new document cost).
 */
export const readStoredUpdates = async (
  db: LevelBatchDb,
  storageName: string,
  withStateVector: boolean,
): Promise<{ updates: Uint8Array[]; stateVector: Uint8Array | null; lastClock: number }> => {
  // One call for two keys: point reads, not an iterator (an iterator costs ~3× a get, and
  // kilobytes that outlive the read).
  const [entry, firstUpdate] = await db.getMany([stateVectorKey(storageName), updateKey(storageName, 0)])
  const entries = entry || firstUpdate ? await db.iterator(updateRange(storageName)).all() : []
  const last = entries.at(-1)
  const lastClock = last ? Number(last[0][3]) : -1
  let stateVector: Uint8Array | null = null
  if (withStateVector && entry && last) {
    const decoder = decoding.createDecoder(entry)
    const clock = decoding.readVarUint(decoder)
    // Current only when it covers the last update (y-leveldb's definition of the entry).
    if (clock === lastClock) stateVector = decoding.readVarUint8Array(decoder)
  }
  return { updates: entries.map(([, value]) => value), stateVector, lastClock }
}

/**
 * A compaction of a document: all its stored updates merged into one (what y-leveldb's
 * flushDocument does: the merged update at the next clock and a fresh state vector entry), and the
 * merged ones deleted, as the operations of one atomic batch. `state`: the document exactly as
 * stored, so nothing is read back and rebuilt; `reservedClock`: the merged update's clock when the
 * store has reserved one (null: the one after the last stored). Resolves with the batch, the merged
 * update's size and clock, or null when there is nothing to merge.
 */
export const planCompaction = async (
  db: LevelBatchDb,
  storageName: string,
  state: { update: Uint8Array; stateVector: Uint8Array } | undefined,
  reservedClock: number | null,
): Promise<{ ops: LogOp[]; bytes: number; clock: number } | null> => {
  const keys = await db.keys(updateRange(storageName)).all()
  if (keys.length <= 1) return null
  let merged = state
  if (!merged) {
    const doc = new Y.Doc(SERVER_DOC_OPTIONS)
    try {
      const updates = await db.values({ gte: updateKey(storageName, 0), lte: keys.at(-1)! }).all()
      doc.transact(() => {
        for (const update of updates) Y.applyUpdate(doc, update)
      })
      merged = { update: Y.encodeStateAsUpdate(doc), stateVector: Y.encodeStateVector(doc) }
    } finally {
      doc.destroy()
    }
  }
  const clock = reservedClock ?? Number(keys.at(-1)![3]) + 1
  const ops: LogOp[] = [
    { type: 'put', key: updateKey(storageName, clock), value: Buffer.from(merged.update) },
    stateVectorEntry(storageName, clock, merged.stateVector),
    ...keys.map((key): LogOp => ({ type: 'del', key })),
  ]
  return { ops, bytes: merged.update.byteLength, clock }
}
