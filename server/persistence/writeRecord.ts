import * as Y from 'yjs'
import { encodeEvent, eventKey, EVENTS_NAMESPACE, type EventRecord } from './eventLog.ts'
import type { ReviewItem } from '../reviews/reviewItem.ts'
import { reviewOps } from '../reviews/reviewStorage.ts'
import { conflictKey } from '../gate/conflicts.ts'
import { parseConflictId, type ConflictRecord } from '../../shared/conflictRecord.ts'
import { encodeOwner, ownerKey, type OwnerClaim } from '../gate/clientOwnership.ts'
import type { LogOp, LogRecord } from './writeAheadLog.ts'
import { stateVectorEntry, updateKey } from './storageKeys.ts'

/** One atomic write of a document, as the store's `appendBatch` takes it. */
export interface StoredBatch {
  readonly update: Uint8Array | null
  readonly stateVector?: Uint8Array
  readonly events?: readonly EventRecord[]
  readonly reviews?: readonly ReviewItem[]
  readonly conflicts?: readonly ConflictRecord[]
  readonly owners?: readonly OwnerClaim[]
}

/**
 * The LevelDB operations of a write (what the write-ahead log records and LevelDB then receives),
 * with the update at the document's next clock: `clock` is the document's highest update clock
 * (-1: none yet), needed only when the batch holds an update.
 */
export const writeRecordOf = (
  storageName: string,
  clock: number | undefined,
  { update, stateVector, events = [], reviews = [], conflicts = [], owners = [] }: StoredBatch,
): LogRecord => {
  const ops: LogOp[] = []
  let updateClock: number | null = null
  if (update) {
    updateClock = clock! + 1
    if (stateVector) {
      ops.push(stateVectorEntry(storageName, updateClock, stateVector))
    } else if (clock === -1) {
      // y-leveldb keeps a state vector entry per document; its document listing relies on it.
      // Read from the update itself: no Y.Doc needed.
      ops.push(stateVectorEntry(storageName, 0, Y.encodeStateVectorFromUpdate(update)))
    }
    // A view, not a copy: the log and LevelDB copy the bytes.
    ops.push({ type: 'put', key: updateKey(storageName, updateClock), value: Buffer.from(update.buffer, update.byteOffset, update.byteLength) })
  }
  for (const event of events) ops.push({ type: 'put', key: eventKey(storageName, event.seq), value: encodeEvent(event) })
  for (const review of reviews) ops.push(...reviewOps(review))
  conflicts.forEach((conflict, position) => {
    const key = conflictKey(storageName, conflict.eventSeq, parseConflictId(conflict.id)?.index ?? position)
    ops.push({ type: 'put', key, value: Buffer.from(JSON.stringify(conflict)) })
  })
  for (const owner of owners) ops.push({ type: 'put', key: ownerKey(storageName, owner.client), value: encodeOwner(owner) })
  return { storageName, updateClock, firstEventSeq: events[0]?.seq ?? null, ops }
}

/** The bytes a logged write holds in memory until LevelDB has it (keys are small; values count). */
export const opBytes = (ops: readonly LogOp[]): number => {
  let bytes = 0
  for (const op of ops) if (op.type === 'put') bytes += op.value.byteLength
  return bytes
}

/** The highest event sequence number a logged write stores (its events are in order). */
export const lastEventSeqOf = (record: LogRecord): number => {
  let seq = 0
  for (const op of record.ops) if (op.type === 'put' && op.key[0] === EVENTS_NAMESPACE) seq = Math.max(seq, Number(op.key[2]))
  return seq
}
