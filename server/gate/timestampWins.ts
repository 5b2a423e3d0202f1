import * as Y from 'yjs'
import { conflictId, type ConflictRecord, type ConflictSide } from '../../shared/conflictRecord.ts'
import type { DocumentType } from '../../shared/documentName.ts'
import { EDITED_AT_ROOT, isTimedField } from '../../shared/editTimes.ts'
import type { FieldChange } from '../../shared/rules/ruleTypes.ts'
import { GATE_ORIGIN } from './compensation.ts'
import type { CurrentItems, DetectedWrites } from './conflicts.ts'

/**
 * Timestamp-wins: of two concurrent writes to a field-level field, the one made later is kept.
 * Yjs orders them by client id, so an edit made offline an hour ago could beat one made a minute
 * ago; the server decides by time instead and, when Yjs kept the other value, writes the later one
 * itself in the same step (a change by the server, stored and broadcast with the update).
 *
 * The time of a write is the client's, from `editedAt` (shared/editTimes.ts), bounded by the
 * server's clock when it arrives: min(client time, arrival time). A write without a time (a stock
 * client, the CLI) or with one in the future gets the arrival time, so a device whose clock is a
 * year ahead cannot win forever. Every accepted field write leaves its effective time in
 * `editedAt`, so the time of the current value is always known and never ahead of the server.
 * A tie keeps Yjs's choice: it is the same on every replica.
 */

export const TIMESTAMP_WINS = 'timestamp-wins'

/** A conflict decided in this update, before it has an event to be stored under. */
export type DecidedConflict = Omit<ConflictRecord, 'id' | 'eventSeq' | 'dismissed'>

export interface TimedResolution {
  /** The server's change (its own origin) keeping the later values and bounding the times, or null. */
  readonly update: Uint8Array | null
  /** The fields whose value or time the server wrote (for the event record). */
  readonly paths: string[]
  readonly conflicts: DecidedConflict[]
}

/**
 * The value the server writes when Yjs kept the earlier write is the server's own item: who it
 * stands for is remembered, so a later conflict over it names that person (kept while the
 * document is in memory; afterwards such a value counts as `unknown`).
 */
const writtenFor = new WeakMap<Y.Doc, Map<string, ConflictSide>>()

/** A client's time as the server accepts it: a finite time ≥ 0 and not after `now`; otherwise `now`. */
export const effectiveTime = (clientTime: unknown, now: number): number =>
  typeof clientTime === 'number' && Number.isFinite(clientTime) && clientTime >= 0 ? Math.min(clientTime, now) : now

export const resolveByTime = ({
  doc,
  docType,
  detected,
  before,
  changes,
  refusedPaths,
  now,
  nameOf,
  mayWrite,
}: {
  doc: Y.Doc
  docType: DocumentType
  detected: DetectedWrites
  /** The fields' items and times when the update arrived. */
  before: CurrentItems
  changes: readonly FieldChange[]
  /** Paths the gate compensated: neither conflicts nor given a time. */
  refusedPaths: ReadonlySet<string>
  now: number
  /** A user's display name, when known. */
  nameOf: (userId: string) => string | undefined
  /**
   * Would the rules let `userId` change the field from the value Yjs kept to the later one? The
   * server's write is an edit like any other: a lifecycle the two writes crossed (one moved the
   * status on, the other elsewhere) may not allow it; then Yjs's choice stands.
   */
  mayWrite: (change: FieldChange, userId: string) => boolean
}): TimedResolution => {
  const values = new Map<string, { root: string; key: string; value: unknown }>()
  const times = new Map<string, number>()
  const conflicts: DecidedConflict[] = []
  const side = (userId: string, value: unknown, editedAt?: number): ConflictSide => {
    const name = nameOf(userId)
    return { userId, ...(name === undefined ? {} : { name }), value, ...(editedAt === undefined ? {} : { editedAt }) }
  }
  const standsFor = writtenFor.get(doc)

  for (const write of detected.concurrent) {
    if (refusedPaths.has(write.path)) continue // the rule's notice tells that story
    const existingSide = write.existing.userId === 'unknown' ? standsFor?.get(write.path) : undefined
    const existingUser = existingSide?.userId ?? write.existing.userId
    if (!isTimedField(docType, write.path)) {
      // Records (team, approvals) keep Yjs's order under their own rules.
      const incoming = side(write.incoming.userId, write.incoming.value)
      const existing = side(existingUser, write.existing.value)
      conflicts.push({
        path: write.path,
        at: now,
        rule: 'last-writer-wins',
        winner: write.incomingKept ? incoming : existing,
        loser: write.incomingKept ? existing : incoming,
      })
      continue
    }
    const incomingTime = effectiveTime(detected.editTimes.get(write.path), now)
    const storedTime = before.get(`${EDITED_AT_ROOT}.${write.path}`)?.value
    // A value from before times were kept has none: any timed write is later.
    const existingTime = typeof storedTime === 'number' ? effectiveTime(storedTime, now) : 0
    const incoming = side(write.incoming.userId, write.incoming.value, incomingTime)
    const existing = side(existingUser, write.existing.value, existingTime)
    const [kept, replaced] = write.incomingKept ? [incoming, existing] : [existing, incoming]
    const later = incomingTime > existingTime ? incoming : existingTime > incomingTime ? existing : kept
    const change: FieldChange = { root: write.root, key: write.key, path: write.path, action: 'update', oldValue: kept.value, newValue: later.value }
    const rule = later === kept || mayWrite(change, later.userId) ? TIMESTAMP_WINS : 'last-writer-wins'
    const [winner, loser] = rule === TIMESTAMP_WINS ? [later, later === kept ? replaced : kept] : [kept, replaced]
    if (winner !== kept) values.set(write.path, { root: write.root, key: write.key, value: winner.value })
    times.set(write.path, winner.editedAt!)
    if (existingUser !== write.incoming.userId) conflicts.push({ path: write.path, at: now, rule, winner, loser })
  }

  // Every other accepted write of a field leaves its effective time; a time written alone is bounded too.
  for (const change of changes) {
    if (change.action === 'delete' || change.action === 'edit' || change.key === null || refusedPaths.has(change.path)) continue
    if (change.root === EDITED_AT_ROOT) {
      if (!times.has(change.key) && typeof change.newValue === 'number' && change.newValue > now) times.set(change.key, now)
    } else if (isTimedField(docType, change.path) && !detected.concurrent.some((write) => write.path === change.path)) {
      times.set(change.path, effectiveTime(detected.editTimes.get(change.path), now))
    }
  }

  const { update, timed } = writeAsServer(doc, values, times)
  if (update && values.size > 0) {
    const remembered = standsFor ?? new Map<string, ConflictSide>()
    for (const path of values.keys()) {
      const conflict = conflicts.find((candidate) => candidate.path === path)
      if (conflict) remembered.set(path, conflict.winner)
    }
    writtenFor.set(doc, remembered)
  }
  return { update, paths: [...new Set([...values.keys(), ...timed])], conflicts }
}

/** Writes the decided values and the times the document does not hold yet, as the server: the update (or null) and the paths timed. */
const writeAsServer = (
  doc: Y.Doc,
  values: ReadonlyMap<string, { root: string; key: string; value: unknown }>,
  times: ReadonlyMap<string, number>,
): { update: Uint8Array | null; timed: string[] } => {
  const timesNeeded = [...times].filter(([path, time]) => !doc.share.has(EDITED_AT_ROOT) || doc.getMap(EDITED_AT_ROOT).get(path) !== time)
  if (values.size === 0 && timesNeeded.length === 0) return { update: null, timed: [] }
  let update: Uint8Array | null = null
  const capture = (bytes: Uint8Array, origin: unknown) => {
    if (origin === GATE_ORIGIN) update = bytes
  }
  doc.on('update', capture)
  try {
    doc.transact(() => {
      for (const { root, key, value } of values.values()) doc.getMap(root).set(key, value)
      const editedAt = doc.getMap(EDITED_AT_ROOT)
      for (const [path, time] of timesNeeded) editedAt.set(path, time)
    }, GATE_ORIGIN)
  } finally {
    doc.off('update', capture)
  }
  return { update, timed: timesNeeded.map(([path]) => path) }
}

/** The conflicts of one update as stored: numbered under its event. */
export const conflictRecords = (conflicts: readonly DecidedConflict[], eventSeq: number): ConflictRecord[] =>
  conflicts.map((conflict, index) => ({ ...conflict, id: conflictId(eventSeq, index), eventSeq, dismissed: null }))

/**
 * The gate refuses a field write by compensating its path; the write's time in `editedAt` came in
 * the same update and is undone with it (silently: the field's notice says what happened).
 */
export const withTheirTimes = <V extends { readonly path: string }>(violations: readonly V[], changes: readonly FieldChange[]): V[] => {
  const written = new Set(changes.filter((change) => change.root === EDITED_AT_ROOT).map((change) => change.key))
  const extra = violations.filter((violation) => written.has(violation.path)).map((violation) => ({ ...violation, path: `${EDITED_AT_ROOT}.${violation.path}` }))
  return extra.length === 0 ? [...violations] : [...violations, ...extra.filter((violation) => !violations.some((existing) => existing.path === violation.path))]
}
