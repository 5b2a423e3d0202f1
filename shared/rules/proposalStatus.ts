import { PROPOSAL_STATUSES, type ProposalStatus } from '../schemas.ts'
import type { FieldChange } from './ruleTypes.ts'

/** A proposal's status lifecycle, shared by the status rules and `financial-review`. */

/** The status a new proposal starts in. */
export const INITIAL_STATUS: ProposalStatus = 'draft'

/** The allowed moves: draft→in_review→approved/rejected, rejected→draft, approved→submitted→won/lost. */
export const STATUS_TRANSITIONS: ReadonlyMap<ProposalStatus, readonly ProposalStatus[]> = new Map<
  ProposalStatus,
  readonly ProposalStatus[]
>([
  ['draft', ['in_review']],
  ['in_review', ['approved', 'rejected']],
  ['rejected', ['draft']],
  ['approved', ['submitted']],
  ['submitted', ['won', 'lost']],
  ['won', []],
  ['lost', []],
])

/** Statuses from which the proposal is final: it never returns to draft or in_review. */
export const APPROVED_OR_LATER: readonly ProposalStatus[] = ['approved', 'submitted', 'won', 'lost']

/** The statuses an approved (or later) proposal must never go back to. */
export const PRE_APPROVAL: readonly ProposalStatus[] = ['draft', 'in_review']

export const isProposalStatus = (value: unknown): value is ProposalStatus =>
  typeof value === 'string' && (PROPOSAL_STATUSES as readonly string[]).includes(value)

export const isApprovedOrLater = (value: unknown): boolean =>
  isProposalStatus(value) && APPROVED_OR_LATER.includes(value)

export const isPreApproval = (value: unknown): boolean => isProposalStatus(value) && PRE_APPROVAL.includes(value)

export const canTransition = (from: ProposalStatus, to: ProposalStatus): boolean =>
  STATUS_TRANSITIONS.get(from)?.includes(to) ?? false

/** The change is to `meta.status` (of a proposal: the caller's rule applies to proposals only). */
export const isStatusChange = (change: FieldChange): boolean => change.root === 'meta' && change.key === 'status'

/** The approved-is-final case: an approved (or later) proposal sent back to draft/in_review. */
export const reopensFinalProposal = (from: unknown, to: unknown): boolean => isApprovedOrLater(from) && isPreApproval(to)
