import type { z } from 'zod'
import { DOCUMENT_TYPES, type DocumentType } from '../documentName.ts'
import { MAP_SCHEMAS, RICH_TEXT_ROOTS, TEXT_ROOTS } from '../schemas.ts'
import { EDITED_AT_ROOT, isTimedField } from '../editTimes.ts'
import type { FieldChange, Rule, Violation } from './ruleTypes.ts'

/**
 * `schema`: every written field matches its schema (type, enum, length, format).
 *
 * - `add`/`update` of a key of a `fields` root: the key must be a known field and the value must
 *   pass that field's schema. Of a `record` root (`team`, `approvals`): the key must be a
 *   non-empty string of at most 128 characters and the value must pass the value schema.
 * - A change to a root the document type does not have → reject, whatever the action.
 * - A change whose shape does not fit its root (an `edit` of a map, a keyed change of a rich-text
 *   root, a map change without a key) → reject: the root was written as the wrong kind of type.
 * - An `edit` of a plain-text root (`title`, `name`, …): its new value must be a string (characters
 *   only: no formats, embeds, nested types or keyed entries) of at most the field's maximum length.
 * - `delete` of a map key is not a schema matter (every field is optional), even of an unknown
 *   field: removing junk is allowed. An `edit` of rich text is not checked here.
 * - `editedAt` keys must be the paths of field-level fields of the document type (`meta.dueDate`).
 * - Every write is checked, also one that re-sets the value a key already had.
 * Messages name the path and repeat zod's issue messages (with the issue's own path inside a
 * structured value, e.g. `role: Invalid option…`).
 */

const ID = 'schema'
const MAX_RECORD_KEY_LENGTH = 128
const MAX_ISSUES_IN_MESSAGE = 3

type RootSpec =
  | { readonly kind: 'fields'; readonly fields: ReadonlyMap<string, z.ZodType> }
  | { readonly kind: 'record'; readonly value: z.ZodType }
  | { readonly kind: 'rich-text' }
  | { readonly kind: 'plain-text'; readonly max: number }

type MapRootSchema =
  | { readonly kind: 'fields'; readonly schema: { readonly shape: Readonly<Record<string, z.ZodType>> } }
  | { readonly kind: 'record'; readonly schema: z.ZodType }

/** Built once: root name → what may be written there, per document type (Maps: no prototype keys). */
const ROOTS: ReadonlyMap<DocumentType, ReadonlyMap<string, RootSpec>> = new Map(
  DOCUMENT_TYPES.map((type) => {
    const roots = new Map<string, RootSpec>()
    const mapRoots: Readonly<Record<string, MapRootSchema>> = MAP_SCHEMAS[type]
    for (const [name, root] of Object.entries(mapRoots)) {
      roots.set(
        name,
        root.kind === 'fields'
          ? { kind: 'fields', fields: new Map(Object.entries(root.schema.shape)) }
          : { kind: 'record', value: root.schema },
      )
    }
    for (const name of RICH_TEXT_ROOTS[type]) roots.set(name, { kind: 'rich-text' })
    for (const [name, { max }] of Object.entries(TEXT_ROOTS[type] as Record<string, { max: number }>)) roots.set(name, { kind: 'plain-text', max })
    return [type, roots] as const
  }),
)

const check = (docType: DocumentType, change: FieldChange): string | null => {
  const root = ROOTS.get(docType)?.get(change.root)
  if (root === undefined) return `"${change.root}" is not a root of a ${docType} document`
  if (root.kind === 'rich-text') {
    return change.action === 'edit' && change.key === null
      ? null
      : `${change.root} is rich text; it cannot have keys written`
  }
  if (root.kind === 'plain-text') {
    if (change.action !== 'edit' || change.key !== null) return `${change.root} is plain text; it cannot have keys written`
    return plainTextProblem(change, root.max)
  }
  if (change.action === 'edit' || change.key === null) return `${change.root} is a map; only its keys can be written`
  if (change.action === 'delete') return null

  let schema: z.ZodType
  if (root.kind === 'fields') {
    const field = root.fields.get(change.key)
    if (field === undefined) {
      return `${change.path} is not a field of ${change.root} (known: ${[...root.fields.keys()].join(', ')})`
    }
    schema = field
  } else {
    if (change.key.length === 0 || change.key.length > MAX_RECORD_KEY_LENGTH) {
      return `${change.root} keys must be 1–${MAX_RECORD_KEY_LENGTH} characters, got ${change.key.length}`
    }
    // A field's time is kept only for the fields whose concurrent writes are decided by time.
    if (change.root === EDITED_AT_ROOT && !isTimedField(docType, change.key)) {
      return `${change.path}: "${change.key.slice(0, 40)}" is not a field of a ${docType} whose time is kept`
    }
    schema = root.value
  }
  const result = schema.safeParse(change.newValue)
  return result.success ? null : `${change.path}: ${describeIssues(result.error.issues)}`
}

const plainTextProblem = (change: FieldChange, max: number): string | null => {
  const value = change.newValue
  if (typeof value !== 'string') {
    const what = typeof value === 'object' && value !== null && 'notPlainText' in value ? String(value.notPlainText) : 'something else'
    return `${change.path} is plain text; it cannot hold ${what}`
  }
  return value.length > max ? `${change.path}: Too big: expected string to have <=${max} characters` : null
}

const describeIssues = (issues: readonly z.core.$ZodIssue[]): string => {
  const shown = issues.slice(0, MAX_ISSUES_IN_MESSAGE).map((issue) => {
    const where = issue.path.map(String).join('.')
    return where === '' ? issue.message : `${where}: ${issue.message}`
  })
  const more = issues.length - shown.length
  return more > 0 ? `${shown.join('; ')} (and ${more} more)` : shown.join('; ')
}

export const schemaRule: Rule = {
  id: ID,
  appliesTo: DOCUMENT_TYPES,
  evaluate({ docType, changes }) {
    const violations: Violation[] = []
    for (const change of changes) {
      const problem = check(docType, change)
      if (problem !== null) violations.push({ ruleId: ID, outcome: 'reject', path: change.path, message: problem })
    }
    return violations
  },
}
