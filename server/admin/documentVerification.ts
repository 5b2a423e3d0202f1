import * as Y from 'yjs'
import { MAP_SCHEMAS } from '../../shared/schemas.ts'
import { sharedToJSON } from '../../shared/sharedTypeJson.ts'
import type { DocumentType } from '../../shared/documentName.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import { documentAsOf } from '../persistence/eventLog.ts'
import { checkUpdateStructure } from '../protocol/updateGuard.ts'
import { burntRangeIn } from '../gate/clientOwnership.ts'

export interface VerificationReport {
  readonly name: string
  readonly ok: boolean
  readonly storedUpdates: number
  readonly events: number
  readonly problems: readonly string[]
}

/**
 * Checks one stored document (the admin `verify`): every stored update passes the structural check,
 * claims no clock range nobody wrote (a GC it does not delete), and applies; the event log (base +
 * events) rebuilds exactly the stored state; every map field of
 * the current state satisfies its schema (the rules that are state invariants).
 */
export const verifyDocument = async (store: DocumentStorage, tenant: string, type: DocumentType, name: string): Promise<VerificationReport> => {
  const storageName = `${tenant}/${name}`
  const problems: string[] = []
  const { updates, base, events } = await readTogether(store, storageName)
  const stored = new Y.Doc()
  updates.forEach((update, index) => {
    const check = checkUpdateStructure(update)
    if (!check.ok) {
      problems.push(`stored update #${index} is damaged: ${check.code}: ${check.message}`)
      return
    }
    // Yjs lists every GC range in the delete set of the update that carries it; one that is not is a
    // clock range nobody wrote, and whoever owns that client id loses their edits up to its end.
    const burnt = burntRangeIn(check.dependencies)
    if (burnt !== null) problems.push(`stored update #${index} ${burnt}`)
    try {
      Y.applyUpdate(stored, update)
    } catch (error) {
      problems.push(`stored update #${index} does not apply: ${(error as Error).message}`)
    }
  })
  const last = events.at(-1)?.seq ?? base?.seq ?? 0
  if (last > 0) {
    const seqs = events.map((event) => event.seq)
    const first = base ? base.seq + 1 : 1
    if (seqs.some((seq, index) => seq !== first + index)) problems.push('the event log has gaps in its sequence numbers')
    const rebuilt = documentAsOf(base, events, last)
    if (!sameState(rebuilt, stored)) problems.push('the event log does not rebuild the stored document')
  }
  for (const [root, { kind, schema }] of Object.entries(MAP_SCHEMAS[type]) as Array<[string, { kind: string; schema: unknown }]>) {
    for (const [key, value] of Object.entries(sharedToJSON(stored.getMap(root)) as Record<string, unknown>)) {
      const fieldSchema =
        kind === 'fields' ? (schema as { shape: Record<string, { safeParse(v: unknown): { success: boolean } }> }).shape[key] : (schema as { safeParse(v: unknown): { success: boolean } })
      if (!fieldSchema) problems.push(`${root}.${key} is not a field of a ${type}`)
      else if (!fieldSchema.safeParse(value).success) problems.push(`${root}.${key} = ${JSON.stringify(value)} breaks its schema`)
    }
    // Items without a key sit in a map's list, where no field (and no rule) ever sees them.
    let unkeyed = 0
    for (let item = stored.getMap(root)._start; item !== null; item = item.right) if (!item.deleted) unkeyed++
    if (unkeyed > 0) problems.push(`${root} holds ${unkeyed} item(s) without a key: content no field shows`)
  }
  return { name, ok: problems.length === 0, storedUpdates: updates.length, events: events.length, problems }
}

/**
 * The stored updates and the event log as of one moment. They are separate reads, and a live
 * server's write can land between them (the log would then seem not to rebuild the document): read
 * the updates again after the log, and start over (a few times at most) when they changed.
 */
const readTogether = async (store: DocumentStorage, storageName: string) => {
  let updates = await store.loadUpdates(storageName)
  for (let attempt = 1; ; attempt++) {
    const [base, events] = await Promise.all([store.eventBase(storageName), store.readEvents(storageName)])
    const after = await store.loadUpdates(storageName)
    const unchanged = after.length === updates.length && after.every((update, index) => Buffer.compare(update, updates[index]!) === 0)
    if (unchanged || attempt === 3) return { updates, base, events }
    updates = after
  }
}

const sameState = (a: Y.Doc, b: Y.Doc): boolean => {
  const bytes = (doc: Y.Doc) => Buffer.from(Y.encodeStateVector(doc)).toString('base64')
  if (bytes(a) !== bytes(b)) return false
  const snapshotA = Buffer.from(Y.encodeSnapshot(Y.snapshot(a))).toString('base64')
  const snapshotB = Buffer.from(Y.encodeSnapshot(Y.snapshot(b))).toString('base64')
  return snapshotA === snapshotB
}
