import type { ReviewView } from '../../server/reviews/reviewView.ts'
import { apiCall } from './appApi.ts'
import { h } from './dom.ts'
import { reasonDialog } from './reasonDialog.ts'
import { changeLabel, documentLabel, personName, reviewItemView, RULE_NAMES } from './reviewItemView.ts'
import { tokenSource, type Session } from './session.ts'

const TYPES: Array<[string, string]> = [['', 'All types'], ['proposal', 'Proposals'], ['customer', 'Customers'], ['content', 'Content']]

/**
 * The review inbox (`#/reviews`), for whoever may decide held changes (managers, legal reviewers,
 * admins: the server lists only the items the user may decide): pending items newest first,
 * filterable by document type and rule, each with both values side by side; Approve, or Reject
 * with a reason. After a decision the list is fetched again and the outcome announced.
 */
export const reviewInboxView = (session: Session): { element: HTMLElement; dispose: () => void } => {
  const token = tokenSource(session)
  const type = h('select', { id: 'review-filter-type' }, ...TYPES.map(([value, label]) => h('option', { value }, label)))
  const rule = h('select', { id: 'review-filter-rule' }, h('option', { value: '' }, 'All rules'), ...Object.entries(RULE_NAMES).map(([value, label]) => h('option', { value }, label)))
  const status = h('p', { class: 'hint', role: 'status' })
  const list = h('div', { class: 'review-list', 'aria-busy': 'true' })
  let disposed = false

  const load = async () => {
    list.setAttribute('aria-busy', 'true')
    try {
      const query = new URLSearchParams({ ...(type.value ? { type: type.value } : {}), ...(rule.value ? { rule: rule.value } : {}) })
      const { reviews, total } = await apiCall<{ reviews: ReviewView[]; total: number }>(token, 'GET', `/reviews?${query}`)
      if (disposed) return
      list.replaceChildren(...(reviews.length === 0 ? [h('p', { class: 'empty' }, 'Nothing is waiting for your review.')] : reviews.map((item) => reviewItemView(item, decisionButtons(item)))))
      if (total > reviews.length) list.append(h('p', { class: 'hint' }, `Showing the newest ${reviews.length} of ${total}.`))
    } catch (error) {
      if (!disposed) list.replaceChildren(h('p', { class: 'error' }, `The review inbox could not be loaded: ${(error as Error).message}`))
    } finally {
      list.setAttribute('aria-busy', 'false')
    }
  }

  const decisionButtons = (item: ReviewView): HTMLElement | null => {
    if (!item.mayDecide) return null
    const what = `${item.changes.map((change) => changeLabel(item, change.path)).join(', ')} in ${documentLabel(item)}`
    const approve = h('button', { type: 'button', 'aria-label': `Approve ${what}` }, 'Approve')
    const reject = h('button', { type: 'button', class: 'secondary', 'aria-label': `Reject ${what}` }, 'Reject')
    const decide = async (path: 'approve' | 'reject', body?: { reason: string }) => {
      approve.disabled = reject.disabled = true
      try {
        const decided = await apiCall<ReviewView>(token, 'POST', `/reviews/${encodeURIComponent(item.id)}/${path}`, body)
        status.textContent = outcomeText(decided, what)
      } catch (error) {
        status.textContent = `${what}: ${(error as Error).message}`
      }
      await load()
    }
    approve.addEventListener('click', () => void decide('approve'))
    reject.addEventListener('click', () => {
      void reasonDialog({ title: `Reject ${personName(item.proposer)}'s change`, confirm: 'Reject' }).then((reason) => {
        if (reason !== null) void decide('reject', { reason })
      })
    })
    return h('div', { class: 'review-actions' }, approve, reject)
  }

  type.addEventListener('change', () => void load())
  rule.addEventListener('change', () => void load())
  document.title = 'Review inbox — PosalPro'
  const element = h(
    'section',
    { class: 'review-inbox' },
    h('a', { href: '#/', class: 'back' }, '← Documents'),
    h('h1', {}, 'Review inbox'),
    h('div', { class: 'review-filters' }, h('label', { for: 'review-filter-type' }, 'Document type'), type, h('label', { for: 'review-filter-rule' }, 'Rule'), rule),
    status,
    list,
  )
  void load()
  return { element, dispose: () => void (disposed = true) }
}

const outcomeText = (item: ReviewView, what: string): string => {
  if (item.status === 'approved') return `Approved: ${what} is live for everyone.`
  if (item.status === 'rejected') return `Rejected: ${what}. ${personName(item.proposer)} is told your reason.`
  const since = item.changedSince ? ` (changed by ${personName(item.changedSince)} at ${new Date(item.changedSince.at).toLocaleString()})` : ''
  return `Not applied: ${what} changed since it was proposed${since}.`
}
