import { getCurrentUpdateClock } from 'y-leveldb'
import type { Logger } from '../observability/logger.ts'
import type { LevelBatchDb } from './levelBatchDb.ts'
import { readLastEventSeq } from './storedEvents.ts'
import type { LogOp, LogRecord } from './writeAheadLog.ts'
import { lastEventSeqOf } from './writeRecord.ts'

/**
 * Puts into LevelDB what a previous process logged but may not have written there (it stopped
 * first). A record LevelDB already holds is skipped: its document's update clock (or event
 * sequence) is already at or past it — it may have been compacted or pruned since, and writing it
 * again would bring back what those deleted. `raw` takes the logged values as they are (sealed
 * already); `sealed` reads the event log (opening values when encrypted).
 */
export const replayLoggedWrites = async (
  records: readonly LogRecord[],
  { raw, sealed, logger }: { raw: LevelBatchDb; sealed: LevelBatchDb; logger: Logger | null },
): Promise<void> => {
  if (records.length === 0) return
  const clocks = new Map<string, number>()
  const eventSeqs = new Map<string, number>()
  const ops: LogOp[] = []
  let replayed = 0
  for (const record of records) {
    const { storageName, updateClock, firstEventSeq } = record
    if (updateClock !== null) {
      if (!clocks.has(storageName)) clocks.set(storageName, (await getCurrentUpdateClock(raw, storageName)) as number)
      if (updateClock <= clocks.get(storageName)!) continue
      clocks.set(storageName, updateClock)
    } else if (firstEventSeq !== null) {
      if (!eventSeqs.has(storageName)) eventSeqs.set(storageName, await readLastEventSeq(sealed, storageName))
      if (firstEventSeq <= eventSeqs.get(storageName)!) continue
    }
    if (firstEventSeq !== null) eventSeqs.set(storageName, Math.max(eventSeqs.get(storageName) ?? 0, lastEventSeqOf(record)))
    ops.push(...record.ops)
    replayed++
  }
  if (ops.length > 0) await raw.batch(ops)
  logger?.info({ records: records.length, replayed }, 'write-ahead log replayed')
}
