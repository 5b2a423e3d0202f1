import { writeField } from '../../shared/editTimes.ts'
import type { ProposalModel } from '../../shared/documentModel.ts'
import type { ProposalStatus } from '../../shared/schemas.ts'
import { precheckEdits } from '../../shared/rules/precheck.ts'
import { STATUS_TRANSITIONS, isProposalStatus } from '../../shared/rules/proposalStatus.ts'
import type { Actor, DocumentView, Violation } from '../../shared/rules/ruleTypes.ts'
import { confirmDialog } from './confirmDialog.ts'
import { Disposables, h } from './dom.ts'
import { withFieldLabels } from './fieldLabels.ts'

export const STATUS_LABELS: Record<ProposalStatus, string> = {
  draft: 'Draft',
  in_review: 'In review',
  approved: 'Approved',
  rejected: 'Rejected',
  submitted: 'Submitted',
  won: 'Won',
  lost: 'Lost',
}

let nextId = 0

const labelOf = (status: unknown): string => (isProposalStatus(status) ? STATUS_LABELS[status] : String(status ?? '—'))

export interface StatusControlContext {
  readonly actor: Actor
  readonly readOnly: boolean
  readonly disposables: Disposables
  /** Approving needs an existing customer: what this client knows of the tenant's customers. */
  readonly customerExists: (id: string) => boolean
  readonly onCustomersChanged: (listener: () => void) => void
}

/** One possible move from the current status, as the shared rules (the server's own) judge it now. */
interface Move {
  readonly to: ProposalStatus
  /** Why the rules refuse it for this user now (null: allowed). */
  readonly refused: string | null
  readonly needsReview: boolean
  /** This user could move the proposal straight back afterwards. */
  readonly undoable: boolean
}

const movesFrom = (from: ProposalStatus, { actor, customerExists }: StatusControlContext, view: DocumentView): Move[] => {
  const judge = (current: DocumentView, to: unknown): Violation[] =>
    precheckEdits('proposal', actor, current, [{ root: 'meta', key: 'status', value: to }], customerExists)
  return (STATUS_TRANSITIONS.get(from) ?? []).map((to) => {
    const violations = judge(view, to)
    const rejected = violations.find((violation) => violation.outcome === 'reject')
    // Undoable: in the document as it would be after the move, moving back is accepted outright.
    const after: DocumentView = { get: (root, key) => (root === 'meta' && key === 'status' ? to : view.get(root, key)) }
    const undoable = (STATUS_TRANSITIONS.get(to) ?? []).includes(from) && judge(after, from).length === 0
    return {
      to,
      refused: rejected ? withFieldLabels('proposal', rejected.message) : null,
      needsReview: violations.some((violation) => violation.outcome === 'review'),
      undoable,
    }
  })
}

/**
 * The proposal's status and the moves this user can make from it, as buttons: a move is an
 * explicit action (a select used to commit on one arrow key), and one the user cannot take back asks
 * for confirmation first. Moves the rules refuse now are shown disabled with the reason, so a
 * manager sees what approving still needs. Everything is re-judged whenever the document changes
 * (status, customer, value: another user's change too) or the tenant's customer list arrives.
 */
export const statusControl = (model: ProposalModel, context: StatusControlContext): HTMLElement => {
  const meta = model.meta.ymap
  const doc = meta.doc!
  const view: DocumentView = { get: (root, key) => doc.getMap(root).get(key) }
  const labelId = `status-label-${++nextId}`
  const current = h('output', { class: 'status-current', 'aria-live': 'polite', tabindex: '-1' })
  const moves = h('ul', { class: 'status-moves' })
  const element = h(
    'div',
    { class: 'field status-field', role: 'group', 'aria-labelledby': labelId, 'data-field': 'status' },
    h('span', { class: 'field-label', id: labelId }, 'Status'),
    current,
    moves,
  )

  const move = async (from: unknown, target: Move) => {
    if (!target.undoable) {
      const confirmed = await confirmDialog({
        title: `Move to ${STATUS_LABELS[target.to]}?`,
        body: [
          `You cannot move this proposal back to ${labelOf(from)} yourself afterwards.`,
          target.needsReview ? 'The move is held for review before it takes effect.' : '',
        ].filter(Boolean).join(' '),
        confirm: `Move to ${STATUS_LABELS[target.to]}`,
      })
      if (!confirmed) return
    }
    // The document may have moved on while the dialog was open: only the status it was about.
    if (meta.get('status') !== from) return
    writeField(meta, 'status', target.to)
  }

  const refresh = () => {
    // The buttons are rebuilt: a keyboard user who was on one stays in this control.
    const hadFocus = element.contains(document.activeElement)
    render()
    if (hadFocus && !element.contains(document.activeElement)) {
      const next = moves.querySelector<HTMLButtonElement>('button:not([disabled])')
      if (next) next.focus()
      else current.focus()
    }
  }

  const render = () => {
    const status = meta.get('status')
    current.textContent = labelOf(status)
    current.dataset.status = typeof status === 'string' ? status : ''
    if (context.readOnly) {
      moves.replaceChildren()
      return
    }
    const from: ProposalStatus | null = isProposalStatus(status) ? status : status === undefined ? 'draft' : null
    // A status the rules do not know (an old client wrote it) has no moves: it is shown as is.
    const list = from === null ? [] : movesFrom(from, context, view)
    if (list.length === 0) {
      moves.replaceChildren(h('li', { class: 'hint' }, from === null ? 'Unknown status: no moves.' : 'Final: no further moves.'))
      return
    }
    moves.replaceChildren(
      ...list.map((target) => {
        const reasonId = `${labelId}-${target.to}`
        const button = h(
          'button',
          { type: 'button', class: target.to === 'rejected' ? 'secondary' : undefined, 'data-move': target.to, disabled: target.refused !== null, 'aria-describedby': target.refused ? reasonId : undefined },
          `Move to ${STATUS_LABELS[target.to]}${target.needsReview ? ' (needs review)' : ''}`,
        )
        button.addEventListener('click', () => void move(status, target))
        return h('li', {}, button, target.refused ? h('span', { class: 'hint status-reason', id: reasonId }, target.refused) : null)
      }),
    )
  }

  // Which moves are open depends on other fields too (customer, value) and on which customers
  // exist: any change of either re-judges.
  context.onCustomersChanged(() => refresh())
  const observer = () => refresh()
  meta.observe(observer)
  model.financial.ymap.observe(observer)
  context.disposables.add(() => {
    meta.unobserve(observer)
    model.financial.ymap.unobserve(observer)
  })
  refresh()
  return element
}
