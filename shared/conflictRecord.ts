/**
 * One concurrent overwrite of a field, as stored and as shown to the user whose value was
 * replaced: two people wrote the same field without either having seen the other's value, and
 * one value was kept. For field-level fields the later edit is kept (`timestamp-wins`); the
 * team and approvals records keep Yjs's order (`last-writer-wins`) under their own rules.
 */
export interface ConflictSide {
  readonly userId: string
  /** Display name when the server knew it (the token's `name`), else absent. */
  readonly name?: string
  readonly value: unknown
  /** Effective time of the write in ms (client time bounded by the server's arrival time); absent for last-writer-wins. */
  readonly editedAt?: number
}

export interface ConflictRecord {
  /** `<eventSeq>-<index>`: unique within its document. */
  readonly id: string
  readonly path: string
  /** The event (of the update that arrived second) this conflict was found in. */
  readonly eventSeq: number
  readonly at: number
  readonly rule: 'timestamp-wins' | 'last-writer-wins'
  readonly winner: ConflictSide
  readonly loser: ConflictSide
  /** Set once the loser dismissed it (Keep theirs, or Use mine after writing their value again). */
  readonly dismissed: { readonly at: number } | null
}

export const conflictId = (eventSeq: number, index: number): string => `${eventSeq}-${index}`

/** The parts of an id, or null when it is not one. */
export const parseConflictId = (id: string): { eventSeq: number; index: number } | null => {
  const match = /^(\d{1,10})-(\d{1,6})$/.exec(id)
  return match ? { eventSeq: Number(match[1]), index: Number(match[2]) } : null
}
