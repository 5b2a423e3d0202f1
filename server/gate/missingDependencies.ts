import * as Y from 'yjs'

/** What `Y.decodeUpdate` returns (decoded once per update by the write path). */
export type DecodedUpdate = ReturnType<typeof Y.decodeUpdate>

/**
 * Whether an update needs structs the document does not have and the update does not bring: a gap
 * in a client's clock, an insert anchored to (or nested in) unknown content, a deletion of unknown
 * content. Returns why, or null when everything it refers to is known.
 *
 * Checked before applying: Yjs would integrate what it can and keep the rest pending, to integrate
 * later inside someone else's transaction (unvalidated, credited to them — design §11), so such an
 * update is refused whole and its sender resyncs; refusing it before it touched the document spares
 * the room a reload from disk. (Typical cause: a stock client typing right after reconnecting, before
 * its sync step 2 carried the offline edits the typing depends on.)
 */
export const missingDependencies = (doc: Y.Doc, { structs, ds }: DecodedUpdate): string | null => {
  const known = { get: (client: number): number => Y.getState(doc.store, client) }
  // What the update brings, per client: its clocks are contiguous from its first struct on.
  const brought = new Map<number, { from: number; to: number }>()
  for (const struct of structs) {
    if (struct instanceof Y.Skip) return `it skips clocks of client ${struct.id.client} at ${struct.id.clock}`
    const range = brought.get(struct.id.client)
    const end = struct.id.clock + struct.length
    if (!range) brought.set(struct.id.client, { from: struct.id.clock, to: end })
    else range.to = Math.max(range.to, end)
  }
  for (const [client, { from }] of brought) {
    const have = known.get(client) ?? 0
    if (from > have) return `it continues client ${client} from clock ${from} but has only up to ${have}`
  }
  const isKnown = (id: Y.ID): boolean => {
    if (id.clock < (known.get(id.client) ?? 0)) return true
    const range = brought.get(id.client)
    return range !== undefined && id.clock < range.to
  }
  for (const struct of structs) {
    if (!(struct instanceof Y.Item)) continue
    for (const ref of [struct.origin, struct.rightOrigin, struct.parent]) {
      if (ref instanceof Y.ID && !isKnown(ref)) return `it refers to ${ref.client}:${ref.clock}, which the server does not have`
    }
  }
  for (const [client, deletes] of ds.clients) {
    const have = Math.max(known.get(client) ?? 0, brought.get(client)?.to ?? 0)
    for (const { clock, len } of deletes) {
      if (clock + len > have) return `it deletes ${client}:${clock}…${clock + len - 1}, which the server does not have`
    }
  }
  return null
}
