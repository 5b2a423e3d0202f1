import type { ConflictRecord } from '../../shared/conflictRecord.ts'

/**
 * How many of one user's open conflicts on a document are sent to them, the newest: the app shows
 * a panel on the field of each. A user who dismisses some is sent the next ones (the list is sent
 * again whenever it changes); the document's history shows them all.
 */
export const MAX_OPEN_CONFLICTS_SENT = 100

/**
 * A room's open conflicts (rule `timestamp-wins`, not dismissed) by the user whose value was
 * replaced, read from the store once and kept until a conflict is written (`changed`). Every
 * extension client that joins is sent its user's list: without this each join read and parsed
 * every conflict the document ever had, and sent the user all of theirs in one message.
 */
export class OpenConflicts {
  /** The read, shared by everyone asking until the next change (null: read again when asked). */
  private byUser: Promise<Map<string, ConflictRecord[]>> | null = null

  constructor(private readonly readAll: () => Promise<ConflictRecord[]>) {}

  /** `userId`'s open conflicts, oldest first, at most MAX_OPEN_CONFLICTS_SENT (the newest). */
  async of(userId: string): Promise<ConflictRecord[]> {
    const read = (this.byUser ??= this.read())
    try {
      return (await read).get(userId) ?? []
    } catch (error) {
      if (this.byUser === read) this.byUser = null // a failed read is not kept: the next join reads again
      throw error
    }
  }

  /**
   * A conflict was stored (found, or dismissed): the next `of` reads the store again. A read
   * already running may miss the write; it is dropped here, so nobody is handed it after this call.
   */
  changed(): void {
    this.byUser = null
  }

  private async read(): Promise<Map<string, ConflictRecord[]>> {
    const byUser = new Map<string, ConflictRecord[]>()
    // The store lists a document's conflicts in the order they were found: the newest last.
    for (const conflict of await this.readAll()) {
      if (conflict.rule !== 'timestamp-wins' || conflict.dismissed !== null) continue
      const list = byUser.get(conflict.loser.userId)
      if (list) list.push(conflict)
      else byUser.set(conflict.loser.userId, [conflict])
    }
    for (const [userId, list] of byUser) if (list.length > MAX_OPEN_CONFLICTS_SENT) byUser.set(userId, list.slice(-MAX_OPEN_CONFLICTS_SENT))
    return byUser
  }
}
