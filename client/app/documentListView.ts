import { DOCUMENT_TYPES, type DocumentType } from '../../shared/documentName.ts'
import { PROPOSAL_STATUSES } from '../../shared/schemas.ts'
import { prefetch } from '../browser.ts'
import type { UnsavedEntry } from '../unsavedLedger.ts'
import type { BackgroundSync } from './backgroundSync.ts'
import type { DocumentModel } from '../../shared/documentModel.ts'
import { h } from './dom.ts'
import { titleOf } from './documentTitle.ts'
import { createDocument } from './newDocument.ts'
import type { LocalCatalog } from './localCatalog.ts'
import { collabUrl, documentAction, fetchDocumentPage, type DocumentQuery, type ListedDocument } from './serverApi.ts'
import { localNamespace, tokenSource, type Session } from './session.ts'
import type { Toasts } from './toasts.ts'

const TYPE_LABELS: Record<DocumentType, string> = { proposal: 'Proposal', customer: 'Customer', content: 'Content' }
const NEW_LABELS: Record<DocumentType, string> = { proposal: 'New proposal', customer: 'New customer', content: 'New content' }
const PAGE_SIZE = 50
/** "Keep all on this device" fetches at most this many documents' names (pages of 200). */
const KEEP_ALL_MAX = 2_000
/** Typing in the search box asks the server once the typing pauses this long. */
const SEARCH_PAUSE_MS = 250

/** A row of the list: the server's summary, or (offline, or not uploaded yet) what this device knows. */
type Row = Pick<ListedDocument, 'type' | 'id' | 'title'> & Partial<Omit<ListedDocument, 'type' | 'id' | 'title'>>

/**
 * The tenant's documents from the server's summaries (also those never opened on this device):
 * title, type, status, owner, customer, value, last change; a search box, filters (type, status,
 * owner, mine, archived), a sort, and "Load more" pages. Documents recently opened on this device
 * come first. Managers archive and bring back, editors duplicate. Offline: the documents kept on
 * this device, as before.
 */
export const documentListView = (
  session: Session,
  { toasts, catalog, background }: { toasts: Toasts; catalog: LocalCatalog; background: BackgroundSync },
): { element: HTMLElement; dispose: () => void } => {
  const { ledger } = background
  const token = tokenSource(session)
  const mayArchive = session.role === 'manager' || session.role === 'admin'
  const mayEdit = session.role !== 'viewer'
  const lists = h('div', { class: 'document-lists', 'aria-busy': 'true' })
  const source = h('p', { class: 'hint', role: 'status' })
  const keep = h('button', { type: 'button', class: 'secondary' }, 'Keep all on this device')
  const newButtons = DOCUMENT_TYPES.map((type) => {
    const button = h('button', { type: 'button', 'data-new': type, disabled: !mayEdit }, NEW_LABELS[type])
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

  // The filters, one form; every change asks the server for the first page again.
  const search = h('input', { type: 'search', id: 'list-search', name: 'q', maxlength: 200, autocomplete: 'off' })
  const typeFilter = h(
    'select',
    { id: 'list-type', name: 'type' },
    h('option', { value: '' }, 'All types'),
    ...DOCUMENT_TYPES.map((type) => h('option', { value: type }, TYPE_LABELS[type])),
  )
  const statusFilter = h(
    'select',
    { id: 'list-status', name: 'status' },
    h('option', { value: '' }, 'Any status'),
    ...PROPOSAL_STATUSES.map((status) => h('option', { value: status }, statusLabel(status))),
  )
  const ownerFilter = h('input', { type: 'text', id: 'list-owner', name: 'owner', maxlength: 128, autocomplete: 'off' })
  const mine = h('input', { type: 'checkbox', id: 'list-mine', name: 'mine' })
  const archived = h('input', { type: 'checkbox', id: 'list-archived', name: 'archived' })
  const sort = h(
    'select',
    { id: 'list-sort', name: 'sort' },
    h('option', { value: 'title' }, 'Title'),
    h('option', { value: 'lastChange' }, 'Last change'),
    h('option', { value: 'value' }, 'Value'),
  )
  const field = (label: string, control: HTMLElement, extra = '') => h('div', { class: `field ${extra}`.trim() }, h('label', { for: control.id }, label), control)
  const filters = h(
    'form',
    { class: 'list-filters', role: 'search', 'aria-label': 'Find documents' },
    field('Search', search),
    field('Type', typeFilter),
    field('Status', statusFilter),
    field('Owner', ownerFilter),
    field('Sort by', sort),
    h('div', { class: 'field field-checkbox' }, mine, h('label', { for: mine.id }, 'Only mine')),
    h('div', { class: 'field field-checkbox' }, archived, h('label', { for: archived.id }, 'Show archived')),
  )
  filters.addEventListener('submit', (event) => event.preventDefault())
  const loadMore = h('button', { type: 'button', class: 'secondary load-more', hidden: true }, 'Load more')

  let rows: Row[] = []
  let recent: Row[] = []
  let total = 0
  let nextCursor: string | null = null
  let online = true
  /** Only the answer to the latest request is shown (a slower earlier one is dropped). */
  let generation = 0

  const query = (cursor: string | null): DocumentQuery => ({
    q: search.value.trim(),
    type: typeFilter.value as DocumentType | '',
    status: statusFilter.value,
    owner: ownerFilter.value.trim(),
    mine: mine.checked,
    archived: archived.checked,
    sort: sort.value as DocumentQuery['sort'],
    cursor,
    limit: PAGE_SIZE,
  })
  const filtered = () => query(null).q !== '' || typeFilter.value !== '' || statusFilter.value !== '' || ownerFilter.value.trim() !== '' || mine.checked || archived.checked

  /** A recent row links with `data-recent`, so `data-document` names one link per document. */
  const row = (doc: Row, unsaved: Map<string, UnsavedEntry>, isRecent = false): HTMLElement => {
    const name = `${doc.type}/${doc.id}`
    const title = doc.title || catalog.titleOf(doc.type, doc.id) || doc.id
    const details = [
      TYPE_LABELS[doc.type],
      doc.status ? statusLabel(doc.status) : null,
      doc.owner ? `owner ${doc.owner}` : null,
      doc.customer ? `customer ${doc.customer.name || doc.customer.id}` : null,
      doc.value !== null && doc.value !== undefined ? formatValue(doc.value, doc.currency ?? null) : null,
      doc.lastChange ? `changed ${new Date(doc.lastChange.at).toLocaleString()} by ${doc.lastChange.userId}` : null,
    ].filter((part): part is string => part !== null)
    const actions: HTMLElement[] = []
    const linkId = `doc-link-${doc.type}-${doc.id}`
    if (online && !isRecent && doc.lastChange !== undefined) {
      if (mayEdit) actions.push(actionButton('Duplicate', linkId, () => duplicate(name)))
      if (mayArchive) actions.push(doc.archived ? actionButton('Unarchive', linkId, () => setArchived(name, false)) : actionButton('Archive', linkId, () => setArchived(name, true)))
    }
    return h(
      'li',
      { 'data-row': name },
      h(
        'div',
        { class: 'document-main' },
        h('a', { href: `#/doc/${name}`, [isRecent ? 'data-recent' : 'data-document']: name, ...(isRecent ? {} : { id: linkId }) }, title),
        h('span', { class: 'document-details' }, details.join(' · ')),
      ),
      uploadMark(unsaved.get(name)),
      actions.length > 0 ? h('div', { class: 'row-actions' }, ...actions) : null,
    )
  }

  const render = () => {
    const unsaved = ledger.entries()
    const sections: HTMLElement[] = []
    if (recent.length > 0) {
      sections.push(
        h(
          'section',
          { 'aria-labelledby': 'list-recent' },
          h('h2', { id: 'list-recent' }, 'Recently opened on this device'),
          h('ul', { class: 'documents recent' }, ...recent.map((doc) => row(doc, unsaved, true))),
        ),
      )
    }
    const heading = online ? (archived.checked ? 'Archived documents' : 'All documents') : 'Kept on this device'
    sections.push(
      h(
        'section',
        { 'aria-labelledby': 'list-all' },
        h('h2', { id: 'list-all' }, heading),
        online ? h('p', { class: 'hint list-count' }, `${total} ${total === 1 ? 'document' : 'documents'}`) : null,
        rows.length === 0 ? h('p', { class: 'empty' }, filtered() ? 'No documents match.' : 'None yet.') : h('ul', { class: 'documents all' }, ...rows.map((doc) => row(doc, unsaved))),
      ),
    )
    loadMore.hidden = !online || nextCursor === null
    lists.replaceChildren(...sections, loadMore)
    lists.removeAttribute('aria-busy')
  }

  const localRows = (): Row[] => catalog.entries().map(({ type, id, title }) => ({ type, id, title }))

  /** The first page for the filters as they are now (offline: this device's documents). */
  const load = async () => {
    const asked = ++generation
    try {
      const page = await fetchDocumentPage(await token(), query(null))
      if (asked !== generation) return
      online = true
      total = page.total
      nextCursor = page.nextCursor
      rows = page.documents
      if (!filtered()) {
        // Documents made on this device and not yet on the server are listed too.
        const listed = new Set(rows.map((doc) => `${doc.type}/${doc.id}`))
        const waiting = ledger.entries()
        rows = [...rows, ...localRows().filter((doc) => !listed.has(`${doc.type}/${doc.id}`) && waiting.has(`${doc.type}/${doc.id}`))]
      }
      recent = filtered() ? [] : await recentRows()
      source.textContent = ''
    } catch {
      if (asked !== generation) return
      online = false
      rows = localRows()
      recent = []
      nextCursor = null
      source.textContent = 'Offline — showing the documents kept on this device.'
    }
    render()
  }

  /** The recently opened documents, with their summaries when the server has them (one small request). */
  const recentRows = async (): Promise<Row[]> => {
    const wanted = catalog.recent()
    if (wanted.length === 0) return []
    const found = new Map(rows.map((doc) => [`${doc.type}/${doc.id}`, doc]))
    return wanted.map(({ type, id }) => found.get(`${type}/${id}`) ?? { type, id, title: catalog.titleOf(type, id) })
  }

  loadMore.addEventListener('click', () => {
    const cursor = nextCursor
    if (!cursor) return
    loadMore.disabled = true
    const asked = generation
    void (async () => {
      try {
        const page = await fetchDocumentPage(await token(), query(cursor))
        if (asked !== generation) return
        rows = [...rows, ...page.documents]
        nextCursor = page.nextCursor
        total = page.total
        render()
      } catch (error) {
        toasts.show(`More documents could not be loaded: ${(error as Error).message}`, 'error')
      } finally {
        loadMore.disabled = false
      }
    })()
  })

  let searchTimer: ReturnType<typeof setTimeout> | null = null
  const reload = () => {
    if (searchTimer) clearTimeout(searchTimer)
    searchTimer = setTimeout(() => void load(), SEARCH_PAUSE_MS)
  }
  search.addEventListener('input', reload)
  ownerFilter.addEventListener('input', reload)
  for (const control of [typeFilter, statusFilter, sort, mine, archived]) control.addEventListener('change', () => void load())

  const setArchived = async (name: string, archive: boolean) => {
    try {
      await documentAction(await token(), name, archive ? 'archive' : 'unarchive')
      toasts.show(archive ? 'Archived: it is listed under "Archived" now.' : 'Brought back from the archive.')
      await load()
    } catch (error) {
      toasts.show(`${archive ? 'Archiving' : 'Bringing it back'} failed: ${(error as Error).message}`, 'error')
    }
  }
  const duplicate = async (name: string) => {
    try {
      const { document: copy, notices } = await documentAction(await token(), name, 'duplicate')
      const held = notices.length > 0 ? ` Not copied as it was: ${notices.map((notice) => notice.message).join('; ')}.` : ''
      toasts.show(`Duplicated as "${copy.title}".${held}`)
      await load()
    } catch (error) {
      toasts.show(`Duplicating failed: ${(error as Error).message}`, 'error')
    }
  }

  keep.addEventListener('click', () => {
    keep.disabled = true
    void (async () => {
      // Every document of the tenant (not only the pages shown), or this device's offline.
      let targets: Array<{ type: DocumentType; id: string }> = rows.map(({ type, id }) => ({ type, id }))
      if (online) {
        try {
          const all: Array<{ type: DocumentType; id: string }> = []
          let cursor: string | null = null
          do {
            const page = await fetchDocumentPage(await token(), { limit: 200, cursor })
            all.push(...page.documents.map(({ type, id }) => ({ type, id })))
            cursor = page.nextCursor
          } while (cursor && all.length < KEEP_ALL_MAX)
          targets = all
        } catch {
          // Offline meanwhile: what is listed.
        }
      }
      const results = await prefetch(
        targets,
        { url: collabUrl(), getToken: token, offline: { namespace: localNamespace(session) } },
        {
          onProgress: (done, count) => (keep.textContent = `Keeping… ${done}/${count}`),
          // Kept documents are listed offline too, with their titles.
          onFetched: (handle) => catalog.remember({ type: handle.type, id: handle.id, title: titleOf(handle.model as DocumentModel) }),
        },
      )
      const failed = results.filter((result) => !result.ok)
      keep.disabled = false
      keep.textContent = 'Keep all on this device'
      render()
      if (failed.length === 0) toasts.show(`${results.length} documents are kept on this device for offline work.`)
      else toasts.show(`${failed.length} of ${results.length} documents could not be kept: ${failed[0]!.error?.message ?? ''}`, 'error')
    })()
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
    filters,
    source,
    lists,
  )
  return {
    element,
    dispose: () => {
      if (searchTimer) clearTimeout(searchTimer)
      generation++
      ledger.off('change', onLedgerChange)
    },
  }
}

/**
 * A row's action: its word is its name; the document's link describes it (`aria-describedby`), so
 * a screen reader says which document, and no title a user typed becomes part of a button's name.
 */
const actionButton = (label: string, describedBy: string, run: () => Promise<void>): HTMLElement => {
  const button = h('button', { type: 'button', class: 'secondary small', 'aria-describedby': describedBy }, label)
  button.addEventListener('click', () => {
    button.disabled = true
    void run().finally(() => {
      button.disabled = false
    })
  })
  return button
}

const statusLabel = (status: string): string => status.replace(/_/g, ' ').replace(/^./, (first) => first.toUpperCase())

const formatValue = (value: number, currency: string | null): string => {
  try {
    if (currency) return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(value)
  } catch {
    // A currency code Intl does not know: the number and the code.
    return `${value.toLocaleString()} ${currency}`
  }
  return value.toLocaleString()
}

/** A document whose changes are only on this device says so; one the server refused says why. */
const uploadMark = (entry: UnsavedEntry | undefined): HTMLElement | null => {
  if (!entry) return null
  if (entry.refused) return h('span', { class: 'not-uploaded refused', title: entry.refused }, 'Not uploaded: refused by the server')
  return h('span', { class: 'not-uploaded', title: `${entry.changes} ${entry.changes === 1 ? 'change' : 'changes'} only on this device` }, 'Not uploaded yet')
}
