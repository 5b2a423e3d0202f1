import * as Y from 'yjs'
import { richTextToString } from '../../shared/richTextString.ts'

/**
 * Exact compensation for rich text: restores an XmlFragment to what it was before an update, by
 * identity, touching only what the update changed.
 *
 * Why not Y.UndoManager (the obvious tool): undoing a deletion re-creates the deleted content as
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

export const snapshotRichText = (fragment: Y.XmlFragment): RichTextSnapshot => {
  const children: NodeSnapshot[] = []
  // Children to describe, each with the list its snapshot goes into: a loop, not a recursion.
  const work: Array<{ parent: Y.XmlFragment | Y.XmlElement; into: NodeSnapshot[] }> = [{ parent: fragment, into: children }]
  while (work.length > 0) {
    const { parent, into } = work.pop()!
    for (const child of parent.toArray()) {
      if (child instanceof Y.XmlText) {
        into.push({ kind: 'text', id: typeId(child), units: textUnits(child), attributes: { ...child.getAttributes() } })
      } else if (child instanceof Y.XmlElement) {
        const element: ElementSnapshot = { kind: 'element', id: typeId(child), nodeName: child.nodeName, attributes: { ...child.getAttributes() }, children: [] }
        into.push(element)
        work.push({ parent: child, into: element.children })
      } else {
        // An XmlHook: its clone copies its entries one level deep (no recursion).
        const copy = child.clone()
        into.push({ kind: 'opaque', id: typeId(child), copy: () => copy.clone() })
      }
    }
  }
  return { fragment, children }
}

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
export const restoreRichText = (snapshot: RichTextSnapshot): boolean => {
  let changed = false
  // Parents whose children to bring back, with what they should be: a loop, not a recursion (the
  // tree is user content, as deep as a stored document may be). Siblings are independent subtrees,
  // so the order in which they are visited does not change the result.
  const work: Array<{ parent: Y.XmlFragment | Y.XmlElement; wanted: readonly NodeSnapshot[] }> = [{ parent: snapshot.fragment, wanted: snapshot.children }]
  while (work.length > 0) {
    const { parent, wanted } = work.pop()!
    changed = restoreChildren(parent, wanted, (element, node) => {
      changed = restoreAttributes(element, node.attributes) || changed
      work.push({ parent: element, wanted: node.children })
    }) || changed
  }
  return changed
}

/** Brings one parent's child list back; surviving elements are handed to `descend` (their attributes and children). */
const restoreChildren = (
  parent: Y.XmlFragment | Y.XmlElement,
  wanted: readonly NodeSnapshot[],
  descend: (element: Y.XmlElement, node: ElementSnapshot) => void,
): boolean => {
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
      else if (node.kind === 'element') descend(live as Y.XmlElement, node)
      return
    }
    insertCopy(parent, index, node)
    changed = true
  })
  return changed
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
  // Each copied element's children are inserted after it is: a loop over the subtree, not a recursion.
  const work: Array<{ parent: Y.XmlFragment | Y.XmlElement; index: number; node: NodeSnapshot }> = [{ parent, index, node }]
  while (work.length > 0) {
    const { parent: into, index: at, node: copied } = work.pop()!
    if (copied.kind === 'opaque') {
      into.insert(at, [copied.copy() as Y.XmlElement])
    } else if (copied.kind === 'text') {
      insertTextCopy(into, at, copied)
    } else {
      const element = new Y.XmlElement(copied.nodeName)
      into.insert(at, [element])
      for (const [key, value] of Object.entries(copied.attributes)) element.setAttribute(key, value as string)
      // Pushed last first, so they are inserted first to last (each at its final index).
      for (let child = copied.children.length - 1; child >= 0; child--) work.push({ parent: element, index: child, node: copied.children[child]! })
    }
  }
}

const insertTextCopy = (parent: Y.XmlFragment | Y.XmlElement, index: number, node: TextSnapshot): void => {
  const text = new Y.XmlText()
  parent.insert(index, [text])
  for (const [key, value] of Object.entries(node.attributes)) text.setAttribute(key, value as string)
  for (let start = 0; start < node.units.length; ) {
    let end = start
    while (end + 1 < node.units.length && sameRun(node.units[start]!, node.units[end + 1]!)) end++
    insertUnits(text, start, node.units.slice(start, end + 1))
    start = end + 1
  }
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
 * node this module cannot describe (an XmlHook) or nests deeper than `maxDepth` (its JSON would be
 * as deep, and JSON.stringify recurses once per level: a stored document from before the nesting
 * limit must not make its review item unstorable). Copied with a loop, not JSON round trips.
 */
export const storableRichText = (snapshot: RichTextSnapshot, maxDepth: number): NodeSnapshot[] | null => {
  const children: NodeSnapshot[] = []
  const work: Array<{ from: readonly NodeSnapshot[]; into: NodeSnapshot[]; depth: number }> = [{ from: snapshot.children, into: children, depth: 1 }]
  while (work.length > 0) {
    const { from, into, depth } = work.pop()!
    for (const node of from) {
      if (node.kind === 'opaque' || depth > maxDepth) return null
      if (node.kind === 'text') {
        into.push({ ...node, units: node.units.map((unit) => plainUnit(unit)), attributes: plainValue(node.attributes) as Attributes })
        continue
      }
      const element: ElementSnapshot = { kind: 'element', id: node.id, nodeName: node.nodeName, attributes: plainValue(node.attributes) as Attributes, children: [] }
      into.push(element)
      work.push({ from: node.children, into: element.children, depth: depth + 1 })
    }
  }
  return children
}

/** A unit as JSON stores it (an absent format is left out, as JSON.stringify leaves out undefined). */
const plainUnit = (unit: TextUnit): TextUnit =>
  unit.attributes === undefined ? { id: unit.id, insert: plainValue(unit.insert) as TextUnit['insert'] } as TextUnit : { id: unit.id, insert: plainValue(unit.insert) as TextUnit['insert'], attributes: plainValue(unit.attributes) as Attributes }

/**
 * A JSON copy of a format or embed value. These are Yjs "Any" values, whose depth the update check
 * bounds (MAX_VALUE_DEPTH), so JSON's own recursion is bounded here.
 */
const plainValue = (value: unknown): unknown => JSON.parse(JSON.stringify(value)) as unknown

/**
 * Brings `fragment` to a stored tree (from `storableRichText`): what the tree's ids still name is
 * kept, the rest is inserted or deleted. Content afterwards equals the stored tree's.
 */
export const restoreRichTextTo = (fragment: Y.XmlFragment, children: readonly NodeSnapshot[]): boolean =>
  restoreRichText({ fragment, children: [...children] })

/** What a rich-text root reads as (elements, attributes, text and its formats): for "did it change?". */
export const richTextContent = (fragment: Y.XmlFragment): string => richTextToString(fragment)
