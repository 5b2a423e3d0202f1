import { DOCUMENT_TYPES, type DocumentType } from '../../shared/documentName.ts'
import { prefetch } from '../browser.ts'
import type { DocumentModel } from '../../shared/documentModel.ts'
import { h } from './dom.ts'
import { titleOf } from './documentTitle.ts'
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
  { toasts, catalog }: { toasts: Toasts; catalog: LocalCatalog },
): { element: HTMLElement; dispose: () => void } => {
  const lists = h('div', { class: 'document-lists', 'aria-busy': 'true' })
  const source = h('p', { class: 'hint', role: 'status' })
  const keep = h('button', { type: 'button', class: 'secondary' }, 'Keep all on this device')
  const newButtons = DOCUMENT_TYPES.map((type) => {
    const button = h('button', { type: 'button', 'data-new': type, disabled: session.role === 'viewer' }, NEW_LABELS[type])
    button.addEventListener('click', () => {
      location.hash = `#/doc/${type}/${newId(type)}?new=1`
    })
    return button
  })
  let known: Array<{ type: DocumentType; id: string }> = []
  const render = () => {
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
                  h('li', {}, h('a', { href: `#/doc/${doc.type}/${doc.id}`, 'data-document': `${doc.type}/${doc.id}` }, catalog.titleOf(doc.type, doc.id) || doc.id), h('span', { class: 'document-id' }, doc.id)),
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
  const element = h(
    'section',
    { class: 'document-list' },
    h('h1', {}, 'Documents'),
    h('div', { class: 'list-actions' }, ...newButtons, keep),
    source,
    lists,
  )
  return { element, dispose: () => {} }
}

const newId = (type: DocumentType): string => {
  const random = crypto.getRandomValues(new Uint8Array(6))
  return `${type[0]}-${[...random].map((byte) => byte.toString(36).padStart(2, '0')).join('').slice(0, 10)}`
}
