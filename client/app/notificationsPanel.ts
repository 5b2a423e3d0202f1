import { isDocumentType } from '../../shared/documentName.ts'
import { h, type Disposables } from './dom.ts'
import { fieldLabel } from './fieldLabels.ts'

/** The server's notification, as `GET /api/notifications` lists it (server/notifications/notification.ts). */
export interface AppNotification {
  readonly id: string
  readonly kind: string
  readonly at: number
  readonly read: boolean
  readonly document: string | null
  readonly detail: Record<string, unknown>
}

/** Something may have changed the user's notifications (a `review-decided` notice arrived): refetch. */
export const NOTIFICATIONS_CHANGED = 'posalpro:notifications-changed'

const OUTCOME_TEXT: Record<string, string> = {
  approved: 'approved',
  rejected: 'rejected',
  stale: 'not applied: the field changed before the decision',
}

/** One notification in words, per kind; a kind this app does not know yet says so plainly. */
export const describeNotification = (notification: AppNotification): { title: string; text: string } => {
  const [type] = (notification.document ?? '').split('/', 1)
  if (notification.kind === 'review-decided') {
    const paths = Array.isArray(notification.detail.paths) ? (notification.detail.paths as string[]) : []
    const labels = type && isDocumentType(type) ? paths.map((path) => fieldLabel(type, path) ?? path) : paths
    const outcome = String(notification.detail.outcome ?? '')
    const reason = typeof notification.detail.reason === 'string' ? `: ${notification.detail.reason}` : ''
    const by = typeof notification.detail.decidedBy === 'string' && outcome !== 'stale' ? ` by ${notification.detail.decidedBy}` : ''
    return { title: `Your change to ${labels.join(', ') || 'a field'}`, text: `${OUTCOME_TEXT[outcome] ?? outcome}${by}${reason}` }
  }
  if (notification.kind === 'change-rejected') {
    const paths = Array.isArray(notification.detail.paths) ? (notification.detail.paths as string[]) : []
    const labels = type && isDocumentType(type) ? paths.map((path) => fieldLabel(type, path) ?? path) : paths
    return { title: `Your change to ${labels.join(', ') || 'a field'} was not accepted`, text: String(notification.detail.message ?? '') }
  }
  if (notification.kind === 'value-overwritten') {
    const path = String(notification.detail.path ?? '')
    const label = (type && isDocumentType(type) ? fieldLabel(type, path) : null) ?? path
    const by = String(notification.detail.byName ?? notification.detail.by ?? 'someone')
    return { title: `Your ${label} was replaced`, text: `${by} set it at the same time; open the document to keep theirs or use yours` }
  }
  if (notification.kind === 'team-assigned') {
    const role = typeof notification.detail.role === 'string' && notification.detail.role !== '' ? ` as ${notification.detail.role}` : ''
    const by = typeof notification.detail.by === 'string' ? ` by ${notification.detail.by}` : ''
    return { title: 'You were added to a proposal’s team', text: `${role.trimStart()}${by}`.trim() }
  }
  return { title: notification.kind, text: '' }
}

/**
 * The header's notifications: a button with the unread count, and a panel listing the user's
 * lasting notifications (document link, field, outcome, reason). Fetched when shown and whenever
 * NOTIFICATIONS_CHANGED is dispatched on window; opening the panel marks them read. Offline it
 * keeps what it last fetched.
 */
export const notificationsButton = (token: () => Promise<string>, disposables: Disposables): HTMLElement => {
  let notifications: readonly AppNotification[] = []
  let unread = 0
  // The accessible name is the visible text ("Notifications 2") plus a hidden " unread": a name
  // that differs from what is shown confuses speech input ("click Notifications 2").
  const count = h('span', {})
  const badge = h('span', { class: 'badge' }, count, h('span', { class: 'visually-hidden' }, ' unread'))
  const button = h('button', { type: 'button', class: 'secondary notifications-button', 'aria-expanded': 'false', 'aria-controls': 'notifications-panel' }, 'Notifications ', badge)
  const panel = h('section', { class: 'notifications-panel', id: 'notifications-panel', 'aria-label': 'Notifications', hidden: true })

  const render = () => {
    count.textContent = unread > 0 ? String(unread) : ''
    badge.hidden = unread === 0
    const items = notifications.map((notification) => {
      const { title, text } = describeNotification(notification)
      const link = notification.document ? h('a', { href: `#/doc/${notification.document}` }, notification.document) : null
      return h(
        'li',
        { class: notification.read ? 'notification' : 'notification unread', 'data-kind': notification.kind },
        h('p', { class: 'notification-title' }, title, link ? ' in ' : '', link),
        h('p', { class: 'notification-text' }, text),
        // A decision's item, with both values and the reason, is among the user's changes.
        notification.kind === 'review-decided' ? h('a', { href: '#/mine', class: 'notification-item' }, 'See your changes') : null,
        h('time', { datetime: new Date(notification.at).toISOString() }, new Date(notification.at).toLocaleString()),
      )
    })
    panel.replaceChildren(h('h2', {}, 'Notifications'), items.length > 0 ? h('ul', {}, ...items) : h('p', {}, 'Nothing new.'))
  }

  const request = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`/api/notifications${path}`, { ...init, headers: { ...init.headers, authorization: `Bearer ${await token()}` } })
    if (!response.ok) throw new Error(`notifications: ${response.status}`)
    return (await response.json()) as { notifications?: AppNotification[]; unread: number }
  }
  const refresh = async () => {
    try {
      const listed = await request('')
      notifications = listed.notifications ?? []
      unread = listed.unread
      render()
      if (!panel.hidden && unread > 0) await markRead()
    } catch {
      // Offline or signed out meanwhile: keep what was shown.
    }
  }
  const markRead = async () => {
    const answer = await request('/read', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ all: true }) })
    unread = answer.unread
    notifications = notifications.map((notification) => ({ ...notification, read: true }))
    // The list keeps showing which ones were new until the panel closes.
    count.textContent = ''
    badge.hidden = true
  }
  button.addEventListener('click', () => {
    panel.hidden = !panel.hidden
    button.setAttribute('aria-expanded', String(!panel.hidden))
    if (panel.hidden) render()
    else if (unread > 0) void markRead().catch(() => {})
  })
  const onChanged = () => void refresh()
  window.addEventListener(NOTIFICATIONS_CHANGED, onChanged)
  disposables.add(() => window.removeEventListener(NOTIFICATIONS_CHANGED, onChanged))
  render()
  void refresh()
  return h('div', { class: 'notifications' }, button, panel)
}
