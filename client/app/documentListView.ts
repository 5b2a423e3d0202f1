import { DOCUMENT_TYPES, type DocumentType } from '../../shared/documentName.ts'
import { prefetch } from '../browser.ts'
import type { UnsavedEntry } from '../unsavedLedger.ts'
import type { BackgroundSync } from './backgroundSync.ts'
import type { DocumentModel } from '../../shared/documentModel.ts'
import { h } from './dom.ts'
import { titleOf } from './documentTitle.ts'
import { createDocument } from './newDocument.ts'
import type { LocalCatalog } from './localCatalog.ts'
import { collabUrl, fetchDocumentList } from './serverApi.ts'
import { localNamespace, tokenSource, type Session } from './session.ts'
import type { Toasts } from './toasts.ts'

const TYPE_LABELS: Record<DocumentType, string> = { proposal: 'Proposals', customer: 'Customers', content: 'Content' }
const NEW_LABELS: Record<DocumentType, string> = { proposal: 'New proposal', customer: 'New customer', content: 'New content' }

/**
 * The tenant's documents (from the server; offline, the ones this device knows), grouped by type,
 * with "new" buttons and "Keep on this device" (prefetch into IndexedDB for travel).
 */
export const documentListView = (
  session: Session,
  { toasts, catalog, background }: { toasts: Toasts; catalog: LocalCatalog; background: BackgroundSync },
): { element: HTMLElement; dispose: () => void } => {
  const { ledger } = background
  const lists = h('div', { class: 'document-lists', 'aria-busy': 'true' })
  const source = h('p', { class: 'hint', role: 'status' })
  const keep = h('button', { type: 'button', class: 'secondary' }, 'Keep all on this device')
  const newButtons = DOCUMENT_TYPES.map((type) => {
    const button = h('button', { type: 'button', 'data-new': type, disabled: session.role === 'viewer' }, NEW_LABELS[type])
    button.addEventListener('click', () => {
      button.disabled = true
      createDocument(session, type, { catalog, background }).then(
        (id) => {
          location.hash = `#/doc/${type}/${id}`
        },
        (error: Error) => {
          button.disabled = false
          toasts.show(`The new document could not be stored on this device: ${error.message}`, 'error')
        },
      )
    })
    return button
  })
  let known: Array<{ type: DocumentType; id: string }> = []
  const render = () => {
    const unsaved = ledger.entries()
    lists.replaceChildren(
      ...DOCUMENT_TYPES.map((type) => {
        const ofType = known.filter((doc) => doc.type === type)
        return h(
          'section',
          { 'aria-labelledby': `list-${type}` },
          h('h2', { id: `list-${type}` }, TYPE_LABELS[type]),
          ofType.length === 0
            ? h('p', { class: 'empty' }, 'None yet.')
            : h(
                'ul',
                { class: 'documents' },
                ...ofType.map((doc) =>
                  h(
                    'li',
                    {},
                    h('a', { href: `#/doc/${doc.type}/${doc.id}`, 'data-document': `${doc.type}/${doc.id}` }, catalog.titleOf(doc.type, doc.id) || doc.id),
                    uploadMark(unsaved.get(`${doc.type}/${doc.id}`)),
                    h('span', { class: 'document-id' }, doc.id),
                  ),
                ),
              ),
        )
      }),
    )
    lists.removeAttribute('aria-busy')
  }
  const load = async () => {
    const local = catalog.entries().map(({ type, id }) => ({ type, id }))
    try {
      const listed = await fetchDocumentList(await tokenSource(session)())
      const names = new Set(listed.map((doc) => doc.name))
      // Documents made on this device and not yet on the server are listed too.
      known = [...listed.map(({ type, id }) => ({ type, id })), ...local.filter((doc) => !names.has(`${doc.type}/${doc.id}`))]
      source.textContent = ''
    } catch {
      known = local
      source.textContent = 'Offline — showing the documents kept on this device.'
    }
    render()
  }
  keep.addEventListener('click', () => {
    keep.disabled = true
    const targets = known.map(({ type, id }) => ({ type, id }))
    void prefetch(
      targets,
      { url: collabUrl(), getToken: tokenSource(session), offline: { namespace: localNamespace(session) } },
      {
        onProgress: (done, total) => (keep.textContent = `Keeping… ${done}/${total}`),
        // Kept documents are listed offline too, with their titles.
        onFetched: (handle) => catalog.remember({ type: handle.type, id: handle.id, title: titleOf(handle.model as DocumentModel) }),
      },
    ).then((results) => {
      const failed = results.filter((result) => !result.ok)
      keep.disabled = false
      keep.textContent = 'Keep all on this device'
      render()
      if (failed.length === 0) toasts.show(`${results.length} documents are kept on this device for offline work.`)
      else toasts.show(`${failed.length} of ${results.length} documents could not be kept: ${failed[0]!.error?.message ?? ''}`, 'error')
    })
  })
  void load()
  // The marks follow the background sync as it uploads.
  const onLedgerChange = () => {
    if (!lists.hasAttribute('aria-busy')) render()
  }
  ledger.on('change', onLedgerChange)
  const element = h(
    'section',
    { class: 'document-list' },
    h('h1', {}, 'Documents'),
    h('div', { class: 'list-actions' }, ...newButtons, keep),
    source,
    lists,
  )
  return { element, dispose: () => ledger.off('change', onLedgerChange) }
}

/** A document whose changes are only on this device says so; one the server refused says why. */
const uploadMark = (entry: UnsavedEntry | undefined): HTMLElement | null => {
  if (!entry) return null
  if (entry.refused) return h('span', { class: 'not-uploaded refused', title: entry.refused }, 'Not uploaded: refused by the server')
  return h('span', { class: 'not-uploaded', title: `${entry.changes} ${entry.changes === 1 ? 'change' : 'changes'} only on this device` }, 'Not uploaded yet')
}
