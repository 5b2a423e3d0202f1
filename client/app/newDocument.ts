import type { DocumentType } from '../../shared/documentName.ts'
import type { DocumentModel } from '../../shared/documentModel.ts'
import { openDocument } from '../browser.ts'
import { trackUnsaved } from '../unsavedLedger.ts'
import type { BackgroundSync } from './backgroundSync.ts'
import { titleOf } from './documentTitle.ts'
import type { LocalCatalog } from './localCatalog.ts'
import { collabUrl } from './serverApi.ts'
import { localNamespace, tokenSource, type Session } from './session.ts'

/**
 * Creates a document on this device and returns its id; the caller then opens it like any other.
 *
 * Creation is the only place initial values are written, and it happens once, here, for an id just
 * minted from 64 random bits: no other device can hold anything under that id, so writing before
 * any server sync cannot overwrite someone's values, and it works offline. The values go into the
 * local store (IndexedDB) before the editor opens, so the link the editor shows is the plain
 * `#/doc/<type>/<id>` — opening it (a reload, someone it was shared with) only ever reads.
 * The local copy reaches the server when the editor opens it, or through the background sync
 * (the ledger counts it from the first value on).
 */
export const createDocument = async (session: Session, type: DocumentType, { catalog, background }: { catalog: LocalCatalog; background: BackgroundSync }): Promise<string> => {
  const id = newId(type)
  const { ledger } = background
  const release = background.hold(`${type}/${id}`)
  // Not connected: the editor opened next does the syncing; this handle only writes locally.
  const handle = openDocument(type, id, { url: collabUrl(), getToken: tokenSource(session), offline: { namespace: localNamespace(session) }, connect: false })
  // Counted as not uploaded from the first value on, in case the editor never gets to open it.
  const untrack = trackUnsaved(handle, ledger)
  try {
    await handle.whenLoaded()
    initialize(handle.model, session)
    catalog.remember({ type, id, title: titleOf(handle.model) })
  } finally {
    untrack()
    // Resolves once the values are stored locally.
    await handle.destroy().finally(release)
  }
  return id
}

/** The first values of a new document, in one transaction; only an empty document gets them. */
const initialize = (model: DocumentModel, session: Session): void => {
  const fields = model.type === 'customer' ? model.fields.ymap : model.meta.ymap
  if (fields.doc!.store.clients.size > 0) return
  fields.doc!.transact(() => {
    switch (model.type) {
      case 'proposal':
        model.title.insert(0, 'Untitled proposal')
        model.meta.set('status', 'draft')
        model.meta.set('ownerId', session.userId)
        model.meta.set('currency', 'EUR')
        return
      case 'customer':
        model.name.insert(0, 'New customer')
        return
      case 'content':
        model.title.insert(0, 'Untitled content')
        model.meta.set('legal', false)
        model.meta.set('locale', 'en')
        return
    }
  })
}

const newId = (type: DocumentType): string => {
  const random = crypto.getRandomValues(new Uint8Array(8))
  return `${type[0]}-${[...random].map((byte) => byte.toString(16).padStart(2, '0')).join('')}`
}
