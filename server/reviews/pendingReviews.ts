import * as Y from 'yjs'
import type { ReviewItem } from './reviewItem.ts'

/**
 * The review items of one document still pending, as its room holds them: the write path merges a
 * proposer's next held edit of a field into their pending item (one item per editing session), and
 * a decision takes an item from here, both in the room's order, so an item is never merged into
 * after it was decided and never decided without its latest merge. Loaded with the room; the
 * store is the record (every change here is written in the same step).
 *
 * For a rich-text field it also keeps, per proposer and root, a replica of the document as the
 * proposer's editor reads it: their held edits applied, the compensations of them not. A rich-text
 * edit names its neighbours by id, so the text a session proposes can only be read off such a
 * replica (the room's own doc lost each held keystroke to its compensation).
 */
/**
 * Replicas a room keeps at most: each is a copy of the document, so a tenant with many proposers
 * must not multiply the room's memory. The cost of dropping one: its proposer's next held edit
 * seeds a new replica from the document as it reads then, so the merged proposal keeps that edit
 * but not the earlier held keystrokes of the session (as when the replica cannot follow an edit).
 */
const MAX_REPLICAS = 8

/** What an empty room reads (the maps are made at the first item or replica: most documents have none). */
const NO_ITEMS: ReadonlyMap<string, ReviewItem> = new Map()
const NO_REPLICAS: ReadonlyMap<string, Y.Doc> = new Map()

export class PendingReviews {
  private ownItems: Map<string, ReviewItem> | null = null
  private ownReplicas: Map<string, Y.Doc> | null = null

  private get items(): ReadonlyMap<string, ReviewItem> {
    return this.ownItems ?? NO_ITEMS
  }

  private get replicas(): ReadonlyMap<string, Y.Doc> {
    return this.ownReplicas ?? NO_REPLICAS
  }

  /** `changed` hears of every item held, merged or decided (to tell the peers that may see it). */
  constructor(private readonly changed: (item: ReviewItem) => void) {}

  /** The pending items as stored (the room's load). */
  load(items: readonly ReviewItem[]): void {
    for (const item of items) if (item.status === 'pending') (this.ownItems ??= new Map()).set(item.id, item)
  }

  get(id: string): ReviewItem | undefined {
    return this.items.get(id)
  }

  all(): ReviewItem[] {
    return [...this.items.values()]
  }

  /** The newest pending item of `userId` that holds a change of `path`, if any. */
  of(userId: string, path: string): ReviewItem | undefined {
    let found: ReviewItem | undefined
    for (const item of this.items.values()) {
      if (item.proposer.userId !== userId || !item.changes.some((change) => change.path === path)) continue
      if (!found || item.proposedAt > found.proposedAt) found = item
    }
    return found
  }

  /** An item was held, merged or decided (written in the same step by the caller). */
  record(item: ReviewItem): void {
    if (item.status === 'pending') (this.ownItems ??= new Map()).set(item.id, item)
    else {
      this.ownItems?.delete(item.id)
      for (const change of item.changes) {
        if (change.key === null && !this.of(item.proposer.userId, change.path)) this.dropReplica(item.proposer.userId, change.root)
      }
    }
    this.changed(item)
  }

  /** The proposer's replicas, by root (see the class comment). */
  replicasOf(userId: string): Array<{ root: string; doc: Y.Doc }> {
    const prefix = `${userId}\u0000`
    const found: Array<{ root: string; doc: Y.Doc }> = []
    for (const [key, doc] of this.replicas) if (key.startsWith(prefix)) found.push({ root: key.slice(prefix.length), doc })
    return found
  }

  replica(userId: string, root: string): Y.Doc | undefined {
    return this.replicas.get(replicaKey(userId, root))
  }

  /** A replica of `doc` as it is now (before the held edit's compensation). Cost ∝ the document. */
  seedReplica(userId: string, root: string, doc: Y.Doc): Y.Doc {
    this.dropReplica(userId, root)
    // The oldest goes first (a Map iterates in insertion order).
    for (const [key, doc] of this.replicas) {
      if (this.replicas.size < MAX_REPLICAS) break
      doc.destroy()
      this.ownReplicas?.delete(key)
    }
    const replica = new Y.Doc({ gc: true })
    Y.applyUpdate(replica, Y.encodeStateAsUpdate(doc))
    ;(this.ownReplicas ??= new Map()).set(replicaKey(userId, root), replica)
    return replica
  }

  dropReplica(userId: string, root: string): void {
    const key = replicaKey(userId, root)
    this.replicas.get(key)?.destroy()
    this.ownReplicas?.delete(key)
  }

  /** The room closes: replicas are memory only (seeded again at the next held edit). */
  dispose(): void {
    for (const replica of this.replicas.values()) replica.destroy()
    this.ownReplicas = null
  }
}

const replicaKey = (userId: string, root: string): string => `${userId}\u0000${root}`
