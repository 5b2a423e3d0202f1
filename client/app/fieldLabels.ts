import type { DocumentType } from '../../shared/documentName.ts'

/**
 * What people call each field: the labels the forms show (documentForms.ts), by the path the
 * rules and the server use (`root.key`, or the root of a rich or plain text; a free-text field's
 * legacy `root.key` too, for notices about writes in that form). Notices and lock reasons
 * speak in these words, so a notice names the field the way the form does.
 */
export const FIELD_LABELS = {
  proposal: {
    title: 'Title',
    'meta.title': 'Title',
    'meta.customerId': 'Customer',
    'meta.status': 'Status',
    'meta.dueDate': 'Due date',
    'meta.currency': 'Currency',
    'meta.ownerId': 'Owner',
    'financial.value': 'Value',
    'financial.discountPct': 'Discount %',
    'financial.marginPct': 'Margin %',
    'financial.paymentTermsDays': 'Payment terms (days)',
    body: 'Proposal text',
  },
  customer: {
    name: 'Name',
    address: 'Address',
    industry: 'Industry',
    'fields.name': 'Name',
    'fields.email': 'Email',
    'fields.phone': 'Phone',
    'fields.address': 'Address',
    'fields.industry': 'Industry',
    notes: 'Notes',
  },
  content: {
    title: 'Title',
    category: 'Category',
    'meta.title': 'Title',
    'meta.category': 'Category',
    'meta.locale': 'Locale',
    'meta.legal': 'Legal text',
    body: 'Content text',
  },
} as const satisfies Record<DocumentType, Record<string, string>>

/** Roots whose keys are not fields of a form (one entry per person): named as a whole. */
const ROOT_LABELS: Record<string, string> = { team: 'Team', approvals: 'Approvals' }

/** The label of `path` in a document of `type`; null when the path names no field (empty). */
export const fieldLabel = (type: DocumentType, path: string): string | null => {
  if (path === '') return null
  const labels: Record<string, string> = FIELD_LABELS[type]
  return labels[path] ?? ROOT_LABELS[path.split('.', 1)[0]!] ?? 'a field of this document'
}

/** Any field path of a known root, as it appears inside rule messages ("needs financial.value > 0"). */
const PATH_IN_TEXT = /\b(?:meta|financial|fields|team|approvals)\.[A-Za-z0-9_-]+/g

/** A rule's message with the paths in it replaced by the fields' labels (and `in_review` in words). */
export const withFieldLabels = (type: DocumentType, text: string): string =>
  text.replace(PATH_IN_TEXT, (path) => fieldLabel(type, path) ?? path).replace(/\bin_review\b/g, 'in review')
