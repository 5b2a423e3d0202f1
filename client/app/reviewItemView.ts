import { isDocumentType } from '../../shared/documentName.ts'
import type { ReviewedChange, ReviewView } from '../../server/reviews/reviewView.ts'
import { h } from './dom.ts'
import { fieldLabel } from './fieldLabels.ts'
import { richTextDiffView, richTextView, timeView, valueText } from './valueText.ts'

export const RULE_NAMES: Record<string, string> = { 'financial-review': 'Financial review', 'legal-review': 'Legal review' }

/** What a person calls the field at `path` of the item's document. */
export const changeLabel = (item: Pick<ReviewView, 'document'>, path: string): string =>
  (isDocumentType(item.document.type) ? fieldLabel(item.document.type, path) : null) ?? path

/** The document's name as people read it: its title, else its type and id. */
export const documentLabel = (item: Pick<ReviewView, 'document'>): string => item.document.title || `${item.document.type} ${item.document.id}`

/** Who: a display name when the server knows it. */
export const personName = (person: { userId: string; name?: string; userName?: string }): string => person.name ?? person.userName ?? person.userId

const STATUS_TEXT: Record<string, string> = { pending: 'Waiting for review', approved: 'Approved', rejected: 'Rejected', stale: 'Not applied: the field changed before the decision' }

/** Current beside proposed for one held field: a two-column table, or for rich text a formatted diff and both texts. */
type Heading = 'h2' | 'h3' | 'h4' | 'h5'
const below = (level: Heading): Heading => (level === 'h2' ? 'h3' : level === 'h3' ? 'h4' : 'h5')

const changeView = (item: ReviewView, change: ReviewedChange, headingId: string, level: Heading): HTMLElement => {
  const label = changeLabel(item, change.path)
  if (change.kind === 'field') {
    return h(
      'section',
      { class: 'review-change', 'aria-labelledby': headingId },
      h(level, { id: headingId }, label),
      h(
        'table',
        { class: 'side-by-side' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Current'), h('th', { scope: 'col' }, 'Proposed'))),
        h('tbody', {}, h('tr', {}, h('td', { class: 'current-value' }, valueText(change.current)), h('td', { class: 'proposed-value' }, valueText(change.proposed)))),
      ),
    )
  }
  return h(
    'section',
    { class: 'review-change', 'aria-labelledby': headingId },
    h(level, { id: headingId }, label),
    change.diff ? h('div', { class: 'diff-block' }, h(below(level), {}, 'Changes'), richTextDiffView(change.diff)) : h('p', { class: 'hint' }, 'The proposed text could not be kept; decide it from the document.'),
    h(
      'div',
      { class: 'side-by-side-text' },
      h('div', { class: 'current-value' }, h(below(level), {}, 'Current'), richTextView(change.current)),
      h('div', { class: 'proposed-value' }, h(below(level), {}, 'Proposed'), change.proposed ? richTextView(change.proposed) : h('p', {}, '(not kept)')),
    ),
  )
}

/**
 * One review item as a card: the document (title, link), who proposed it and when, each field's
 * current and proposed value side by side, why it would be stale, and `actions` (the inbox's
 * Approve/Reject, or nothing).
 */
export const reviewItemView = (item: ReviewView, actions: HTMLElement | null, level: 'h2' | 'h3' = 'h2'): HTMLElement => {
  const titleId = `review-${item.id}-title`
  const changedSince = item.changedSince
  return h(
    'article',
    { class: 'review-item', 'data-review': item.id, 'data-status': item.status, 'aria-labelledby': titleId },
    h(level, { id: titleId }, h('a', { href: `#/doc/${item.document.name}` }, documentLabel(item))),
    h(
      'p',
      { class: 'review-meta' },
      `Proposed by ${personName(item.proposer)} · `,
      timeView(item.proposedAt),
      ` · ${RULE_NAMES[item.ruleId] ?? item.ruleId}`,
    ),
    ...item.changes.map((change, index) => changeView(item, change, `review-${item.id}-change-${index}`, below(level))),
    changedSince
      ? h(
          'p',
          { class: 'review-stale', role: 'note' },
          `Changed since by ${personName(changedSince)} (`,
          timeView(changedSince.at),
          item.status === 'pending' ? '): approving will find this change stale.' : ').',
        )
      : null,
    item.status !== 'pending'
      ? h('p', { class: `review-status status-${item.status}` }, STATUS_TEXT[item.status] ?? item.status, item.decidedBy && item.status !== 'stale' ? ` by ${item.decidedBy}` : '', item.reason ? `: ${item.reason}` : '')
      : null,
    actions,
  )
}
