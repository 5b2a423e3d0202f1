import * as Y from 'yjs'
import { CollabError, ErrorCode } from '../../shared/errors.ts'

/**
 * How deep an update would nest shared types (rich-text elements inside elements, maps inside
 * maps), found before it is applied. A root's children are at depth 1.
 *
 * Why a limit: everything that walks a tree of shared types pays per level — Yjs's own toJSON,
 * toString and clone recurse once per level, and so do editors that render the tree — so a chain
 * a few thousand levels deep overflows a stack somewhere, in the server or in every client that
 * opens the document. Refusing it at the door keeps stored documents within what any walker copes with.
 *
 * How, without recursion and without applying the update: each new type item's depth is its
 * parent's depth + 1. An item names its parent only when it has no neighbours (origin / right
 * origin); otherwise its parent is its neighbour's parent. A parent or neighbour is either already
 * in the document (its depth is counted by walking up `item.parent`, at most `maxDepth + 1` steps)
 * or earlier/later in the same update (resolved with an explicit stack; the chain of references
 * inside one update is as long as the update, so it must not become a call stack).
 */
export const checkNestingDepth = (doc: Y.Doc, update: Uint8Array, maxDepth: number): CollabError | null => {
  const { structs } = Y.decodeUpdate(update)
  if (!structs.some((struct) => struct instanceof Y.Item && struct.content instanceof Y.ContentType)) return null
  const depths = new NestingDepths(doc, structs, maxDepth)
  for (const struct of structs) {
    if (!(struct instanceof Y.Item) || !(struct.content instanceof Y.ContentType) || depths.inDocument(struct.id)) continue
    const depth = depths.containerDepth(struct) + 1
    if (depth > maxDepth) {
      return new CollabError(
        ErrorCode.NestingTooDeep,
        `the update nests rich text deeper than ${maxDepth} levels, the most a document may hold`,
      )
    }
  }
  return null
}

/** The depth of the type each item of one update would live in (0: a root), memoised per item. */
class NestingDepths {
  /** The update's items per client, in clock order (as decodeUpdate lists them), for lookups by id. */
  private readonly byClient = new Map<number, Y.Item[]>()
  private readonly known = new Map<Y.Item, number>()
  private readonly documentDepths = new Map<Y.AbstractType<unknown>, number>()

  constructor(
    private readonly doc: Y.Doc,
    structs: ReadonlyArray<Y.Item | Y.GC | Y.Skip>,
    private readonly maxDepth: number,
  ) {
    for (const struct of structs) {
      if (!(struct instanceof Y.Item)) continue
      const list = this.byClient.get(struct.id.client)
      if (list) list.push(struct)
      else this.byClient.set(struct.id.client, [struct])
    }
  }

  /** Is this id already in the document (then the document's item counts, not the update's copy)? */
  inDocument(id: Y.ID): boolean {
    return id.clock < Y.getState(this.doc.store, id.client)
  }

  /** The depth of the type `item` lives in: 0 for a root's children. */
  containerDepth(item: Y.Item): number {
    const stack: Y.Item[] = [item]
    const onStack = new Set<Y.Item>([item])
    while (stack.length > 0) {
      const current = stack[stack.length - 1]!
      const step = this.step(current)
      let depth: number | undefined
      if ('depth' in step) depth = step.depth
      else if (this.known.has(step.item)) depth = this.known.get(step.item)! + step.add
      else if (onStack.has(step.item)) depth = 0 // a cycle of references: Yjs cannot integrate it either (it stays pending)
      if (depth === undefined) {
        const next = (step as { item: Y.Item }).item
        stack.push(next)
        onStack.add(next)
        continue
      }
      // Capped: beyond the limit the exact figure does not matter, and it cannot grow without bound.
      this.known.set(current, Math.min(depth, this.maxDepth + 1))
      stack.pop()
      onStack.delete(current)
    }
    return this.known.get(item)!
  }

  /** Where `item`'s container depth comes from: known now, or another item of the update (+ add). */
  private step(item: Y.Item): { depth: number } | { item: Y.Item; add: number } {
    const neighbour = item.origin ?? item.rightOrigin
    if (neighbour !== null) {
      // Same parent as the neighbour.
      if (this.inDocument(neighbour)) return { depth: this.documentContainerDepth(neighbour) }
      const inUpdate = this.updateItem(neighbour)
      return inUpdate ? { item: inUpdate, add: 0 } : { depth: 0 }
    }
    const parent: unknown = item.parent
    if (!(parent instanceof Y.ID)) return { depth: 0 } // a root, by name
    // The parent is a type item: one level below it.
    if (this.inDocument(parent)) {
      const parentItem = Y.getItem(this.doc.store, parent)
      return { depth: parentItem.content instanceof Y.ContentType ? this.documentTypeDepth(parentItem.content.type) : 0 }
    }
    const inUpdate = this.updateItem(parent)
    return inUpdate ? { item: inUpdate, add: 1 } : { depth: 0 }
  }

  /** The update's item holding `id`, if the update brings it (missing ones were refused before). */
  private updateItem(id: Y.ID): Y.Item | null {
    const list = this.byClient.get(id.client)
    if (!list) return null
    let low = 0
    let high = list.length - 1
    while (low <= high) {
      const middle = (low + high) >>> 1
      const candidate = list[middle]!
      if (id.clock < candidate.id.clock) high = middle - 1
      else if (id.clock >= candidate.id.clock + candidate.length) low = middle + 1
      else return candidate
    }
    return null
  }

  /** The depth of the type the document's item `id` lives in (0 when it was garbage-collected). */
  private documentContainerDepth(id: Y.ID): number {
    const item = Y.getItem(this.doc.store, id)
    return item instanceof Y.Item && item.parent !== null ? this.documentTypeDepth(item.parent as Y.AbstractType<unknown>) : 0
  }

  /** A document type's depth, walking up at most maxDepth + 1 levels (a stored document may be deeper). */
  private documentTypeDepth(type: Y.AbstractType<unknown>): number {
    const cached = this.documentDepths.get(type)
    if (cached !== undefined) return cached
    let depth = 0
    for (let at: Y.AbstractType<unknown> | null = type; at?._item && depth <= this.maxDepth; depth++) {
      at = at._item.parent as Y.AbstractType<unknown> | null
    }
    this.documentDepths.set(type, depth)
    return depth
  }
}
