import * as Y from 'yjs'
import type { UpdateDependencies } from '../protocol/updateGuard.ts'

/**
 * Whether an update needs structs the document does not have and the update does not bring: a gap
 * in a client's clock, an insert anchored to (or nested in) unknown content, a deletion of unknown
 * content. Returns why, or null when everything it refers to is known.
 *
 * Checked before applying: Yjs would integrate what it can and keep the rest pending, to integrate
 * later inside someone else's transaction (unvalidated, credited to them), so such an
 * update is refused whole and its sender resyncs; refusing it before it touched the document spares
 * the room a reload from disk. (Typical cause: a stock client typing right after reconnecting, before
 * its sync step 2 carried the offline edits the typing depends on.) What the update brings and
 * refers to comes from the structural walk (checkUpdateStructure), so the update is not decoded.
 */
export const missingDependencies = (doc: Y.Doc, { brought, skips, refs, deletes }: UpdateDependencies): string | null => {
  const known = (client: number): number => Y.getState(doc.store, client)
  if (skips) return 'it skips clocks (it contains a Skip)'
  for (const [client, { from }] of brought) {
    const have = known(client)
    if (from > have) return `it continues client ${client} from clock ${from} but has only up to ${have}`
  }
  for (let i = 0; i < refs.length; i += 2) {
    const client = refs[i]!
    const clock = refs[i + 1]!
    if (clock < known(client)) continue
    const range = brought.get(client)
    if (range === undefined || clock >= range.to) return `it refers to ${client}:${clock}, which the server does not have`
  }
  for (let i = 0; i < deletes.length; i += 3) {
    const client = deletes[i]!
    const end = deletes[i + 1]! + deletes[i + 2]!
    const have = Math.max(known(client), brought.get(client)?.to ?? 0)
    if (end > have) return `it deletes ${client}:${deletes[i + 1]}…${end - 1}, which the server does not have`
  }
  return null
}
