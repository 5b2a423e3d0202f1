import { randomUUID } from 'node:crypto'
import type { ConflictRecord } from '../../shared/conflictRecord.ts'
import type { Violation } from '../../shared/rules/ruleTypes.ts'
import type { Peer } from '../connection/peer.ts'
import type { Room } from '../rooms/room.ts'
import { notificationId, type Notification } from './notification.ts'
import { NotificationStore } from './notificationStore.ts'

/**
 * One lasting notification per user, document and kind of trouble (the rule, or the field
 * overwritten) at most this often: a burst of refused keystrokes or a tug of war over one field
 * is one entry in the user's panel, not hundreds (and a hostile editor cannot flood anyone's).
 */
export const NOTIFY_AT_MOST_EVERY_MS = 10 * 60_000

const lastTold = new WeakMap<Room, Map<string, number>>()

/**
 * After the write path judged an update: tells its sender lastingly that a rule refused it, and
 * each user whose value a concurrent write replaced. Written beside the batch, not in it: a
 * notification lost to a failed write loses no document data, and the room's batch stays the
 * document's own. Failures are logged; nothing waits for them.
 */
export const notifyChangeOutcomes = (room: Room, peer: Peer, violations: readonly Violation[], conflicts: readonly ConflictRecord[], now = Date.now()): void => {
  // Every update passes here: one that nothing refused and nobody lost to costs nothing more.
  if (conflicts.length === 0 && !violations.some((violation) => violation.outcome === 'reject')) return
  const tenant = peer.identity.tenant
  const document = room.document.name
  const notifications: Notification[] = []
  const told = lastTold.get(room) ?? new Map<string, number>()
  lastTold.set(room, told)
  const due = (key: string): boolean => {
    const last = told.get(key)
    if (last !== undefined && now - last < NOTIFY_AT_MOST_EVERY_MS) return false
    told.set(key, now)
    return true
  }
  const rejected = violations.filter((violation) => violation.outcome === 'reject')
  const rules = [...new Set(rejected.map((violation) => violation.ruleId))]
  if (rejected.length > 0 && due(`rejected:${peer.identity.userId}:${rules.join(',')}`)) {
    notifications.push({
      id: notificationId(now, randomUUID()),
      tenant,
      userId: peer.identity.userId,
      kind: 'change-rejected',
      at: now,
      read: false,
      document,
      detail: { ruleIds: rules, paths: [...new Set(rejected.map((violation) => violation.path))], message: rejected[0]!.message },
    })
  }
  for (const conflict of conflicts) {
    if (conflict.loser.userId === conflict.winner.userId || !due(`overwritten:${conflict.loser.userId}:${conflict.path}`)) continue
    notifications.push({
      id: notificationId(now, randomUUID()),
      tenant,
      userId: conflict.loser.userId,
      kind: 'value-overwritten',
      at: now,
      read: false,
      document,
      detail: { conflictId: conflict.id, path: conflict.path, by: conflict.winner.userId, ...(conflict.winner.name ? { byName: conflict.winner.name } : {}) },
    })
  }
  if (told.size > 1_000) told.clear() // a bound, not a policy: the map only remembers recent keys
  for (const notification of notifications) void store(room, notification)
}

const store = async (room: Room, notification: Notification): Promise<void> => {
  try {
    await room.store.writeNotifications(notification.tenant, notification.userId, { put: [notification], drop: [] })
    await new NotificationStore(room.store).trim(notification.tenant, notification.userId)
  } catch (error) {
    room.logger.warn({ user: notification.userId, kind: notification.kind, error: (error as Error).message }, 'a lasting notification could not be stored')
  }
}
