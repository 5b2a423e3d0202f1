import type { Awareness } from 'y-protocols/awareness'
import { Disposables, h } from './dom.ts'

/** What each client puts in its awareness state (y-prosemirror's cursor plugin reads `user.name/color`). */
export interface PresenceUser {
  readonly id: string
  readonly name: string
  readonly color: string
  readonly role: string
}

/** Everyone on this document, one entry per user (a user with two tabs is listed once). */
export const presenceList = (awareness: Awareness, disposables: Disposables): HTMLElement => {
  const list = h('ul', { class: 'presence', 'aria-label': 'People on this document' })
  const render = () => {
    const users = new Map<string, PresenceUser & { self: boolean }>()
    for (const [clientId, state] of awareness.getStates()) {
      const user = (state as { user?: PresenceUser }).user
      if (!user?.id) continue
      const self = clientId === awareness.clientID
      if (!users.has(user.id) || self) users.set(user.id, { ...user, self })
    }
    list.replaceChildren(
      ...[...users.values()].map((user) =>
        h(
          'li',
          { 'data-user': user.id, title: `${user.name} (${user.role})` },
          h('span', { class: 'presence-dot', style: `background:${user.color}`, 'aria-hidden': 'true' }),
          `${user.name}${user.self ? ' (you)' : ''}`,
          h('span', { class: 'presence-role' }, user.role),
        ),
      ),
    )
  }
  awareness.on('change', render)
  disposables.add(() => awareness.off('change', render))
  render()
  return list
}
