import type { Notice } from '../../shared/extensionProtocol.ts'
import { h } from './dom.ts'

/** Short-lived messages in one live region, so screen readers announce them too. */
export class Toasts {
  readonly element = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' })

  show(text: string, kind: 'info' | 'warning' | 'error' = 'info', ms = 8000): void {
    const close = h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss' }, '×')
    const toast = h('div', { class: `toast toast-${kind}`, 'data-kind': kind }, h('span', {}, text), close)
    close.addEventListener('click', () => toast.remove())
    this.element.append(toast)
    setTimeout(() => toast.remove(), ms)
  }

  /** What the server said about one of our changes, in words; the rule id is shown as is. */
  notice(notice: Notice): void {
    switch (notice.outcome) {
      case 'rejected':
        this.show(`Change to ${notice.path} was rejected (${notice.ruleId}): ${notice.message}`, 'error')
        return
      case 'review':
        this.show(`Change to ${notice.path} is held for review (${notice.ruleId}): ${notice.message}`, 'warning')
        return
      case 'conflict':
        this.show(`Conflict on ${notice.path}: ${notice.message}`, 'warning')
        return
      case 'review-decided':
        this.show(`Review of ${notice.path}: ${notice.message}`, 'info')
        return
    }
  }
}
