import { h } from './dom.ts'

/**
 * Tells keyboard and screen-reader users that the view changed, as a page load would: focus moves
 * to the new view's level-one heading (so Tab continues from there, not from a control that no
 * longer exists) and a polite live region says the heading's text. The first view of a load is
 * left alone: the browser already starts reading at the top of a new page.
 */
export class ViewAnnouncer {
  readonly element = h('p', { id: 'view-announcer', class: 'visually-hidden', role: 'status', 'aria-live': 'polite' })
  private first = true

  viewShown(view: HTMLElement): void {
    if (this.first) {
      this.first = false
      return
    }
    const heading = view.querySelector('h1')
    if (!heading) return
    heading.setAttribute('tabindex', '-1')
    heading.focus()
    // Cleared first so the same text twice in a row (list → list) is announced again.
    this.element.textContent = ''
    this.element.textContent = heading.textContent ?? ''
  }
}
