import * as z from 'zod'

/**
 * Field schemas for every document type, declared once. They give the static types of
 * the typed accessors and the runtime checks of the `schema` rule. Every field is
 * optional in a document: a field that was never written is absent, not invalid.
 */

const shortText = (max: number) => z.string().max(max)
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/, 'ISO 8601 date')
const userId = z.string().min(1).max(128)
const documentId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/)

/**
 * The free-text fields of each document type: root-level Y.Texts (plain text: string content only,
 * no formats, embeds or nested types), so two people typing in one field merge character by
 * character, as in the body. Roots, not Y.Texts inside a map: two replicas creating a nested Y.Text
 * for the same key concurrently would lose one of them; roots are merged by name. Each has its
 * maximum length and the map key it was stored under before it became a text root (`legacy`):
 * documents stored in that form are moved over when the server loads them.
 */
export const TEXT_ROOTS = {
  proposal: { title: { max: 200, legacy: 'meta' } },
  customer: { name: { max: 200, legacy: 'fields' }, address: { max: 500, legacy: 'fields' }, industry: { max: 100, legacy: 'fields' } },
  content: { title: { max: 200, legacy: 'meta' }, category: { max: 100, legacy: 'meta' } },
} as const satisfies Record<string, Record<string, { readonly max: number; readonly legacy: string }>>

export const ROLES = ['viewer', 'editor', 'manager', 'admin'] as const
export const roleSchema = z.enum(ROLES)
export type Role = z.infer<typeof roleSchema>

export const PROPOSAL_STATUSES = ['draft', 'in_review', 'approved', 'rejected', 'submitted', 'won', 'lost'] as const
export const proposalStatusSchema = z.enum(PROPOSAL_STATUSES)
export type ProposalStatus = z.infer<typeof proposalStatusSchema>

export const proposalMetaSchema = z.object({
  /** Legacy form of the `title` text root (still accepted from clients that have not synced since). */
  title: shortText(TEXT_ROOTS.proposal.title.max),
  status: proposalStatusSchema,
  customerId: documentId,
  ownerId: userId,
  dueDate: isoDate,
  currency: z.string().regex(/^[A-Z]{3}$/, 'ISO 4217 currency code'),
})

export const proposalFinancialSchema = z.object({
  value: z.number().finite().min(0).max(1e12),
  discountPct: z.number().finite().min(0).max(100),
  marginPct: z.number().finite().min(-100).max(100),
  paymentTermsDays: z.number().int().min(0).max(365),
})

export const approvalSchema = z.object({
  decision: z.enum(['approved', 'rejected']),
  role: roleSchema,
  at: z.string(),
})

export const customerFieldsSchema = z.object({
  // name, address and industry: legacy form of their text roots (still accepted, then moved over).
  name: shortText(TEXT_ROOTS.customer.name.max).min(1),
  email: z.email().max(254),
  phone: z.string().regex(/^[+0-9 ()-]{3,32}$/, 'phone number'),
  address: shortText(TEXT_ROOTS.customer.address.max),
  industry: shortText(TEXT_ROOTS.customer.industry.max),
})

export const contentMetaSchema = z.object({
  /** title and category: legacy form of their text roots (still accepted, then moved over). */
  title: shortText(TEXT_ROOTS.content.title.max),
  category: shortText(TEXT_ROOTS.content.category.max),
  legal: z.boolean(),
  locale: z.string().regex(/^[a-z]{2}(-[A-Z]{2})?$/, 'locale like en or en-US'),
})

export type ProposalMeta = z.infer<typeof proposalMetaSchema>
export type ProposalFinancial = z.infer<typeof proposalFinancialSchema>
export type Approval = z.infer<typeof approvalSchema>
export type CustomerFields = z.infer<typeof customerFieldsSchema>
export type ContentMeta = z.infer<typeof contentMetaSchema>

/** When a field got its current value, in ms (shared/editTimes.ts; its keys are field paths). */
export const editTimeSchema = z.number().finite().min(0)

/**
 * The map-valued root types of each document type and the schema of each map's values.
 * `team` and `approvals` are keyed by user id, so their schema is the value schema; `editedAt`
 * is keyed by field path (shared/editTimes.ts).
 */
export const MAP_SCHEMAS = {
  proposal: {
    meta: { kind: 'fields', schema: proposalMetaSchema },
    financial: { kind: 'fields', schema: proposalFinancialSchema },
    team: { kind: 'record', schema: roleSchema },
    approvals: { kind: 'record', schema: approvalSchema },
    editedAt: { kind: 'record', schema: editTimeSchema },
  },
  customer: {
    fields: { kind: 'fields', schema: customerFieldsSchema },
    editedAt: { kind: 'record', schema: editTimeSchema },
  },
  content: {
    meta: { kind: 'fields', schema: contentMetaSchema },
    editedAt: { kind: 'record', schema: editTimeSchema },
  },
} as const

/** The rich-text root types (Y.XmlFragment, bound to ProseMirror/TipTap) of each document type. */
export const RICH_TEXT_ROOTS = {
  proposal: ['body'],
  customer: ['notes'],
  content: ['body'],
} as const
