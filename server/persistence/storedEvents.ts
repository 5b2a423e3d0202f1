import * as Y from 'yjs'
import { decodeBase, decodeEvent, documentAsOf, encodeBase, eventBaseKey, eventKey, eventRange, type EventBase, type EventRecord } from './eventLog.ts'
import { getOptional, type LevelBatchDb } from './levelBatchDb.ts'
import type { LogOp } from './writeAheadLog.ts'

/**
 * A document's event log in LevelDB: reads, its retention base, and pruning. Each function runs
 * inside one operation on the document's chain (the store's caller puts it there).
 */

/** Event-log records with `fromSeq <= seq <= toSeq`, oldest first (or newest first with reverse). */
export const readEventsIn = async (
  db: LevelBatchDb,
  storageName: string,
  { fromSeq = 1, toSeq = 0xffffffff, limit = -1, reverse = false } = {},
): Promise<EventRecord[]> => {
  const values = await db.values({ gte: eventKey(storageName, fromSeq), lte: eventKey(storageName, toSeq), limit, reverse }).all()
  return values.map((value) => decodeEvent(value))
}

/** The retention base of a document's event log, or null when nothing was pruned yet. */
export const readEventBase = async (db: LevelBatchDb, storageName: string): Promise<EventBase | null> => {
  const value = await getOptional(db, eventBaseKey(storageName))
  return value ? decodeBase(value) : null
}

/** The highest event sequence number of a document (0 when it has none). */
export const readLastEventSeq = async (db: LevelBatchDb, storageName: string): Promise<number> => {
  const [last] = await db.keys({ ...eventRange(storageName), limit: 1, reverse: true }).all()
  if (last) return Number(last[2])
  // Everything may have been pruned: numbering continues after the base.
  const base = await getOptional(db, eventBaseKey(storageName))
  return base ? decodeBase(base).seq : 0
}

/**
 * Retention: folds every event recorded before `cutoff` (ms epoch) into the base and deletes it,
 * in one atomic batch. The log still rebuilds the document; time travel reaches the base.
 * Returns how many events were pruned.
 */
export const pruneEventsIn = async (db: LevelBatchDb, storageName: string, cutoff: number): Promise<number> => {
  // Events are in time order: read from the oldest and stop at the first one still retained,
  // so a load costs O(expired events), not O(history).
  const expired: EventRecord[] = []
  const iterator = db.values(eventRange(storageName))
  try {
    for (let value = await iterator.next(); value !== undefined; value = await iterator.next()) {
      const event = decodeEvent(value)
      if (event.at >= cutoff) break
      expired.push(event)
    }
  } finally {
    await iterator.close()
  }
  if (expired.length === 0) return 0
  const base = await readEventBase(db, storageName)
  const last = expired.at(-1)!.seq
  const folded = Y.encodeStateAsUpdate(documentAsOf(base, expired, last))
  await db.batch([
    { type: 'put', key: eventBaseKey(storageName), value: Buffer.from(encodeBase({ seq: last, update: folded })) },
    ...expired.map((event): LogOp => ({ type: 'del', key: eventKey(storageName, event.seq) })),
  ])
  return expired.length
}
