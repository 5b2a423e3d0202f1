import * as encoding from 'lib0/encoding'
import type { BatchOp } from './levelBatchDb.ts'

/**
 * The LevelDB key layout of a document's content, y-leveldb's own (so y-leveldb, and every tool
 * built on it, reads what the store writes). Event-log, review, conflict, owner and notification
 * keys are defined beside their records (eventLog.ts, reviewItem.ts, conflicts.ts, ...).
 */

/** A document's update keys are `['v1', name, 'update', clock]`, clock a uint32 counting up from 0. */
export const updateKey = (storageName: string, clock: number) => ['v1', storageName, 'update', clock]
export const stateVectorKey = (storageName: string) => ['v1_sv', storageName]
export const MAX_CLOCK = 0xffffffff
/** Every update key of a document. */
export const updateRange = (storageName: string) => ({ gte: updateKey(storageName, 0), lte: updateKey(storageName, MAX_CLOCK) })

/** y-leveldb's state vector entry: the clock of the last update it covers, then the state vector. */
export const stateVectorEntry = (storageName: string, clock: number, stateVector: Uint8Array): BatchOp => {
  const entry = encoding.createEncoder()
  encoding.writeVarUint(entry, clock)
  encoding.writeVarUint8Array(entry, stateVector)
  return { type: 'put', key: stateVectorKey(storageName), value: Buffer.from(encoding.toUint8Array(entry)) }
}
