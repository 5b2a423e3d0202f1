import type { ConflictRecord } from '../../shared/conflictRecord.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import type { EventRecord } from '../persistence/eventLog.ts'

/** One event of the timeline: who, when, which fields, what became of it; never its bytes. */
export interface TimelineEvent {
  readonly seq: number
  readonly at: number
  readonly userId: string
  readonly userName?: string
  readonly outcome: EventRecord['outcome']
  readonly ruleIds: readonly string[]
  readonly paths: readonly string[]
  readonly reviewId?: string
  /** A viewer's write, refused before it was applied: nothing of it is in any version. */
  readonly applied: boolean
}

export interface TimelinePage {
  readonly events: readonly TimelineEvent[]
  /** Conflicts found in this page's events (both values), oldest first. */
  readonly conflicts: readonly ConflictRecord[]
  /** The `before` of the next (older) page, or null at the start of the retained history. */
  readonly next: number | null
  /** The retention base's event number: history before it was folded away (null: nothing pruned). */
  readonly baseSeq: number | null
}

export const DEFAULT_PAGE_EVENTS = 50
export const MAX_PAGE_EVENTS = 500

/**
 * One page of a document's history, newest first: the events before `before` (all when absent),
 * at most `limit`, with the conflicts recorded in them. A document may have 100,000 events: a page
 * reads only its own from the store.
 */
export const timelinePage = async (store: DocumentStorage, storageName: string, { before, limit }: { before: number | null; limit: number }): Promise<TimelinePage> => {
  const [records, base] = await Promise.all([
    store.readEvents(storageName, { ...(before !== null ? { toSeq: before - 1 } : {}), limit: limit + 1, reverse: true }),
    store.eventBase(storageName),
  ])
  const page = records.slice(0, limit)
  const oldest = page.at(-1)?.seq ?? 0
  const newest = page[0]?.seq ?? 0
  const conflicts = page.length === 0 ? [] : (await store.listConflicts(storageName)).filter((conflict) => conflict.eventSeq >= oldest && conflict.eventSeq <= newest)
  return {
    events: page.map(timelineEvent),
    conflicts,
    next: records.length > limit ? oldest : null,
    baseSeq: base?.seq ?? null,
  }
}

const timelineEvent = (event: EventRecord): TimelineEvent => ({
  seq: event.seq,
  at: event.at,
  userId: event.userId,
  ...(event.userName ? { userName: event.userName } : {}),
  outcome: event.outcome,
  ruleIds: event.ruleIds,
  paths: event.paths,
  ...(event.reviewId ? { reviewId: event.reviewId } : {}),
  applied: event.applied,
})
