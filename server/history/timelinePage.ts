import { EDITED_AT_ROOT } from '../../shared/editTimes.ts'
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
  /**
   * What the server wrote in the same step (the compensation of a refused or held field, the later
   * value of a conflict, the edit time a client did not send): part of this entry, not people's edits.
   */
  readonly serverChanges: ReadonlyArray<{ readonly seq: number; readonly outcome: EventRecord['outcome']; readonly ruleIds: readonly string[]; readonly paths: readonly string[] }>
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

/** At most this many of the server's own events follow one event in its step (compensation, later write, legacy fold). */
const SERVER_EVENTS_PER_STEP = 4

/** Written by the server in the step of the event before it (see versionAt's step). */
const isServerStep = (event: EventRecord, previous: TimelineEvent | undefined): boolean =>
  previous !== undefined && event.userId === 'server' && event.outcome !== 'accepted' && event.seq === (previous.serverChanges.at(-1)?.seq ?? previous.seq) + 1

/**
 * One page of a document's history, newest first: the entries before `before` (all when absent),
 * at most `limit`, each an event with the server's changes of its step, and the conflicts recorded
 * in them. A document may have 100,000 events: a page reads only its own (and at most a step's
 * worth more per entry) from the store.
 */
export const timelinePage = async (store: DocumentStorage, storageName: string, { before, limit }: { before: number | null; limit: number }): Promise<TimelinePage> => {
  const window = (limit + 1) * (SERVER_EVENTS_PER_STEP + 1)
  const [records, base] = await Promise.all([
    store.readEvents(storageName, { ...(before !== null ? { toSeq: before - 1 } : {}), limit: window, reverse: true }),
    store.eventBase(storageName),
  ])
  const entries: TimelineEvent[] = []
  for (let index = records.length - 1; index >= 0; index--) {
    const event = records[index]!
    const previous = entries.at(-1)
    if (isServerStep(event, previous)) {
      entries[entries.length - 1] = { ...previous!, serverChanges: [...previous!.serverChanges, { seq: event.seq, outcome: event.outcome, ruleIds: event.ruleIds, paths: fieldPaths(event.paths) }] }
    } else {
      entries.push(timelineEvent(event))
    }
  }
  entries.reverse()
  // A full window whose oldest entry could still be missing its owner is never the last page.
  const more = entries.length > limit || (records.length === window && entries.length > 0)
  const page = entries.slice(0, limit)
  const oldest = page.at(-1)?.seq ?? 0
  const newest = page[0]?.serverChanges.at(-1)?.seq ?? page[0]?.seq ?? 0
  const conflicts = page.length === 0 ? [] : (await store.listConflicts(storageName)).filter((conflict) => conflict.eventSeq >= oldest && conflict.eventSeq <= newest)
  return {
    events: page,
    conflicts,
    next: more ? oldest : null,
    baseSeq: base?.seq ?? null,
  }
}

/** The fields people edited: edit times (`editedAt.*`) are bookkeeping written with them. */
const fieldPaths = (paths: readonly string[]): string[] => paths.filter((path) => !path.startsWith(`${EDITED_AT_ROOT}.`))

const timelineEvent = (event: EventRecord): TimelineEvent => ({
  seq: event.seq,
  at: event.at,
  userId: event.userId,
  ...(event.userName ? { userName: event.userName } : {}),
  outcome: event.outcome,
  ruleIds: event.ruleIds,
  paths: fieldPaths(event.paths),
  ...(event.reviewId ? { reviewId: event.reviewId } : {}),
  applied: event.applied,
  serverChanges: [],
})
