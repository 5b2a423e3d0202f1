import type { LogOp } from '../persistence/writeAheadLog.ts'

/**
 * Lasting notifications: something a user should learn about even if they were not on the
 * document when it happened, kept per user and tenant until read (and the newest
 * MAX_NOTIFICATIONS_PER_USER at most). A new kind is one entry in NotificationKinds, with what
 * its `detail` carries, and the code that writes it in the same step as what it tells about.
 */
export interface NotificationKinds {
  /** A review item of this user's was decided (approved, rejected with a reason, or stale). */
  'review-decided': {
    readonly reviewId: string
    readonly ruleId: string
    readonly paths: readonly string[]
    readonly outcome: 'approved' | 'rejected' | 'stale'
    readonly reason?: string
    readonly decidedBy?: string
  }
  /**
   * A change of this user's was refused by a rule (and undone on every replica) — told lastingly
   * because the user may not have had the document open (a background upload of offline edits).
   */
  'change-rejected': {
    readonly ruleIds: readonly string[]
    readonly paths: readonly string[]
    readonly message: string
  }
  /** Another user's concurrent write replaced this user's value of a field. */
  'value-overwritten': {
    readonly conflictId: string
    readonly path: string
    readonly by: string
    readonly byName?: string
  }
  /** A proposal's team gained this user (with this role), by whoever changed the team. */
  'team-assigned': {
    readonly role: string
    readonly by: string
  }
}

export type NotificationKind = keyof NotificationKinds

export type Notification = {
  [K in NotificationKind]: {
    /** Sorts by time: newest last in the store, newest first in every answer. */
    readonly id: string
    readonly tenant: string
    readonly userId: string
    readonly kind: K
    readonly at: number
    readonly read: boolean
    /** `<type>/<id>` of the document it is about, if any. */
    readonly document: string | null
    readonly detail: NotificationKinds[K]
  }
}[NotificationKind]

/** Older ones are dropped: a user's list stays a page, whatever happens to their items. */
export const MAX_NOTIFICATIONS_PER_USER = 200

/**
 * An id that sorts by time in y-leveldb's key encoding, whose strings are length-prefixed: every id
 * has the same length (15-digit milliseconds, a UUID), so the order is the characters' order.
 */
export const notificationId = (at: number, unique: string): string => `${String(at).padStart(15, '0')}-${unique}`

export const notificationKey = (tenant: string, userId: string, id: string) => ['posalpro_notifications', tenant, userId, id]
/** A number element sorts after every string at the same position: the bound of one user's range. */
export const notificationRange = (tenant: string, userId: string) => ({
  gt: ['posalpro_notifications', tenant, userId],
  lt: ['posalpro_notifications', tenant, userId, 0xffffffff],
})

export const notificationOp = (notification: Notification): LogOp => ({
  type: 'put',
  key: notificationKey(notification.tenant, notification.userId, notification.id),
  value: Buffer.from(JSON.stringify(notification)),
})

export const decodeNotification = (value: Uint8Array): Notification => JSON.parse(Buffer.from(value).toString('utf8')) as Notification
