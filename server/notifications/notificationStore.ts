import type { DocumentStorage } from '../persistence/documentStorage.ts'
import { MAX_NOTIFICATIONS_PER_USER, type Notification } from './notification.ts'

/**
 * A user's lasting notifications, in the server's store (written by whatever they tell about, in
 * the same batch: see notification.ts). Reading trims a list to the newest
 * MAX_NOTIFICATIONS_PER_USER, so a read costs at most that many entries plus what arrived since.
 */
export class NotificationStore {
  constructor(private readonly store: DocumentStorage) {}

  /** Newest first, with how many of them are unread. */
  async list(tenant: string, userId: string): Promise<{ notifications: Notification[]; unread: number }> {
    const notifications = await this.kept(tenant, userId)
    return { notifications, unread: notifications.filter((notification) => !notification.read).length }
  }

  /** Marks the given ids (or all) read; returns how many changed. Ids of nobody else's can be named: they are not in this list. */
  async markRead(tenant: string, userId: string, which: readonly string[] | 'all'): Promise<number> {
    const wanted = which === 'all' ? null : new Set(which)
    const read: Notification[] = []
    for (const notification of await this.kept(tenant, userId)) {
      if (notification.read || (wanted && !wanted.has(notification.id))) continue
      read.push({ ...notification, read: true })
    }
    if (read.length > 0) await this.store.writeNotifications(tenant, userId, { put: read, drop: [] })
    return read.length
  }

  /** Drops a user's notifications beyond the newest MAX_NOTIFICATIONS_PER_USER. */
  async trim(tenant: string, userId: string): Promise<void> {
    await this.kept(tenant, userId)
  }

  private async kept(tenant: string, userId: string): Promise<Notification[]> {
    const all = await this.store.notifications(tenant, userId)
    const dropped = all.slice(MAX_NOTIFICATIONS_PER_USER)
    if (dropped.length > 0) await this.store.writeNotifications(tenant, userId, { put: [], drop: dropped.map((notification) => notification.id) })
    return all.slice(0, MAX_NOTIFICATIONS_PER_USER)
  }
}
