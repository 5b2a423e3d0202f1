import { encodePendingReviews, type PendingReview } from '../../shared/extensionProtocol.ts'
import type { Identity } from '../auth/index.ts'
import type { NodeSnapshot } from '../gate/richTextRestore.ts'
import type { Peer } from '../connection/peer.ts'
import type { PendingReviews } from './pendingReviews.ts'
import { mayDecide } from './reviewDeciders.ts'
import type { ReviewItem } from './reviewItem.ts'

/**
 * Who sees a held value on the field: its proposer, and whoever may decide it (reviewDeciders.ts:
 * a manager a held figure, a legal reviewer held legal text, an admin everything). Nobody else.
 */
const maySee = (identity: Identity, item: ReviewItem): boolean => item.proposer.userId === identity.userId || mayDecide(identity, item)

/** One entry per held field of each pending item `identity` may see, oldest first. */
export const pendingReviewsFor = (reviews: PendingReviews, identity: Identity): PendingReview[] =>
  reviews
    .all()
    .filter((item) => maySee(identity, item))
    .sort((a, b) => a.proposedAt - b.proposedAt)
    .flatMap((item) =>
      item.changes.map((change) => ({
        id: item.id,
        path: change.path,
        proposer: { userId: item.proposer.userId, ...(item.proposer.name ? { name: item.proposer.name } : {}) },
        proposedAt: item.proposedAt,
        updatedAt: item.updatedAt ?? item.proposedAt,
        rule: item.ruleId,
        kind: change.key === null ? ('text' as const) : ('field' as const),
        proposed: change.key === null ? plainText(change.proposedValue as NodeSnapshot[] | null) : change.proposedValue,
      })),
    )

/** On connect: the list, when this connection's user may see any pending item (nobody else is sent one). */
export const greetWithPendingReviews = (reviews: PendingReviews, peer: Peer): void => {
  const list = pendingReviewsFor(reviews, peer.identity)
  if (list.length > 0) peer.sendExtension(encodePendingReviews(list))
}

/** An item was held, merged or decided: everyone who may see it gets their whole list again (empty too). */
export const tellPendingReviewsChanged = (reviews: PendingReviews, peers: Iterable<Peer>, item: ReviewItem): void => {
  for (const peer of peers) {
    if (maySee(peer.identity, item)) peer.sendExtension(encodePendingReviews(pendingReviewsFor(reviews, peer.identity)))
  }
}

/**
 * A stored rich-text tree as plain text: its text nodes' characters, a line break after each
 * element that holds text directly (a paragraph, a heading). With a stack: the tree may be deep.
 */
export const plainText = (children: readonly NodeSnapshot[] | null): string => {
  if (children === null) return ''
  const lines: string[] = []
  let line = ''
  const work: Array<NodeSnapshot | 'end-of-block'> = [...children].reverse()
  while (work.length > 0) {
    const node = work.pop()!
    if (node === 'end-of-block') {
      if (line !== '') lines.push(line)
      line = ''
    } else if (node.kind === 'text') {
      for (const unit of node.units) if (typeof unit.insert === 'string') line += unit.insert
    } else if (node.kind === 'element') {
      work.push('end-of-block')
      for (let i = node.children.length - 1; i >= 0; i--) work.push(node.children[i]!)
    }
  }
  if (line !== '') lines.push(line)
  return lines.join('\n')
}
