import { isDeepStrictEqual } from 'node:util'
import type { z } from 'zod'
import type { DocumentType } from '../../shared/documentName.ts'
import { STATUS_TRANSITIONS, INITIAL_STATUS, isApprovedOrLater, isProposalStatus } from '../../shared/rules/proposalStatus.ts'
import { atLeast, isRole, roleRank } from '../../shared/rules/roles.ts'
import { MAP_SCHEMAS, type ProposalStatus, type Role } from '../../shared/schemas.ts'

/**
 * What the validation gate guarantees about a document, written independently of the gate (from
 * the same `shared/` definitions: schemas, lifecycle, role ranks), for randomized tests.
 *
 * The rules fall in two kinds:
 *
 * STATE INVARIANTS hold for the document's values after ANY history of accepted changes, so they
 * are checked on a state alone (`stateProblems`):
 * - `schema`: every key of a map root is a known field (or, for `team`/`approvals`, a 1–128
 *   character key) and its value passes its schema. Every accepted write passed the schema, and a
 *   compensation only restores a value that was accepted before or deletes the key. (So `status`
 *   is one of the seven, every approval names a valid role, every figure is in range, …)
 * - `customer-required`: a customer's name, when present, is not blank; an email, when present,
 *   is valid (also a schema matter).
 * - `approver-role`: an approved (or later) proposal has `financial.value > 0` and a `customerId`.
 *
 * TRANSITION RULES constrain how a state may change and who may change it; a state alone cannot
 * show a violation. They are checked per accepted update, on the state before and after it and
 * the actor (`transitionProblems`), or, between two states with unknown updates in between
 * (a reload, a gap in observation), only as far as they compose (`reachabilityProblems`):
 * - `status-transition`: one update moves the status along one lifecycle edge (none → draft;
 *   draft → in_review → approved/rejected; rejected → draft; approved → submitted → won/lost),
 *   never removes it. Across many updates: the status stays reachable in the lifecycle graph.
 * - `approved-is-final`: implied by the above (nothing leads back from approved or later), and it
 *   composes: once approved-or-later, always approved-or-later.
 * - `approver-role`: the update that sets approved/rejected is by a manager+. What approving
 *   requires then keeps holding (a STATE invariant, checked in `stateProblems`): an approved (or
 *   later) proposal has `financial.value > 0` and a `customerId` (its customer existing is checked
 *   where the test knows the customers).
 * - `financial-review`: a `financial.*` change that stands is by a manager+ (an editor's is held
 *   for review and compensated), and by an admin once the status was approved-or-later.
 * - `team-admin-only`, `higher-role-wins`, `read-only`: who changed `team`, an approval, anything.
 * - `legal-review`: while content is legal, a body change that stands is by a legal user or an
 *   admin; only they change whether content is legal.
 * - `customer-required`: a name once set is never removed (composes across updates).
 */

/** A document as plain values: map roots as objects, rich-text roots as XML strings (`documentToJSON`). */
export type DocumentSnapshot = Readonly<Record<string, unknown>>

/** Who made an accepted update (from the server's view of the connection). */
export interface UpdateActor {
  readonly userId: string
  readonly role: Role
  readonly legal: boolean
}

type Fields = Readonly<Record<string, unknown>>

const mapOf = (snapshot: DocumentSnapshot, root: string): Fields => {
  const value = snapshot[root]
  return typeof value === 'object' && value !== null ? (value as Fields) : {}
}

const show = (value: unknown): string => {
  const text = typeof value === 'number' && !Number.isFinite(value) ? String(value) : (JSON.stringify(value) ?? String(value))
  return text.length > 60 ? `${text.slice(0, 60)}…` : text
}

/** The keys whose values differ between two map snapshots (added, removed or changed). */
const changedKeys = (before: Fields, after: Fields): string[] =>
  [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((key) => !isDeepStrictEqual(before[key], after[key]))

/** Problems with the document's current values; empty when every state invariant holds. */
export const stateProblems = (type: DocumentType, snapshot: DocumentSnapshot): string[] => {
  const problems: string[] = []
  const roots: Readonly<Record<string, { kind: 'fields' | 'record'; schema: z.ZodType }>> = MAP_SCHEMAS[type]
  for (const [root, spec] of Object.entries(roots)) {
    const shape = spec.kind === 'fields' ? (spec.schema as unknown as { shape: Readonly<Record<string, z.ZodType>> }).shape : null
    for (const [key, value] of Object.entries(mapOf(snapshot, root))) {
      const path = `${root}.${key}`
      let schema: z.ZodType
      if (shape) {
        const field = Object.hasOwn(shape, key) ? shape[key] : undefined
        if (!field) {
          problems.push(`schema: ${path} is not a field of ${root} (value ${show(value)})`)
          continue
        }
        schema = field
      } else {
        if (key.length === 0 || key.length > 128) problems.push(`schema: ${root} has a key of ${key.length} characters`)
        schema = spec.schema
      }
      if (!schema.safeParse(value).success) problems.push(`schema: ${path} = ${show(value)} does not pass its schema`)
    }
  }
  if (type === 'proposal' && isApprovedOrLater(mapOf(snapshot, 'meta').status)) {
    const { value } = mapOf(snapshot, 'financial')
    const { customerId, status } = mapOf(snapshot, 'meta')
    if (!(typeof value === 'number' && value > 0)) problems.push(`approver-role: ${String(status)} with financial.value ${show(value)}`)
    if (typeof customerId !== 'string' || customerId === '') problems.push(`approver-role: ${String(status)} without a customerId`)
  }
  if (type === 'customer') {
    const name = mapOf(snapshot, 'fields').name
    if (typeof name === 'string' && name.trim() === '') problems.push(`customer-required: fields.name is blank (${show(name)})`)
    // The `name` text root (an empty text is no name at all: a customer nobody named yet).
    const text = snapshot.name
    if (typeof text === 'string' && text !== '' && text.trim() === '') problems.push(`customer-required: name is blank (${show(text)})`)
  }
  return problems
}

/** Statuses reachable from `from` in zero or more lifecycle moves. */
const reachableFrom = (from: ProposalStatus): ReadonlySet<ProposalStatus> => {
  const seen = new Set<ProposalStatus>([from])
  const queue: ProposalStatus[] = [from]
  for (let status = queue.shift(); status !== undefined; status = queue.shift()) {
    for (const next of STATUS_TRANSITIONS.get(status) ?? []) {
      if (!seen.has(next)) {
        seen.add(next)
        queue.push(next)
      }
    }
  }
  return seen
}

/**
 * Problems between two states of one document with any number of accepted updates in between
 * (e.g. across a server restart or a reload): the transition rules that compose.
 */
export const reachabilityProblems = (type: DocumentType, before: DocumentSnapshot, after: DocumentSnapshot): string[] => {
  const problems: string[] = []
  if (type === 'proposal') {
    const from = mapOf(before, 'meta').status
    const to = mapOf(after, 'meta').status
    if (from !== undefined && to === undefined) problems.push(`status-transition: status ${show(from)} was removed`)
    else if (isProposalStatus(from) && isProposalStatus(to) && !reachableFrom(from).has(to)) {
      problems.push(`status-transition: status went from ${from} to ${to}, which the lifecycle cannot reach`)
    }
  }
  // A customer's name, in either form (the snapshot's `name` reads the text root, or the legacy
  // `fields.name` the server has not moved yet): moving it from one to the other removes nothing.
  const nameOf = (snapshot: DocumentSnapshot): unknown => (typeof snapshot.name === 'string' && snapshot.name !== '' ? snapshot.name : mapOf(snapshot, 'fields').name)
  if (type === 'customer' && nameOf(before) !== undefined && nameOf(after) === undefined) {
    problems.push('customer-required: the name was removed')
  }
  return problems
}

/**
 * Problems with ONE accepted update by `actor` that took the document from `before` to `after`
 * (the net effect, after any compensation). `customerExists` answers the approver-role cross-reference.
 */
export const transitionProblems = (
  type: DocumentType,
  before: DocumentSnapshot,
  after: DocumentSnapshot,
  actor: UpdateActor,
  customerExists: (customerId: string) => boolean,
): string[] => {
  const problems: string[] = []
  const changed = (root: string) => changedKeys(mapOf(before, root), mapOf(after, root))
  const anyChange = Object.keys({ ...before, ...after }).some((root) => !isDeepStrictEqual(before[root], after[root]))
  if (actor.role === 'viewer' && anyChange) problems.push('read-only: a viewer\'s update changed the document')

  if (type === 'proposal') {
    const from = mapOf(before, 'meta').status
    const to = mapOf(after, 'meta').status
    if (!isDeepStrictEqual(from, to)) {
      if (to === undefined) problems.push(`status-transition: status ${show(from)} was removed`)
      else if (from === undefined ? to !== INITIAL_STATUS : !(isProposalStatus(from) && STATUS_TRANSITIONS.get(from)?.includes(to as ProposalStatus))) {
        problems.push(`status-transition: one update moved the status from ${show(from)} to ${show(to)}`)
      }
      if ((to === 'approved' || to === 'rejected') && !atLeast(actor.role, 'manager')) {
        problems.push(`approver-role: ${actor.userId} (${actor.role}) set the status to ${to}`)
      }
      if (to === 'approved') {
        const value = mapOf(after, 'financial').value
        const customerId = mapOf(after, 'meta').customerId
        if (!(typeof value === 'number' && value > 0)) problems.push(`approver-role: approved with financial.value ${show(value)}`)
        if (typeof customerId !== 'string' || !customerExists(customerId)) {
          problems.push(`approver-role: approved with customerId ${show(customerId)}, which does not exist`)
        }
      }
    }
    const financial = changed('financial')
    if (financial.length > 0) {
      if (isApprovedOrLater(from) && actor.role !== 'admin') {
        problems.push(`financial-review: ${actor.userId} (${actor.role}) changed ${financial.join(', ')} of a ${show(from)} proposal`)
      } else if (!atLeast(actor.role, 'manager')) {
        problems.push(`financial-review: ${actor.userId} (${actor.role}) changed ${financial.join(', ')} without review`)
      }
    }
    const team = changed('team')
    if (team.length > 0 && actor.role !== 'admin') {
      problems.push(`team-admin-only: ${actor.userId} (${actor.role}) changed team.${team.join(', team.')}`)
    }
    for (const key of changed('approvals')) {
      const old = mapOf(mapOf(before, 'approvals'), key)
      const now = mapOf(mapOf(after, 'approvals'), key)
      const oldRole = mapOf(before, 'approvals')[key] === undefined ? undefined : old.role
      if (oldRole !== undefined && roleRank(isRole(oldRole) ? oldRole : 'admin') > roleRank(actor.role)) {
        problems.push(`higher-role-wins: ${actor.userId} (${actor.role}) overwrote approvals.${key} by a ${show(oldRole)}`)
      }
      if (mapOf(after, 'approvals')[key] !== undefined && isRole(now.role) && roleRank(now.role) > roleRank(actor.role)) {
        problems.push(`higher-role-wins: ${actor.userId} (${actor.role}) signed approvals.${key} as ${now.role}`)
      }
    }
  }

  if (type === 'content' && !actor.legal && actor.role !== 'admin') {
    const wasLegal = mapOf(before, 'meta').legal === true
    if (wasLegal !== (mapOf(after, 'meta').legal === true)) {
      problems.push(`legal-review: ${actor.userId} (${actor.role}, not legal) changed whether the content is legal`)
    }
    if (wasLegal && before.body !== after.body) {
      problems.push(`legal-review: ${actor.userId} (${actor.role}, not legal) changed the body of legal content: ${show(before.body)} → ${show(after.body)}`)
    }
  }

  return [...problems, ...reachabilityProblems(type, before, after).filter((problem) => !problems.includes(problem))]
}
