import { h } from './dom.ts'

/** At most this many notices are on screen; older ones are collapsed into a count. */
const MAX_VISIBLE = 3

/**
 * Short-lived messages in one live region, so screen readers announce them too. A burst (many
 * refused changes at once) shows the newest few and a "N more notices" button that expands the
 * rest, so the page stays usable. The view that caused them clears them when it goes away.
 */
export class Toasts {
  readonly element = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' })
  private readonly more = h('button', { type: 'button', class: 'toast-more secondary', 'aria-expanded': 'false' })
  private readonly items: Array<{ element: HTMLElement; timer: ReturnType<typeof setTimeout> | undefined }> = []
  private expanded = false

  constructor() {
    this.more.addEventListener('click', () => {
      this.expanded = !this.expanded
      this.render()
    })
  }

  /**
   * `ms` is how long it stays; by default an error stays until dismissed (or the view goes: a
   * refused change must not vanish before it is read), anything else 8 s.
   */
  show(text: string, kind: 'info' | 'warning' | 'error' = 'info', ms: number | null = kind === 'error' ? null : 8000, detail?: string): void {
    const close = h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss' }, '×')
    const toast = h(
      'div',
      { class: `toast toast-${kind}`, 'data-kind': kind },
      h('div', { class: 'toast-body' }, h('span', { class: 'toast-text' }, text), detail ? h('details', { class: 'toast-detail' }, h('summary', {}, 'Details'), detail) : null),
      close,
    )
    const item: (typeof this.items)[number] = { element: toast, timer: undefined }
    if (ms !== null) item.timer = setTimeout(() => this.remove(item), ms)
    close.addEventListener('click', () => this.remove(item))
    this.items.push(item)
    this.element.append(toast)
    this.render()
  }

  /** Removes every notice (the view they were about is gone, or the user signed out). */
  clear(): void {
    for (const item of this.items.splice(0)) {
      clearTimeout(item.timer)
      item.element.remove()
    }
    this.expanded = false
    this.render()
  }

  private remove(item: (typeof this.items)[number]): void {
    clearTimeout(item.timer)
    const index = this.items.indexOf(item)
    if (index >= 0) this.items.splice(index, 1)
    item.element.remove()
    this.render()
  }

  private render(): void {
    const hidden = this.expanded ? 0 : Math.max(0, this.items.length - MAX_VISIBLE)
    if (hidden === 0 && this.items.length <= MAX_VISIBLE) this.expanded = false
    for (const [index, item] of this.items.entries()) item.element.hidden = index < hidden
    const collapsible = this.items.length > MAX_VISIBLE
    this.more.textContent = this.expanded ? 'Show fewer notices' : `${hidden} more ${hidden === 1 ? 'notice' : 'notices'}`
    this.more.setAttribute('aria-expanded', String(this.expanded))
    // Toasts are added and removed one by one (moving them would make the live region read them again).
    if (collapsible && this.more.parentNode !== this.element) this.element.prepend(this.more)
    if (!collapsible) this.more.remove()
  }
}
