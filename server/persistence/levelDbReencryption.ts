import { join } from 'node:path'
import { readFile, rm } from 'node:fs/promises'
import { tenantOf, type RecordLocation } from '../crypto/recordCodec.ts'
import { writeFileAtomically } from '../crypto/keyringFile.ts'
import type { LevelBatchDb } from './levelBatchDb.ts'
import type { OperationChains } from './operationChains.ts'
import { needsRewrite, type ReencryptionCursor } from './reencryption.ts'
import type { StoreSealing } from './storeSealing.ts'
import type { LogOp } from './writeAheadLog.ts'

/** A re-encryption pass's cursor (reencryption.ts), beside the keyring. */
const REENCRYPTION_CURSOR_FILE = 'reencryption-cursor.json'

/**
 * Rewrites a chunk of LevelDB records under their tenant's current key. A document's records are
 * rewritten on its own chain (after its queued writes, before later ones: a write never races
 * the rewrite). Records of no document (reviews, notifications) are rewritten after the writes
 * logged so far, each skipped when it was written meanwhile (its new value is sealed with the
 * current key already): a rewrite never puts back an older value.
 */
export const resealLevelDbChunk = async (
  { raw, sealing, chains }: { raw: LevelBatchDb; sealing: StoreSealing; chains: OperationChains },
  cursor: ReencryptionCursor,
  limit: number,
): Promise<{ last: RecordLocation | null; scanned: number; rewritten: number }> => {
  const codec = sealing.codecOrFail()
  const entries = await raw.iterator(cursor.after ? { gt: [...cursor.after], limit } : { limit }).all()
  const byOwner = new Map<string, Array<Array<string | number>>>()
  for (const [key, value] of entries) {
    if (!needsRewrite(cursor, tenantOf(key), codec.keyIdOf(value))) continue
    const owner = String(key[1] ?? '').includes('/') ? String(key[1]) : ''
    byOwner.set(owner, [...(byOwner.get(owner) ?? []), key])
  }
  let rewritten = 0
  const reseal = async (keys: Array<Array<string | number>>, touched: ReadonlySet<string> | null) => {
    const values = await raw.getMany(keys)
    const ops: LogOp[] = []
    keys.forEach((key, index) => {
      const value = values[index]
      if (!value || touched?.has(JSON.stringify(key)) || !needsRewrite(cursor, tenantOf(key), codec.keyIdOf(value))) return
      ops.push({ type: 'put', key, value: codec.seal(key, codec.open(key, value)) })
    })
    if (ops.length === 0) return
    sealing.saveKeyring()
    await raw.batch(ops)
    rewritten += ops.length
  }
  for (const [owner, keys] of byOwner) {
    if (owner !== '') await chains.runFor(owner, `re-encrypt ${owner}`, () => reseal(keys, null))
    else await sealing.whileTrackingWrites((touched) => chains.runDirect('re-encrypt', () => reseal(keys, touched)))
  }
  return { last: entries.at(-1)?.[0] ?? null, scanned: entries.length, rewritten }
}

export const loadReencryptionCursor = async (location: string): Promise<ReencryptionCursor | null> => {
  try {
    return JSON.parse(await readFile(join(location, REENCRYPTION_CURSOR_FILE), 'utf8')) as ReencryptionCursor
  } catch {
    return null
  }
}

export const saveReencryptionCursor = async (location: string, cursor: ReencryptionCursor | null): Promise<void> => {
  const path = join(location, REENCRYPTION_CURSOR_FILE)
  if (cursor === null) return rm(path, { force: true })
  writeFileAtomically(path, JSON.stringify(cursor))
}
