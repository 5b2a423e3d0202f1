import { isDocumentType } from '../../shared/documentName.ts'
import { documentListView } from './documentListView.ts'
import { h } from './dom.ts'
import { editorView } from './editorView.ts'
import { LocalCatalog } from './localCatalog.ts'
import { loadSession, localNamespace, signOut, type Session } from './session.ts'
import { signInView } from './signInView.ts'
import { Toasts } from './toasts.ts'
import { ViewAnnouncer } from './viewAnnouncer.ts'

/**
 * The demo app: sign in (dev mode), the document list, and an editor per document. Routes live in
 * the URL hash (`#/`, `#/doc/<type>/<id>`), so the server serves one page and the service worker
 * caches one shell.
 */
const toasts = new Toasts()
const announcer = new ViewAnnouncer()
const main = h('main', { id: 'main', tabindex: '-1' })
const account = h('div', { class: 'account' })
document.body.replaceChildren(
  h('a', { href: '#main', class: 'skip-link' }, 'Skip to content'),
  h('header', { class: 'app-header' }, h('a', { href: '#/', class: 'brand' }, 'PosalPro'), account),
  main,
  toasts.element,
  announcer.element,
)

let current: { dispose: () => void } | null = null

const show = (view: { element: HTMLElement; dispose: () => void }) => {
  current?.dispose()
  // Notices are about the view that raised them (and the account): they go with it.
  toasts.clear()
  current = view
  main.replaceChildren(view.element)
  announcer.viewShown(view.element)
}

const renderAccount = (session: Session | null) => {
  if (!session) {
    account.replaceChildren()
    return
  }
  const out = h('button', { type: 'button', class: 'secondary' }, 'Sign out')
  out.addEventListener('click', () => {
    signOut()
    location.hash = '#/'
    route()
  })
  account.replaceChildren(h('span', { class: 'who' }, `${session.name} · ${session.role} · ${session.tenant}`), out)
}

const route = () => {
  const session = loadSession()
  renderAccount(session)
  if (!session) {
    show(
      signInView(() => {
        route()
      }),
    )
    return
  }
  const catalog = new LocalCatalog(localNamespace(session))
  const match = /^#\/doc\/([a-z]+)\/([A-Za-z0-9_-]{1,64})(\?new=1)?$/.exec(location.hash)
  if (match && isDocumentType(match[1]!)) {
    show(editorView(session, match[1], match[2]!, { toasts, catalog, isNew: match[3] !== undefined }))
    return
  }
  document.title = 'Documents — PosalPro'
  show(documentListView(session, { toasts, catalog }))
}

window.addEventListener('hashchange', route)
route()

// The app shell works offline after the first visit (sw.ts); documents come from IndexedDB.
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((error: Error) => console.warn('service worker not registered:', error.message))
}
