import { isDocumentType } from '../../shared/documentName.ts'
import { BackgroundSync, pendingUploads } from './backgroundSync.ts'
import { documentListView } from './documentListView.ts'
import { Disposables, h } from './dom.ts'
import { editorView } from './editorView.ts'
import { historyView } from './historyView.ts'
import { myChangesView } from './myChangesView.ts'
import { reviewInboxView } from './reviewInboxView.ts'
import { atLeast } from '../../shared/rules/roles.ts'
import { LocalCatalog } from './localCatalog.ts'
import { notificationsButton } from './notificationsPanel.ts'
import { operationsView } from './operationsView.ts'
import { loadSession, localNamespace, signOut, tokenSource, type Session } from './session.ts'
import { signInView } from './signInView.ts'
import { Toasts } from './toasts.ts'
import { ViewAnnouncer } from './viewAnnouncer.ts'

/**
 * The demo app: sign in (dev mode), the document list, an editor per document, its history, the
 * review inbox, the user's own held changes and the operations view for admins. Routes live in the
 * URL hash (`#/`, `#/doc/<type>/<id>`, `#/doc/<type>/<id>/history`, `#/reviews`, `#/mine`, `#/ops`),
 * so the server serves one page and the service worker caches one shell.
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
/** The signed-in account's background sync; replaced when another account signs in. */
let sync: BackgroundSync | null = null
let disposeAccount = () => {}

const syncFor = (session: Session): BackgroundSync => {
  if (sync && localNamespace(sync.session) === localNamespace(session)) return sync
  void sync?.dispose()
  sync = new BackgroundSync(session)
  return sync
}

const show = (view: { element: HTMLElement; dispose: () => void }) => {
  current?.dispose()
  // Notices are about the view that raised them (and the account): they go with it.
  toasts.clear()
  current = view
  main.replaceChildren(view.element)
  announcer.viewShown(view.element)
}

const renderAccount = (session: Session | null, background: BackgroundSync | null) => {
  disposeAccount()
  disposeAccount = () => {}
  if (!session || !background) {
    account.replaceChildren()
    return
  }
  const out = h('button', { type: 'button', class: 'secondary' }, 'Sign out')
  out.addEventListener('click', () => {
    // The changes stay in this device's store and upload when this account signs in here again;
    // until then nobody else sees them, so signing out asks first.
    const waiting = background.ledger.totalChanges()
    const warning = `${waiting} ${waiting === 1 ? 'change is' : 'changes are'} not uploaded yet. They stay on this device and upload when you sign in here again. Sign out anyway?`
    if (waiting > 0 && !confirm(warning)) return
    void background.dispose()
    sync = null
    signOut()
    location.hash = '#/'
    route()
  })
  const pending = pendingUploads(background.ledger)
  const accountDisposables = new Disposables()
  const notifications = notificationsButton(tokenSource(session), accountDisposables)
  disposeAccount = () => {
    pending.dispose()
    accountDisposables.dispose()
  }
  // The review inbox is for whoever may decide held changes; "My changes" for whoever may propose them.
  // A viewer proposes and decides nothing: no empty landmark for them.
  const links = atLeast(session.role, 'editor')
    ? h(
        'nav',
        { class: 'app-nav', 'aria-label': 'Reviews' },
        atLeast(session.role, 'manager') ? h('a', { href: '#/reviews' }, 'Review inbox') : null,
        h('a', { href: '#/mine' }, 'My changes'),
      )
    : null
  const ops = session.role === 'admin' ? h('a', { href: '#/ops', class: 'ops-link' }, 'Operations') : null
  account.replaceChildren(...(links ? [links] : []), pending.element, ...(ops ? [ops] : []), notifications, h('span', { class: 'who' }, `${session.name} · ${session.role} · ${session.tenant}`), out)
}

const route = () => {
  const session = loadSession()
  const background = session ? syncFor(session) : null
  renderAccount(session, background)
  if (!session || !background) {
    void sync?.dispose()
    sync = null
    show(
      signInView(() => {
        route()
      }),
    )
    return
  }
  const catalog = new LocalCatalog(localNamespace(session))
  const match = /^#\/doc\/([a-z]+)\/([A-Za-z0-9_-]{1,64})(\?new=1)?$/.exec(location.hash)
  const historyRoute = /^#\/doc\/([a-z]+)\/([A-Za-z0-9_-]{1,64})\/history$/.exec(location.hash)
  if (historyRoute && isDocumentType(historyRoute[1]!)) {
    show(historyView(session, historyRoute[1], historyRoute[2]!))
  } else if (location.hash === '#/reviews') {
    show(reviewInboxView(session))
  } else if (location.hash === '#/mine') {
    show(myChangesView(session))
  } else if (match && isDocumentType(match[1]!)) {
    // Links from before creation moved out of the URL still carry `?new=1`: they only open the
    // document (it writes nothing), under its plain link.
    if (match[3]) history.replaceState(null, '', `#/doc/${match[1]}/${match[2]}`)
    show(editorView(session, match[1], match[2]!, { toasts, catalog, background }))
  } else if (location.hash === '#/ops' && session.role === 'admin') {
    document.title = 'Operations — PosalPro'
    show(operationsView(session))
  } else {
    document.title = 'Documents — PosalPro'
    show(documentListView(session, { toasts, catalog, background }))
  }
  // After the view holds its document: the queue uploads the others (on a fresh page, too).
  background.poke()
}

window.addEventListener('hashchange', route)
route()

// The app shell works offline after the first visit (sw.ts); documents come from IndexedDB.
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((error: Error) => console.warn('service worker not registered:', error.message))
}
