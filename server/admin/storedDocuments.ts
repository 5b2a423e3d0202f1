import * as Y from 'yjs'
import type { DocumentName } from '../../shared/documentName.ts'
import { GATE_ORIGIN } from '../gate/compensation.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import type { DocumentSource } from './documentSource.ts'

/**
 * A stopped server's documents, opened from its data directory (the admin CLI offline). A change
 * is made on the stored document and written the way a room writes one: the update it made, the
 * document's state vector and its records in one atomic batch, numbered after the last event.
 * Nobody is connected, so there is nobody to tell.
 */
export const storedDocuments = (store: DocumentStorage): DocumentSource => {
  const load = async (tenant: string, document: DocumentName) => (await store.loadDoc(`${tenant}/${document.name}`)).doc
  return {
    store,
    read: async (tenant, document, read) => {
      const doc = await load(tenant, document)
      try {
        return read(doc)
      } finally {
        doc.destroy()
      }
    },
    compact: async (tenant, document) => {
      await store.compact(`${tenant}/${document.name}`)
    },
    change: async (tenant, document, edit, describe) => {
      const storageName = `${tenant}/${document.name}`
      const doc = await load(tenant, document)
      try {
        // The update as a room captures it: what this transaction changed, in the same encoding.
        let update: Uint8Array | null = null
        const capture = (bytes: Uint8Array, origin: unknown) => {
          if (origin === GATE_ORIGIN) update = bytes
        }
        doc.on('update', capture)
        let result: ReturnType<typeof edit>
        try {
          result = doc.transact(() => edit(doc), GATE_ORIGIN)
        } finally {
          doc.off('update', capture)
        }
        let seq = await store.lastEventSeq(storageName)
        const written: Uint8Array | null = update
        await store.appendBatch(storageName, {
          update: written,
          ...(written ? { stateVector: Y.encodeStateVector(doc) } : {}),
          ...describe({ update: written ?? new Uint8Array(), nextSeq: () => ++seq }, result),
        })
        return result
      } finally {
        doc.destroy()
      }
    },
    connections: () => 0,
    clients: () => [],
    tell: () => {},
  }
}
