import type * as Y from 'yjs'
import type { DocumentType } from '../../shared/documentName.ts'
import type { DocumentModel } from '../../shared/documentModel.ts'
import type { Notice } from '../../shared/extensionProtocol.ts'
import { openDocument, type DocumentHandle } from '../browser.ts'
import { trackUnsaved } from '../unsavedLedger.ts'
import type { BackgroundSync } from './backgroundSync.ts'
import { contentForm, customerForm, proposalForm, type EditorContext } from './documentForms.ts'
import { Disposables, colorFor, h } from './dom.ts'
import type { LocalCatalog } from './localCatalog.ts'
import { announcePresence } from './localPresence.ts'
import { presenceList, type PresenceUser } from './presenceList.ts'
import { saveIndicator } from './saveIndicator.ts'
import { titleOf } from './documentTitle.ts'
import { collabUrl, fetchDocumentList } from './serverApi.ts'
import { localNamespace, tokenSource, type Session } from './session.ts'
import type { Toasts } from './toasts.ts'
import { describeNotice } from './noticeText.ts'
import { atLeast } from '../../shared/rules/roles.ts'
import { heldValueNotes } from './heldValueNotes.ts'
import { NOTIFICATIONS_CHANGED } from './notificationsPanel.ts'
import { fieldConflicts } from './fieldConflict.ts'

declare global {
  interface Window {
    /** The open document's handle, for the console (and end-to-end tests). */
    posalpro?: { handle: DocumentHandle }
  }
}

/** One document open for editing: header (title, save state, presence) and the type's form. */
export const editorView = (
  session: Session,
  type: DocumentType,
  id: string,
  { toasts, catalog, background }: { toasts: Toasts; catalog: LocalCatalog; background: BackgroundSync },
): { element: HTMLElement; dispose: () => void } => {
  const disposables = new Disposables()
  const { ledger } = background
  // The background sync leaves this document to this handle until it is released (stored).
  const release = background.hold(`${type}/${id}`)
  const handle = openDocument(type, id, { url: collabUrl(), getToken: tokenSource(session), offline: { namespace: localNamespace(session) } })
  disposables.add(() => {
    handle
      .destroy()
      .catch((error: Error) => toasts.show(`Changes to ${handle.name} could not be stored on this device: ${error.message}`, 'error', 30_000))
      .finally(release)
    if (window.posalpro?.handle === handle) delete window.posalpro
  })
  window.posalpro = { handle }
  // The ledger knows this document's unsent changes, for the list, the header and the background sync.
  disposables.add(trackUnsaved(handle, ledger))

  const user: PresenceUser = { id: session.userId, name: session.name, color: colorFor(session.userId), role: session.role }
  announcePresence(handle, user, disposables)

  const onNotice = (notice: Notice) => {
    const { text, kind, detail } = describeNotice(type, notice)
    toasts.show(text, kind, undefined, detail)
    if (notice.outcome === 'review-decided') window.dispatchEvent(new Event(NOTIFICATIONS_CHANGED))
  }
  // Changes held for review, shown on their fields to their proposer and to whoever may decide.
  const notes = heldValueNotes({ type, userId: session.userId, mayDecide: atLeast(session.role, 'manager'), token: tokenSource(session), toasts, disposables })
  handle.on('pendingReviews', notes.show)
  disposables.add(() => handle.off('pendingReviews', notes.show))
  const onError = (error: Error) => toasts.show(error.message, 'error')
  const onClosed = (info: { willReconnect: boolean; reason: string }) => {
    if (!info.willReconnect) toasts.show(`Disconnected for good: ${info.reason}`, 'error', 30_000)
  }
  // This device's copy was damaged (it digested differently from the server's at the same state):
  // the handle deleted it, and the view opens the document again, from the server.
  const onDiverged = () => {
    toasts.show("This device's copy of the document was damaged; it has been reloaded from the server.", 'error', 30_000)
    window.dispatchEvent(new HashChangeEvent('hashchange'))
  }
  handle.on('notice', onNotice)
  handle.on('error', onError)
  handle.on('closed', onClosed)
  handle.on('diverged', onDiverged)
  disposables.add(() => {
    handle.off('notice', onNotice)
    handle.off('error', onError)
    handle.off('closed', onClosed)
    handle.off('diverged', onDiverged)
  })

  const readOnly = session.role === 'viewer'
  let serverStateKnown = false
  // Registered before any form: the `status` listeners forms add read it already updated.
  const onSynced = (status: string) => {
    if (status === 'synced') serverStateKnown = true
  }
  handle.on('status', onSynced)
  disposables.add(() => handle.off('status', onSynced))
  let customers: ReadonlyArray<{ id: string; name: string }> = catalog
    .entries()
    .filter((entry) => entry.type === 'customer')
    .map((entry) => ({ id: entry.id, name: entry.title }))
  let customersListed = false
  const customerListeners = new Set<() => void>()
  const context: EditorContext = {
    readOnly,
    disposables,
    actor: { userId: session.userId, role: session.role, tenant: session.tenant, legal: session.legal },
    awareness: handle.awareness,
    customers: () => customers,
    serverState: {
      known: () => serverStateKnown || handle.status === 'offline',
      subscribe: (listener) => {
        handle.on('status', listener)
        return () => handle.off('status', listener)
      },
    },
    // Before the server's list arrived (or offline) the rules are not second-guessed: the server decides.
    customerExists: (customerId) => !customersListed || customers.some((customer) => customer.id === customerId),
    onCustomersChanged: (listener) => {
      customerListeners.add(listener)
      disposables.add(() => customerListeners.delete(listener))
    },
  }

  let unavailable = false
  const indicator = saveIndicator(handle, disposables, {
    refused: ledger.get(handle.name)?.refused !== undefined,
    unavailable: () => unavailable,
    unsavedChanges: () => (handle.saved ? 0 : (ledger.get(handle.name)?.changes ?? 0)),
  })
  // Named before the document has loaded: an empty heading is announced as nothing.
  const heading = h('h1', { class: 'document-title' }, `${type} ${id}`)
  const form = h('div', { class: 'form-slot', 'aria-busy': 'true' }, h('p', {}, 'Opening…'))
  const element = h(
    'article',
    { class: 'editor', 'data-document': handle.name },
    h(
      'header',
      { class: 'editor-header' },
      h('a', { href: '#/', class: 'back' }, '← Documents'),
      heading,
      h('a', { href: `#/doc/${type}/${id}/history`, class: 'history-link' }, 'History'),
      indicator,
      presenceList(handle.awareness, disposables),
    ),
    readOnly ? h('p', { class: 'read-only-banner', role: 'note' }, 'Read-only: you are signed in as a viewer.') : null,
    form,
  )

  // Concurrent overwrites of this user's values, on their fields until dismissed.
  const conflicts = fieldConflicts(handle, type, form, { getToken: tokenSource(session), onError: (message) => toasts.show(message, 'error'), disposables })

  const model = handle.model as DocumentModel
  const showTitle = () => {
    const title = titleOf(model) || `${type} ${id}`
    heading.textContent = title
    document.title = `${title} — PosalPro`
    catalog.remember({ type, id, title: titleOf(model) })
  }
  handle.doc.on('update', showTitle)
  disposables.add(() => handle.doc.off('update', showTitle))
  catalog.opened(type, id)

  // The form is built once the local copy is in the doc, so it opens with content, offline too.
  const buildForm = () => {
    showTitle()
    form.replaceChildren(formFor(model, context))
    notes.place(form)
    form.removeAttribute('aria-busy')
    conflicts.refresh()
    if (type === 'proposal') void loadCustomers()
  }
  // A document this device never held (nothing in the local store) is shown once the server's copy
  // is in: an empty form would invite edits over values not seen yet — for legal content before the
  // editor knows it must be read-only. Offline it says it is not available instead of showing an
  // empty form as if it were saved.
  const waitForServerCopy = () => {
    const describeWait = () => {
      unavailable = handle.status === 'offline'
      form.replaceChildren(
        unavailable
          ? h('p', { class: 'error', role: 'alert' }, 'Not available offline: this document was never opened or kept on this device. It opens as soon as the server can be reached.')
          : h('p', {}, 'Opening…'),
      )
      indicator.dispatchEvent(new Event('posalpro:refresh'))
    }
    handle.on('status', describeWait)
    disposables.add(() => handle.off('status', describeWait))
    // Named by its id until its title arrives; not remembered in the catalog, which lists what this device holds.
    heading.textContent = `${type} ${id}`
    describeWait()
    handle.whenSynced().then(
      () => {
        handle.off('status', describeWait)
        unavailable = false
        indicator.dispatchEvent(new Event('posalpro:refresh'))
        buildForm()
      },
      () => {}, // destroyed first: the view is gone
    )
  }
  void handle.whenLoaded().then(
    () => {
      if (handle.doc.isDestroyed) return
      if (handle.doc.store.clients.size === 0 && handle.status !== 'synced') waitForServerCopy()
      else buildForm()
    },
    (error: Error) => {
      form.replaceChildren(h('p', { class: 'error' }, `This device could not open its copy: ${error.message}`))
    },
  )
  const loadCustomers = async () => {
    try {
      const listed = await fetchDocumentList(await tokenSource(session)(), { type: 'customer' })
      customers = listed.map((doc) => ({ id: doc.id, name: doc.title || catalog.titleOf('customer', doc.id) }))
      customersListed = true
      form.querySelector<HTMLSelectElement>('select[name=customerId]')?.dispatchEvent(new Event('posalpro:refresh'))
      for (const listener of customerListeners) listener()
    } catch {
      // Offline: the customers this device knows are offered; whether another exists is unknown
      // now (it may have been made since), so the rules' customer check is left to the server.
      if (!customersListed) return
      customersListed = false
      for (const listener of customerListeners) listener()
    }
  }
  // A customer this list does not have was picked (someone made it since): the list is stale.
  if (type === 'proposal') {
    const meta = handle.doc.getMap('meta')
    const onCustomerPicked = (event: Y.YMapEvent<unknown>) => {
      const picked = meta.get('customerId')
      if (!event.keysChanged.has('customerId') || typeof picked !== 'string' || customers.some((customer) => customer.id === picked)) return
      void loadCustomers()
    }
    meta.observe(onCustomerPicked)
    disposables.add(() => meta.unobserve(onCustomerPicked))
  }
  return { element, dispose: disposables.dispose }
}

const formFor = (model: DocumentModel, context: EditorContext): HTMLElement => {
  switch (model.type) {
    case 'proposal':
      return proposalForm(model, context)
    case 'customer':
      return customerForm(model, context)
    case 'content':
      return contentForm(model, context)
  }
}
