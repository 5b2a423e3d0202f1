import * as Y from 'yjs'
import { rootNames } from '../../shared/documentModel.ts'
import type { DocumentType } from '../../shared/documentName.ts'
import { EDITED_AT_ROOT } from '../../shared/editTimes.ts'
import type { UpdateDependencies } from '../protocol/updateGuard.ts'

/** Storage key of a conflict: by document, then the event that caused it and its index there. */
export const conflictKey = (storageName: string, eventSeq: number, index: number) => ['posalpro_conflicts', storageName, eventSeq, index]
export const conflictRange = (storageName: string) => ({
  gte: ['posalpro_conflicts', storageName, 0],
  lte: ['posalpro_conflicts', storageName, 0xffffffff, 0xffffffff],
})

/** A true concurrent overwrite of one map field: a write made without having seen the value it replaced. */
export interface ConcurrentWrite {
  readonly path: string
  readonly root: string
  readonly key: string
  /** The write of the update just applied: its user and the last value it set. */
  readonly incoming: { readonly userId: string; readonly value: unknown }
  /** The field's value when the update arrived, and who wrote it (`unknown` before owners were kept). */
  readonly existing: { readonly userId: string; readonly value: unknown }
  /** Yjs's own choice (by client id): did the incoming value become the field's value? */
  readonly incomingKept: boolean
}

/** What detectConflicts found in an update: its concurrent field writes and the edit times it carried. */
export interface DetectedWrites {
  readonly concurrent: ConcurrentWrite[]
  /** `editedAt` values the update wrote, by field path (the last one per path), whatever Yjs kept. */
  readonly editTimes: ReadonlyMap<string, unknown>
}

/** What an update that set no map key brought: nothing concurrent, no times. */
export const NO_CONCURRENT_WRITES: DetectedWrites = Object.freeze({ concurrent: [], editTimes: new Map() })

/**
 * For each map field `root.key`, the item that holds its current value, and that value (the
 * times in `editedAt` too, as `editedAt.<field path>`).
 */
export type CurrentItems = Map<string, { readonly item: Y.Item; readonly value: unknown }>

/**
 * The root-map fields (`root.key`) an update sets, read from its decoded structs before it is
 * applied. Costs O(structs of the update) plus a lookup per struct, never O(document): an item
 * that overwrites a key is encoded with its origin only (the item it was inserted after), so its
 * key is that item's — found in the document, or earlier in the same update.
 */
export const fieldsSetBy = (doc: Y.Doc, structs: ReadonlyArray<Y.Item | Y.GC | Y.Skip>): Set<string> => {
  const fields = new Set<string>()
  // This update's own field items per client, in clock order (as an update lists them), for
  // origins that point into the update itself: found by binary search, whatever their length (one
  // text item may span millions of clocks, so nothing here is per clock).
  const own = new Map<number, { starts: number[]; ends: number[]; fields: string[] }>()
  let rootNameOf: Map<unknown, string> | null = null
  const fieldOfOwn = (id: Y.ID): string | null => {
    const items = own.get(id.client)
    if (!items) return null
    let low = 0
    let high = items.starts.length - 1
    while (low <= high) {
      const middle = (low + high) >> 1
      if (items.starts[middle]! > id.clock) high = middle - 1
      else if (items.ends[middle]! <= id.clock) low = middle + 1
      else return items.fields[middle]!
    }
    return null
  }
  const fieldOf = (id: Y.ID): string | null => {
    if (id.clock >= Y.getState(doc.store, id.client)) return fieldOfOwn(id)
    const item = Y.getItem(doc.store, id)
    if (!(item instanceof Y.Item) || item.parentSub === null) return null
    const parent = item.parent as Y.AbstractType<unknown> | null
    if (!parent || parent._item !== null) return null // a nested type's entry, not a field
    rootNameOf ??= new Map([...doc.share.entries()].map(([name, type]) => [type, name]))
    const root = rootNameOf.get(parent)
    return root === undefined ? null : `${root}.${item.parentSub}`
  }
  for (const struct of structs) {
    if (!(struct instanceof Y.Item)) continue
    let field: string | null = null
    if (typeof struct.parent === 'string') field = struct.parentSub === null ? null : `${struct.parent}.${struct.parentSub}`
    else if (struct.parent === null) {
      const neighbour = struct.origin ?? struct.rightOrigin
      field = neighbour ? fieldOf(neighbour) : null
    }
    if (field === null) continue
    fields.add(field)
    let items = own.get(struct.id.client)
    if (!items) own.set(struct.id.client, (items = { starts: [], ends: [], fields: [] }))
    items.starts.push(struct.id.clock)
    items.ends.push(struct.id.clock + struct.length)
    items.fields.push(field)
  }
  return fields
}

/**
 * Can the update set a root-map field at all? Answered from the structural walk (updateGuard.ts),
 * without decoding the update: a keystroke in a text is not decoded a second time for fieldsSetBy.
 * False means fieldsSetBy would find no field. An item names its key either itself (with a root
 * parent: keyedRootItems) or through its neighbour; a neighbour in the document is looked up, one
 * in the update itself resolves through that item in turn, back to one of these two cases. Any
 * keyed neighbour counts (a nested map's key too): a true answer only means "decode and look".
 */
export const maySetFields = (doc: Y.Doc, { keyedRootItems, neighbours }: Pick<UpdateDependencies, 'keyedRootItems' | 'neighbours'>): boolean => {
  if (keyedRootItems) return true
  for (let i = 0; i < neighbours.length; i += 2) {
    const client = neighbours[i]!
    const clock = neighbours[i + 1]!
    if (clock >= Y.getState(doc.store, client)) continue // in the update itself
    const item = Y.getItem(doc.store, Y.createID(client, clock))
    if (item instanceof Y.Item && item.parentSub !== null) return true
  }
  return false
}

/**
 * The current item of each of `fields` (paths `root.key` of the doc type's map roots), and the
 * edit time kept for it, taken before an update that sets them is applied. Costs O(fields given).
 */
export const currentItems = (doc: Y.Doc, docType: DocumentType, fields: Iterable<string>): CurrentItems => {
  const items: CurrentItems = new Map()
  const maps = rootNames(docType).maps
  const note = (root: string, key: string) => {
    if (!maps.includes(root) || !doc.share.has(root)) return // a root the document does not have holds no field (and is not created)
    const map = doc.getMap(root)
    const item = map._map.get(key)
    if (item && !item.deleted) items.set(`${root}.${key}`, { item, value: map.get(key) })
  }
  for (const path of fields) {
    const dot = path.indexOf('.')
    if (dot <= 0) continue
    note(path.slice(0, dot), path.slice(dot + 1))
    note(EDITED_AT_ROOT, path)
  }
  return items
}

/**
 * Did the update just applied set a map key? Its items are in the document now (a losing map item
 * too: deleted, but still an Item with its key). Costs O(structs of the update). Only then can it
 * have overwritten a field, and only then is it worth decoding for detectConflicts.
 */
export const setsMapKeys = (doc: Y.Doc, brought: ReadonlyMap<number, { from: number; to: number }>): boolean => {
  for (const [client, { from, to }] of brought) {
    const structs = doc.store.clients.get(client)
    if (!structs) continue
    for (let index = Y.findIndexSS(structs, from); index < structs.length && structs[index]!.id.clock < to; index++) {
      const struct = structs[index]
      if (struct instanceof Y.Item && struct.parentSub !== null) return true
    }
  }
  return false
}

const lastIdOf = (item: Y.Item) => ({ client: item.id.client, clock: item.id.clock + item.length - 1 })

/**
 * Finds the fields an update overwrote without having seen their current value. A new map item's
 * `origin` is the item its writer saw as the field's current value; if that is not the item that
 * was current when the update arrived, the two writes were concurrent. Yjs keeps one of them by
 * client id; which one should be kept is decided by the caller (timestampWins.ts).
 *
 * `owners` says which user wrote a Yjs client id (items from before this server loaded the
 * document count as `unknown`); writes of one user over their own value are not conflicts.
 * Writes to `editedAt` are not conflicts of their own: they travel with their field.
 */
export const detectConflicts = (
  doc: Y.Doc,
  structs: ReadonlyArray<Y.Item | Y.GC | Y.Skip>,
  before: CurrentItems,
  writer: string,
  owners: ReadonlyMap<number, string>,
): DetectedWrites => {
  // Per field: the first item of this update (its origin is what the writer saw) and the value of
  // its last one (what the writer finally set), read from the update: a losing item is deleted and
  // garbage-collected in the doc.
  const writes = new Map<string, { first: Y.Item; lastValue: unknown }>()
  const editTimes = new Map<string, unknown>()
  let rootNameOf: Map<unknown, string> | null = null // built on the first map write only
  for (const struct of structs) {
    if (!(struct instanceof Y.Item)) continue
    const item = Y.getItem(doc.store, struct.id)
    if (!(item instanceof Y.Item) || item.parentSub === null) continue
    const parent = item.parent as Y.AbstractType<unknown> | null
    if (!parent || parent._item !== null) continue // only fields of root maps
    rootNameOf ??= new Map([...doc.share.entries()].map(([name, type]) => [type, name]))
    const root = rootNameOf.get(parent)
    if (root === undefined) continue
    // An item the writer itself overwrote (or deleted) before sending arrives without its content.
    const live = !(struct.content instanceof Y.ContentDeleted)
    const lastValue = live ? struct.content.getContent().at(-1) : undefined
    if (root === EDITED_AT_ROOT) {
      if (live) editTimes.set(item.parentSub, lastValue)
      continue
    }
    const path = `${root}.${item.parentSub}`
    const write = writes.get(path)
    if (!write) writes.set(path, { first: item, lastValue })
    else if (live) write.lastValue = lastValue
  }
  const concurrent: ConcurrentWrite[] = []
  for (const [path, { first, lastValue }] of writes) {
    const previous = before.get(path)
    if (!previous) continue // nobody had written the field when this arrived (or it was deleted)
    if (lastValue === undefined) continue // the writer removed the field again: no value of theirs was replaced
    const previousOwner = owners.get(previous.item.id.client) ?? 'unknown'
    if (previousOwner === writer) continue
    const seen = first.origin
    const last = lastIdOf(previous.item)
    if (seen && seen.client === last.client && seen.clock === last.clock) continue // it saw the current value
    const [root, key] = [path.slice(0, path.indexOf('.')), path.slice(path.indexOf('.') + 1)]
    const now = doc.getMap(root)._map.get(key)
    concurrent.push({
      path,
      root,
      key,
      incoming: { userId: writer, value: lastValue },
      existing: { userId: previousOwner, value: previous.value },
      incomingKept: now !== undefined && now.id.client === first.id.client,
    })
  }
  return { concurrent, editTimes }
}
