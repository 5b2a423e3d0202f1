import type { DocumentType } from '../documentName.ts'
import type { Role } from '../schemas.ts'

/**
 * What the validation gate reasons about. A rule never sees a Y.Doc: it sees the
 * change set of one update (cost ∝ the update, not the document) and a read-only view of the
 * document's current values, so the same code runs on the server (enforcing) and in the client
 * (pre-checking an edit, greying out a button).
 */

/**
 * What a plain-text root's change carries as its new value when the update put something other
 * than characters into it (formats, an embed, a nested type, keyed entries): `schema` refuses it.
 */
export interface NotPlainText {
  readonly notPlainText: string
}

/**
 * One touched field. Map roots give one change per key; a rich-text root gives one `edit`; a
 * plain-text root (`title`, `name`, …) one `edit` with the text before and after.
 */
export interface FieldChange {
  /** The root type: `meta`, `financial`, `team`, `approvals`, `fields`, `body`, `notes`, or a plain-text root. */
  readonly root: string
  /** The map key, or null for a rich-text or plain-text root. */
  readonly key: string | null
  /** `root.key` (e.g. `meta.status`, `team.u-7`) or `root` for rich and plain text (`body`, `title`). */
  readonly path: string
  /** add / update / delete of a map key; `edit` of rich or plain text (insert, delete or format). */
  readonly action: 'add' | 'update' | 'delete' | 'edit'
  /**
   * The value before the update (undefined when added; the text before for rich text is not
   * carried; for plain text it is the string before).
   */
  readonly oldValue: unknown
  /** The value after the update (undefined when deleted; for plain text the string, or a NotPlainText). */
  readonly newValue: unknown
}

/** Who made the change: from the verified token. */
export interface Actor {
  readonly userId: string
  readonly role: Role
  readonly tenant: string
  readonly legal: boolean
}

/** Read access to the document's values *before* the update (what the change set changes). */
export interface DocumentView {
  get(root: string, key: string): unknown
}

export interface RuleContext {
  readonly docType: DocumentType
  readonly actor: Actor
  readonly changes: readonly FieldChange[]
  /** The document as it was before this update. */
  readonly before: DocumentView
  /** The document with this update applied (the values a rule checks cross-field conditions on). */
  readonly after: DocumentView
  /** Cross-reference check: does `customer/<id>` exist in the actor's tenant? */
  readonly customerExists: (customerId: string) => boolean
}

export type RuleId =
  | 'schema'
  | 'read-only'
  | 'status-transition'
  | 'approved-is-final'
  | 'approver-role'
  | 'financial-review'
  | 'team-admin-only'
  | 'higher-role-wins'
  | 'legal-review'
  | 'customer-required'
  /** Not a rule over values: the server's bound on a document's encoded size (server/documentSize.ts). */
  | 'document-size'

/** A rule's verdict on one change: reject it, or hold it for review. Accepted changes yield nothing. */
export interface Violation {
  readonly ruleId: RuleId
  readonly outcome: 'reject' | 'review'
  /** The path of the change this is about (only that change is compensated). */
  readonly path: string
  /** For people: what is not allowed and why. */
  readonly message: string
}

export interface Rule {
  readonly id: RuleId
  /** Which document types it applies to. */
  readonly appliesTo: readonly DocumentType[]
  evaluate(context: RuleContext): Violation[]
}
