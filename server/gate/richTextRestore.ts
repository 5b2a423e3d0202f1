import * as Y from 'yjs'

/**
 * Exact compensation for rich text: restores an XmlFragment to what it was before an update, by
 * identity, touching only what the update changed.
 *
 * Why not Y.UndoManager (design §11's hint): undoing a deletion re-creates the deleted content as
 * copies, and undoing a later deletion over such copies, with someone's concurrent insert between
 * the originals, can lose a character (a known class of UndoManager bugs; our repro is in
 * convergence.test.ts). Compensation must be exact — it is what every replica converges to.
 *
 * How: before the update is applied, `snapshotRichText` records the fragment's tree — each node with
 * its Yjs item id, each character of each text with the id of the item it lives in and its format.
 * After the update, `restoreRichText` walks the snapshot against the live tree:
 *  - children and characters the snapshot does not know were inserted by the update: deleted;
 *  - snapshot entries no longer alive were deleted by the update: re-inserted (as new items — a CRDT
 *    cannot revive a deleted item) at their place among the surviving ones, with their format;
 *  - surviving characters whose format differs are re-formatted; element attributes are reset.
 * Survivors keep their identity, so concurrent edits anchored to them still land where they were
 * meant. The result equals the snapshot's content exactly. Cost ∝ the fragment, paid only where a
 * rule may hold a rich-text edit back (legal content edited by a non-legal user).
 */

type Attributes = Record<string, unknown>

/** One character (UTF-16 code unit, as Yjs counts) or embed of a text, with the id of its item. */
interface TextUnit {
  readonly id: string
  readonly insert: string | object
  readonly attributes: Attributes | undefined
}

export type NodeSnapshot = TextSnapshot | ElementSnapshot | OpaqueSnapshot

interface TextSnapshot {
  readonly kind: 'text'
  readonly id: string
  readonly units: TextUnit[]
  readonly attributes: Attributes
}

interface ElementSnapshot {
  readonly kind: 'element'
  readonly id: string
  readonly nodeName: string
  readonly attributes: Attributes
  readonly children: NodeSnapshot[]
}

/** A node this module does not look into (an XmlHook): left alone while alive, re-inserted as a copy taken before. */
interface OpaqueSnapshot {
  readonly kind: 'opaque'
  readonly id: string
  readonly copy: () => Y.XmlElement | Y.XmlText | Y.XmlHook
}

export interface RichTextSnapshot {
  readonly fragment: Y.XmlFragment
  readonly children: NodeSnapshot[]
}

const itemId = (item: Y.Item, offset = 0): string => `${item.id.client}:${item.id.clock + offset}`
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any Yjs type: only its item is read
const typeId = (type: Y.AbstractType<any>): string => (type._item ? itemId(type._item) : 'root')

export const snapshotRichText = (fragment: Y.XmlFragment): RichTextSnapshot => ({ fragment, children: snapshotChildren(fragment) })

const snapshotChildren = (parent: Y.XmlFragment | Y.XmlElement): NodeSnapshot[] =>
  parent.toArray().map((child): NodeSnapshot => {
    if (child instanceof Y.XmlText) return { kind: 'text', id: typeId(child), units: textUnits(child), attributes: { ...child.getAttributes() } }
    if (child instanceof Y.XmlElement) {
      return { kind: 'element', id: typeId(child), nodeName: child.nodeName, attributes: { ...child.getAttributes() }, children: snapshotChildren(child) }
    }
    const copy = child.clone()
    return { kind: 'opaque', id: typeId(child), copy: () => copy.clone() }
  })

/** Each visible unit of a text with its item id (from the item list) and its format (from the delta, in the same order). */
const textUnits = (text: Y.XmlText): TextUnit[] => {
  const ids: string[] = []
  for (let item = text._start; item !== null; item = item.right) {
    if (item.deleted || !item.countable) continue
    for (let offset = 0; offset < item.length; offset++) ids.push(itemId(item, offset))
  }
  const units: TextUnit[] = []
  for (const op of text.toDelta() as Array<{ insert: string | object; attributes?: Attributes }>) {
    if (typeof op.insert === 'string') {
      for (const char of splitUnits(op.insert)) units.push({ id: ids[units.length]!, insert: char, attributes: op.attributes })
    } else {
      units.push({ id: ids[units.length]!, insert: op.insert, attributes: op.attributes })
    }
  }
  return units
}

/** UTF-16 code units, as Yjs counts positions (not code points). */
const splitUnits = (text: string): string[] => Array.from({ length: text.length }, (_, index) => text[index]!)

/**
 * Brings the fragment back to the snapshot (call it inside the compensating transaction). Returns
 * whether anything had to change.
 */
export const restoreRichText = (snapshot: RichTextSnapshot): boolean => restoreChildren(snapshot.fragment, snapshot.children)

const restoreChildren = (parent: Y.XmlFragment | Y.XmlElement, wanted: readonly NodeSnapshot[]): boolean => {
  let changed = false
  const wantedIds = new Set(wanted.map((node) => node.id))
  // Children the update inserted.
  const current = parent.toArray()
  for (let index = current.length - 1; index >= 0; index--) {
    if (!wantedIds.has(typeId(current[index]!))) {
      parent.delete(index, 1)
      changed = true
    }
  }
  // What is left is a subsequence of the snapshot (Yjs never reorders): walk both.
  const alive = new Map(parent.toArray().map((child) => [typeId(child), child]))
  wanted.forEach((node, index) => {
    const live = alive.get(node.id)
    if (live) {
      if (node.kind === 'text') changed = restoreText(live as Y.XmlText, node) || changed
      else if (node.kind === 'element') changed = restoreElement(live as Y.XmlElement, node) || changed
      return
    }
    insertCopy(parent, index, node)
    changed = true
  })
  return changed
}

const restoreElement = (element: Y.XmlElement, wanted: ElementSnapshot): boolean => {
  const attributes = restoreAttributes(element, wanted.attributes)
  const children = restoreChildren(element, wanted.children)
  return attributes || children
}

const restoreAttributes = (node: Y.XmlElement | Y.XmlText, wanted: Attributes): boolean => {
  let changed = false
  const current = node.getAttributes() as Attributes
  for (const key of Object.keys(current)) {
    if (!(key in wanted)) {
      node.removeAttribute(key)
      changed = true
    }
  }
  for (const [key, value] of Object.entries(wanted)) {
    if (!sameValue(current[key], value)) {
      node.setAttribute(key, value as string)
      changed = true
    }
  }
  return changed
}

const restoreText = (text: Y.XmlText, wanted: TextSnapshot): boolean => {
  let changed = restoreAttributes(text, wanted.attributes)
  const wantedIds = new Set(wanted.units.map((unit) => unit.id))
  // Units the update inserted, deleted back to front in runs.
  const current = textUnits(text)
  for (let end = current.length - 1; end >= 0; ) {
    if (wantedIds.has(current[end]!.id)) {
      end--
      continue
    }
    let start = end
    while (start > 0 && !wantedIds.has(current[start - 1]!.id)) start--
    text.delete(start, end - start + 1)
    changed = true
    end = start - 1
  }
  // Units the update deleted, re-inserted in runs of equal format among the survivors.
  const aliveIds = new Set(textUnits(text).map((unit) => unit.id))
  for (let index = 0; index < wanted.units.length; ) {
    if (aliveIds.has(wanted.units[index]!.id)) {
      index++
      continue
    }
    let end = index
    while (end + 1 < wanted.units.length && !aliveIds.has(wanted.units[end + 1]!.id) && sameRun(wanted.units[index]!, wanted.units[end + 1]!)) end++
    insertUnits(text, index, wanted.units.slice(index, end + 1))
    changed = true
    index = end + 1
  }
  // Formats: survivors whose format the update changed (and re-inserted runs, which are already right).
  const now = textUnits(text)
  for (let index = 0; index < wanted.units.length; ) {
    const patch = formatPatch(now[index]?.attributes, wanted.units[index]!.attributes)
    if (patch === null) {
      index++
      continue
    }
    let end = index
    while (end + 1 < wanted.units.length && samePatch(formatPatch(now[end + 1]?.attributes, wanted.units[end + 1]!.attributes), patch)) end++
    text.format(index, end - index + 1, patch)
    changed = true
    index = end + 1
  }
  return changed
}

const insertUnits = (text: Y.XmlText, index: number, units: readonly TextUnit[]): void => {
  const first = units[0]!
  // Explicit attributes (also `{}`): Yjs then negates the formats of the insertion point that the text did not have.
  const attributes = { ...(first.attributes ?? {}) }
  if (typeof first.insert === 'string') text.insert(index, units.map((unit) => unit.insert as string).join(''), attributes)
  else text.insertEmbed(index, first.insert, attributes)
}

/** Consecutive string units of the same format are inserted together; an embed is its own run. */
const sameRun = (a: TextUnit, b: TextUnit): boolean =>
  typeof a.insert === 'string' && typeof b.insert === 'string' && sameValue(a.attributes ?? {}, b.attributes ?? {})

/** The `format` argument that turns `current` into `wanted` (null values remove), or null when equal. */
const formatPatch = (current: Attributes | undefined, wanted: Attributes | undefined): Attributes | null => {
  const patch: Attributes = {}
  let any = false
  for (const key of Object.keys(current ?? {})) {
    if (!wanted || !(key in wanted)) {
      patch[key] = null
      any = true
    }
  }
  for (const [key, value] of Object.entries(wanted ?? {})) {
    if (!sameValue(current?.[key], value)) {
      patch[key] = value
      any = true
    }
  }
  return any ? patch : null
}

const samePatch = (a: Attributes | null, b: Attributes): boolean => a !== null && sameValue(a, b)

const insertCopy = (parent: Y.XmlFragment | Y.XmlElement, index: number, node: NodeSnapshot): void => {
  if (node.kind === 'opaque') {
    parent.insert(index, [node.copy() as Y.XmlElement])
    return
  }
  if (node.kind === 'text') {
    const text = new Y.XmlText()
    parent.insert(index, [text])
    for (const [key, value] of Object.entries(node.attributes)) text.setAttribute(key, value as string)
    for (let start = 0; start < node.units.length; ) {
      let end = start
      while (end + 1 < node.units.length && sameRun(node.units[start]!, node.units[end + 1]!)) end++
      insertUnits(text, start, node.units.slice(start, end + 1))
      start = end + 1
    }
    return
  }
  const element = new Y.XmlElement(node.nodeName)
  parent.insert(index, [element])
  for (const [key, value] of Object.entries(node.attributes)) element.setAttribute(key, value as string)
  node.children.forEach((child, childIndex) => insertCopy(element, childIndex, child))
}

/** Structural equality of format values (plain JSON: strings, numbers, booleans, objects). */
const sameValue = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  const keysA = Object.keys(a)
  const keysB = Object.keys(b)
  return keysA.length === keysB.length && keysA.every((key) => sameValue((a as Attributes)[key], (b as Attributes)[key]))
}

/**
 * A snapshot's tree as plain JSON (to store it, e.g. in a review item), or null when it holds a
 * node this module cannot describe (an XmlHook).
 */
export const storableRichText = (snapshot: RichTextSnapshot): NodeSnapshot[] | null =>
  describable(snapshot.children) ? (JSON.parse(JSON.stringify(snapshot.children)) as NodeSnapshot[]) : null

const describable = (nodes: readonly NodeSnapshot[]): boolean =>
  nodes.every((node) => node.kind === 'text' || (node.kind === 'element' && describable(node.children)))

/**
 * Brings `fragment` to a stored tree (from `storableRichText`): what the tree's ids still name is
 * kept, the rest is inserted or deleted. Content afterwards equals the stored tree's.
 */
export const restoreRichTextTo = (fragment: Y.XmlFragment, children: readonly NodeSnapshot[]): boolean =>
  restoreRichText({ fragment, children: [...children] })

/** What a rich-text root reads as (elements, attributes, text and its formats): for "did it change?". */
export const richTextContent = (fragment: Y.XmlFragment): string => fragment.toString()
