import type { RecordLocation } from '../crypto/recordCodec.ts'

/**
 * Re-encryption: rewriting every record sealed with an older data key under its tenant's current
 * one, in the background, chunk by chunk, with a cursor persisted after each chunk so a stopped
 * run resumes where it was. Once a pass has gone through the whole store, the older keys of the
 * tenants it covered are retired (deleted from the keyring): no record is left under them.
 *
 * The targets (each tenant's current key id when the pass began) are part of the cursor: a record
 * is rewritten when sealed with a key below its tenant's target, so a data key rotated during
 * the pass (or between a stop and the resumption) is never retired while records use it.
 */
export interface ReencryptionCursor {
  /** The tenant the pass covers, or null: every tenant. */
  readonly tenant: string | null
  /** Per tenant, the lowest key id that needs no rewrite (its current key when the pass began). */
  readonly targets: Readonly<Record<string, number>>
  /** The last key the pass has been through, or null: from the start. */
  readonly after: RecordLocation | null
  readonly scanned: number
  readonly rewritten: number
}

/** What a store offers for key rotation and re-encryption (LevelDB and PostgreSQL, when encrypted). */
export interface KeyManagedStore {
  /** A new data key for `tenant` (null: every tenant): new records use it at once. Returns the new ids. */
  rotateDataKeys(tenant: string | null): Promise<Record<string, number>>
  /** Each tenant's current data key id (a shared store reads them from the database first). */
  currentKeyIds(): Record<string, number> | Promise<Record<string, number>>
  /** How many records the store holds (for progress): those of `tenant` where the store can tell. */
  countRecords(tenant?: string | null): Promise<number>
  /**
   * Rewrites, among at most `limit` records after `after` (in the store's order), those of the
   * pass's tenant(s) sealed with a key below their tenant's target. Safe while the store is written.
   */
  resealChunk(cursor: ReencryptionCursor, limit: number): Promise<{ last: RecordLocation | null; scanned: number; rewritten: number }>
  /** Retires every key below its tenant's target (the pass is complete). */
  retireKeysBelow(targets: Readonly<Record<string, number>>): Promise<void>
  /** The cursor a stopped pass left (a store keeping one per scope: the pass of `tenant`'s). */
  loadReencryptionCursor(tenant?: string | null): Promise<ReencryptionCursor | null>
  saveReencryptionCursor(cursor: ReencryptionCursor | null, tenant?: string | null): Promise<void>
}

export interface ReencryptionProgress {
  readonly tenant: string | null
  readonly scanned: number
  readonly total: number
  readonly rewritten: number
  readonly done: boolean
}

/** Records per chunk: small enough that a document's writes wait at most one chunk's rewrite. */
const CHUNK = 256

/**
 * Runs (or resumes) a re-encryption pass of `tenant` (null: every tenant) to its end. A cursor of
 * another scope left by a stopped run is resumed first only when it covers the same scope; else
 * a new pass starts (the old cursor's work is redone, which is harmless).
 */
export const reencrypt = async (
  store: KeyManagedStore,
  tenant: string | null,
  onProgress: (progress: ReencryptionProgress) => void = () => {},
): Promise<ReencryptionProgress> => {
  const saved = await store.loadReencryptionCursor(tenant)
  let cursor: ReencryptionCursor =
    saved && saved.tenant === tenant ? saved : { tenant, targets: targetsOf(await store.currentKeyIds(), tenant), after: null, scanned: 0, rewritten: 0 }
  const total = Math.max(await store.countRecords(tenant), cursor.scanned)
  await store.saveReencryptionCursor(cursor, tenant)
  for (;;) {
    const chunk = await store.resealChunk(cursor, CHUNK)
    if (chunk.last === null) break
    cursor = { ...cursor, after: chunk.last, scanned: cursor.scanned + chunk.scanned, rewritten: cursor.rewritten + chunk.rewritten }
    await store.saveReencryptionCursor(cursor, tenant)
    onProgress({ tenant, scanned: cursor.scanned, total: Math.max(total, cursor.scanned), rewritten: cursor.rewritten, done: false })
  }
  await store.retireKeysBelow(cursor.targets)
  await store.saveReencryptionCursor(null, tenant)
  const finished = { tenant, scanned: cursor.scanned, total: Math.max(total, cursor.scanned), rewritten: cursor.rewritten, done: true }
  onProgress(finished)
  return finished
}

const targetsOf = (current: Record<string, number>, tenant: string | null): Record<string, number> =>
  tenant === null ? { ...current } : current[tenant] === undefined ? {} : { [tenant]: current[tenant] }

/** Does a pass with these targets rewrite a record of `tenant` sealed with key `keyId`? */
export const needsRewrite = (cursor: ReencryptionCursor, tenant: string, keyId: number | null): boolean => {
  if (cursor.tenant !== null && cursor.tenant !== tenant) return false
  const target = cursor.targets[tenant]
  // An unsealed record (null) is left alone: reading it reports ERR_RECORD_NOT_AUTHENTIC.
  return target !== undefined && keyId !== null && keyId < target
}
