import type { ReviewView } from '../../server/reviews/reviewView.ts'
import { apiCall } from './appApi.ts'
import { h } from './dom.ts'
import { reviewItemView } from './reviewItemView.ts'
import { tokenSource, type Session } from './session.ts'

/**
 * My pending changes (`#/mine`): the signed-in user's changes waiting for review, each with the
 * current and the proposed value, and below them the latest decided ones (approved, rejected with
 * the reviewer's reason, or stale), which also arrive as lasting notifications.
 */
export const myChangesView = (session: Session): { element: HTMLElement; dispose: () => void } => {
  const token = tokenSource(session)
  const waiting = h('div', { class: 'review-list', 'aria-busy': 'true' })
  const decided = h('div', { class: 'review-list', 'aria-busy': 'true' })
  let disposed = false
  const load = async () => {
    try {
      const [pending, all] = await Promise.all([
        apiCall<{ reviews: ReviewView[] }>(token, 'GET', '/reviews/mine'),
        apiCall<{ reviews: ReviewView[] }>(token, 'GET', '/reviews/mine?status=all&limit=50'),
      ])
      if (disposed) return
      waiting.replaceChildren(...(pending.reviews.length === 0 ? [h('p', { class: 'empty' }, 'None of your changes is waiting for review.')] : pending.reviews.map((item) => reviewItemView(item, null, 'h3'))))
      const done = all.reviews.filter((item) => item.status !== 'pending')
      decided.replaceChildren(...(done.length === 0 ? [h('p', { class: 'empty' }, 'Nothing decided yet.')] : done.map((item) => reviewItemView(item, null, 'h3'))))
    } catch (error) {
      if (!disposed) waiting.replaceChildren(h('p', { class: 'error' }, `Your changes could not be loaded: ${(error as Error).message}`))
    } finally {
      waiting.setAttribute('aria-busy', 'false')
      decided.setAttribute('aria-busy', 'false')
    }
  }
  document.title = 'My pending changes — PosalPro'
  const element = h(
    'section',
    { class: 'my-changes' },
    h('a', { href: '#/', class: 'back' }, '← Documents'),
    h('h1', {}, 'My pending changes'),
    h('section', { 'aria-labelledby': 'mine-waiting' }, h('h2', { id: 'mine-waiting' }, 'Waiting for review'), waiting),
    h('section', { 'aria-labelledby': 'mine-decided' }, h('h2', { id: 'mine-decided' }, 'Decided'), decided),
  )
  void load()
  return { element, dispose: () => void (disposed = true) }
}
