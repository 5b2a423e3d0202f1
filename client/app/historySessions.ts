/** The parts of a timeline event grouping looks at. */
export interface SessionEvent {
  readonly seq: number
  readonly at: number
  readonly userId: string
  readonly userName?: string
}

export interface EditingSession<E extends SessionEvent> {
  readonly userId: string
  readonly userName?: string
  /** Its oldest and newest event's time. */
  readonly from: number
  readonly to: number
  /** Newest first, as the timeline lists them. */
  readonly events: readonly E[]
}

/** A pause longer than this between one person's changes starts a new session. */
export const SESSION_GAP_MS = 5 * 60_000

/**
 * A timeline (newest first) as readable sessions: one person's consecutive changes with pauses
 * shorter than SESSION_GAP_MS between them. Another person's change in between, or a longer pause,
 * starts a new session. One pass, no recursion.
 */
export const editingSessions = <E extends SessionEvent>(events: readonly E[], gapMs = SESSION_GAP_MS): Array<EditingSession<E>> => {
  const sessions: Array<{ userId: string; userName?: string; from: number; to: number; events: E[] }> = []
  for (const event of events) {
    const current = sessions.at(-1)
    if (current && current.userId === event.userId && current.from - event.at < gapMs) {
      current.events.push(event)
      current.from = event.at
      current.userName ??= event.userName
    } else {
      sessions.push({ userId: event.userId, ...(event.userName ? { userName: event.userName } : {}), from: event.at, to: event.at, events: [event] })
    }
  }
  return sessions
}
