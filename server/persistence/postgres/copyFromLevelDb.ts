import * as Y from 'yjs'
import { CollabError, ErrorCode } from '../../../shared/errors.ts'
import { decodeNotification, type Notification } from '../../notifications/notification.ts'
import type { ReviewItem } from '../../reviews/reviewItem.ts'
import { buildDoc } from '../storedDoc.ts'
import type { DocumentStore } from '../documentStore.ts'
import type { PostgresStorage } from './postgresStorage.ts'

export interface CopyReport {
  readonly documents: number
  readonly events: number
  readonly reviews: number
  readonly notifications: number
}

export interface CopyProgress {
  readonly copied: number
  readonly total: number
  readonly document: string
}

/**
 * Copies everything a LevelDB data directory holds into PostgreSQL: each document (its state as
 * one update, with its state vector), its event log and retention base, conflicts and client
 * owners, in one transaction per document; then every review item and notification. Then checks
 * every document: the same state (state vector and content) and the same event log (count, last
 * sequence number, base) in both; any difference fails with ERR_COPY_MISMATCH naming it.
 *
 * A target that already holds documents is refused (ERR_TARGET_NOT_EMPTY) unless `intoNonEmpty`:
 * a copy merged into another server's documents is rarely what was meant. The source must be a
 * stopped server's directory (LevelDB's lock makes sure of it).
 */
export const copyLevelDbToPostgres = async (
  source: DocumentStore,
  target: PostgresStorage,
  { intoNonEmpty = false, onProgress = () => {} }: { intoNonEmpty?: boolean; onProgress?: (progress: CopyProgress) => void } = {},
): Promise<CopyReport> => {
  const already = await target.documentNames()
  if (already.length > 0 && !intoNonEmpty) {
    throw new CollabError(ErrorCode.TargetNotEmpty, `the target database already holds ${already.length} documents (e.g. ${already[0]}); pass --into-non-empty to copy into it anyway`)
  }
  const names = await source.documentNames()
  const reviews = (await source.readRange('reviews', { gt: ['posalpro_reviews'], lt: ['posalpro_reviews', 0xffffffff] })).map(
    ([, value]) => JSON.parse(Buffer.from(value).toString('utf8')) as ReviewItem,
  )
  const reviewsOf = new Map<string, ReviewItem[]>()
  for (const item of reviews) {
    const storageName = `${item.tenant}/${item.document}`
    reviewsOf.set(storageName, [...(reviewsOf.get(storageName) ?? []), item])
  }
  // Documents with reviews but no stored update (none is expected) are copied too: their records only.
  const all = [...new Set([...names, ...reviewsOf.keys()])].sort()
  let events = 0
  for (const [index, storageName] of all.entries()) {
    const { updates } = await source.loadStored(storageName)
    const doc = buildDoc(updates)
    try {
      const stored = await source.readEvents(storageName)
      events += stored.length
      const epoch = await target.fenced.claimNext(storageName)
      await target.fenced.importDocument(storageName, epoch, {
        update: updates.length > 0 ? Y.encodeStateAsUpdate(doc) : null,
        ...(updates.length > 0 ? { stateVector: Y.encodeStateVector(doc) } : {}),
        eventBase: await source.eventBase(storageName),
        events: stored,
        // Pending first, then decided: a decided item writes its proposer's notification, which
        // the notifications copied afterwards replace with their current (read or not) state.
        reviews: reviewsOf.get(storageName) ?? [],
        conflicts: await source.listConflicts(storageName),
        owners: await source.clientOwners(storageName),
      })
    } finally {
      doc.destroy()
    }
    onProgress({ copied: index + 1, total: all.length, document: storageName })
  }
  const notifications = (await source.readRange('notifications', { gt: ['posalpro_notifications'], lt: ['posalpro_notifications', 0xffffffff] })).map(
    ([, value]) => decodeNotification(value),
  )
  const byUser = new Map<string, Notification[]>()
  for (const notification of notifications) {
    const key = JSON.stringify([notification.tenant, notification.userId])
    byUser.set(key, [...(byUser.get(key) ?? []), notification])
  }
  for (const [key, list] of byUser) {
    const [tenant, userId] = JSON.parse(key) as [string, string]
    await target.writeNotifications(tenant, userId, { put: list, drop: [] })
  }
  for (const storageName of all) await checkCopied(source, target, storageName)
  return { documents: all.length, events, reviews: reviews.length, notifications: notifications.length }
}

/** The document and its event log read the same from both stores. */
const checkCopied = async (source: DocumentStore, target: PostgresStorage, storageName: string): Promise<void> => {
  const mismatch = (what: string) => new CollabError(ErrorCode.CopyMismatch, `${storageName}: ${what} differs after the copy`)
  const [from, to] = await Promise.all([source.loadDoc(storageName), target.loadDoc(storageName)])
  try {
    if (Buffer.compare(Y.encodeStateVector(from.doc), Y.encodeStateVector(to.doc)) !== 0) throw mismatch('the state vector')
    // Equal states encode to the same bytes (structs by client and clock, then the delete set).
    if (Buffer.compare(Y.encodeStateAsUpdate(from.doc), Y.encodeStateAsUpdate(to.doc)) !== 0) throw mismatch('the content')
  } finally {
    from.doc.destroy()
    to.doc.destroy()
  }
  const [fromEvents, toEvents, fromBase, toBase, fromLast, toLast] = await Promise.all([
    source.readEvents(storageName),
    target.readEvents(storageName),
    source.eventBase(storageName),
    target.eventBase(storageName),
    source.lastEventSeq(storageName),
    target.lastEventSeq(storageName),
  ])
  if (fromEvents.length !== toEvents.length) throw mismatch(`the event count (${fromEvents.length} → ${toEvents.length})`)
  if (fromLast !== toLast) throw mismatch('the last event sequence number')
  if ((fromBase?.seq ?? null) !== (toBase?.seq ?? null)) throw mismatch('the event log base')
}
