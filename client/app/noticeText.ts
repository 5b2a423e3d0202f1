import type { DocumentType } from '../../shared/documentName.ts'
import type { Notice } from '../../shared/extensionProtocol.ts'
import { fieldLabel, withFieldLabels } from './fieldLabels.ts'

export interface NoticeText {
  readonly text: string
  readonly kind: 'info' | 'warning' | 'error'
  /** For whoever looks closer (support, a curious user): the rule and the path as the server sent them. */
  readonly detail: string
}

/**
 * What the server said about one of this user's changes, in the words of the form: the field's
 * label, never its path or the rule's id (those are in `detail`). A notice that names no field
 * (a viewer's whole update refused) speaks of "your change".
 */
export const describeNotice = (type: DocumentType, notice: Notice): NoticeText => {
  const label = fieldLabel(type, notice.path)
  const message = withFieldLabels(type, notice.message)
  const change = label ? `Your change to ${label}` : 'Your change'
  const detail = `Rule: ${notice.ruleId}${notice.path ? ` · field: ${notice.path}` : ''}${notice.reviewId ? ` · review: ${notice.reviewId}` : ''}`
  switch (notice.outcome) {
    case 'rejected':
      return { text: `${change} was not saved: ${message}`, kind: 'error', detail }
    case 'review':
      return { text: `${change} is held for review: ${message}`, kind: 'warning', detail }
    case 'conflict':
      // Your value replaced a concurrent one: the server's message says whose (it names the field).
      if (notice.ruleId === 'timestamp-wins') return { text: message, kind: 'info', detail }
      // The server's message says who changed it and whose value was kept.
      return { text: `Conflict on ${label ?? 'this document'}: ${message}`, kind: 'warning', detail }
    case 'review-decided':
      return { text: `Review of ${label ? `your change to ${label}` : 'your change'}: ${message}`, kind: 'info', detail }
  }
}
