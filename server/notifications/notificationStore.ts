import type { DocumentStore } from '../persistence/documentStore.ts'
import type { LogOp } from '../persistence/writeAheadLog.ts'
import { decodeNotification, MAX_NOTIFICATIONS_PER_USER, notificationOp, notificationRange, type Notification } from './notification.ts'

/**
 * A user's lasting notifications, in the server's store (written by whatever they tell about, in
 * the same batch: see notification.ts). Reading trims a list to the newest
 * MAX_NOTIFICATIONS_PER_USER, so a read costs at most that many entries plus what arrived since.
 */
export class NotificationStore {
  constructor(private readonly store: DocumentStore) {}

  /** Newest first, with how many of them are unread. */
  async list(tenant: string, userId: string): Promise<{ notifications: Notification[]; unread: number }> {
    const notifications = await this.kept(tenant, userId)
    return { notifications, unread: notifications.filter((notification) => !notification.read).length }
  }

  /** Marks the given ids (or all) read; returns how many changed. Ids of nobody else's can be named: they are not in this list. */
  async markRead(tenant: string, userId: string, which: readonly string[] | 'all'): Promise<number> {
    const wanted = which === 'all' ? null : new Set(which)
    const ops: LogOp[] = []
    for (const notification of await this.kept(tenant, userId)) {
      if (notification.read || (wanted && !wanted.has(notification.id))) continue
      ops.push(notificationOp({ ...notification, read: true }))
    }
    await this.store.writeDirect(`notifications read ${tenant}/${userId}`, ops)
    return ops.length
  }

  /** Drops a user's notifications beyond the newest MAX_NOTIFICATIONS_PER_USER. */
  async trim(tenant: string, userId: string): Promise<void> {
    await this.kept(tenant, userId)
  }

  private async kept(tenant: string, userId: string): Promise<Notification[]> {
    const entries = await this.store.readRange(`notifications ${tenant}/${userId}`, { ...notificationRange(tenant, userId), reverse: true })
    const dropped = entries.slice(MAX_NOTIFICATIONS_PER_USER)
    await this.store.writeDirect(`notifications trim ${tenant}/${userId}`, dropped.map(([key]): LogOp => ({ type: 'del', key })))
    return entries.slice(0, MAX_NOTIFICATIONS_PER_USER).map(([, value]) => decodeNotification(value))
  }
}
