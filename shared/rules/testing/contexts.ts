import type { DocumentType } from '../../documentName.ts'
import type { Role } from '../../schemas.ts'
import type { Actor, DocumentView, FieldChange, RuleContext, Violation } from '../ruleTypes.ts'

/**
 * Builds rule contexts from plain objects for the rules' tests: a document is
 * `{ root: { key: value } }`, changes are written as `set('meta.status', 'draft')`,
 * `remove('team.u-7')`, `edit('body')`, and their old values, actions and the after view are
 * derived from the before document, as the server's change capture would.
 */

export type Snapshot = Readonly<Record<string, Readonly<Record<string, unknown>>>>

export type ChangeSpec =
  | { readonly kind: 'set'; readonly path: string; readonly value: unknown }
  | { readonly kind: 'remove'; readonly path: string }
  | { readonly kind: 'edit'; readonly root: string }

export const set = (path: string, value: unknown): ChangeSpec => ({ kind: 'set', path, value })
export const remove = (path: string): ChangeSpec => ({ kind: 'remove', path })
export const edit = (root: string): ChangeSpec => ({ kind: 'edit', root })

export const actor = (role: Role, overrides: Partial<Actor> = {}): Actor => ({
  userId: `u-${role}`,
  role,
  tenant: 'acme',
  legal: false,
  ...overrides,
})

export const viewOf = (snapshot: Snapshot): DocumentView => ({
  get: (root, key) => {
    const map = Object.hasOwn(snapshot, root) ? snapshot[root] : undefined
    return map !== undefined && Object.hasOwn(map, key) ? map[key] : undefined
  },
})

/** `root.key` split at the first dot (user ids in keys may contain dots). */
const splitPath = (path: string): { root: string; key: string } => {
  const dot = path.indexOf('.')
  if (dot < 0) throw new Error(`a map path needs a key: ${path}`)
  return { root: path.slice(0, dot), key: path.slice(dot + 1) }
}

export const fieldChange = (before: Snapshot, spec: ChangeSpec | FieldChange): FieldChange => {
  if (!('kind' in spec)) return spec
  if (spec.kind === 'edit') {
    return { root: spec.root, key: null, path: spec.root, action: 'edit', oldValue: undefined, newValue: undefined }
  }
  const { root, key } = splitPath(spec.path)
  const oldValue = viewOf(before).get(root, key)
  return spec.kind === 'set'
    ? { root, key, path: spec.path, action: oldValue === undefined ? 'add' : 'update', oldValue, newValue: spec.value }
    : { root, key, path: spec.path, action: 'delete', oldValue, newValue: undefined }
}

const applied = (before: Snapshot, changes: readonly FieldChange[]): Snapshot => {
  const after: Record<string, Record<string, unknown>> = {}
  for (const [root, map] of Object.entries(before)) after[root] = { ...map }
  for (const change of changes) {
    if (change.key === null) continue
    const map = (after[change.root] ??= {})
    if (change.newValue === undefined) delete map[change.key]
    else map[change.key] = change.newValue
  }
  return after
}

export interface ContextOptions {
  /** Ids of the customer documents that exist in the actor's tenant. */
  readonly customers?: readonly string[]
  /** Called with each id `customerExists` is asked about. */
  readonly onCustomerLookup?: (id: string) => void
}

export const contextFor = (
  docType: DocumentType,
  who: Actor | Role,
  before: Snapshot,
  changes: readonly (ChangeSpec | FieldChange)[],
  options: ContextOptions = {},
): RuleContext => {
  const fieldChanges = changes.map((spec) => fieldChange(before, spec))
  const customers = new Set(options.customers ?? [])
  return {
    docType,
    actor: typeof who === 'string' ? actor(who) : who,
    changes: fieldChanges,
    before: viewOf(before),
    after: viewOf(applied(before, fieldChanges)),
    customerExists: (id) => {
      options.onCustomerLookup?.(id)
      return customers.has(id)
    },
  }
}

/** The parts of violations a test asserts on exactly: `[ruleId, outcome, path]`. */
export const verdicts = (violations: readonly Violation[]): [string, string, string][] =>
  violations.map((violation) => [violation.ruleId, violation.outcome, violation.path])
