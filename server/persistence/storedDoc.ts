import * as Y from 'yjs'
import { checkStoredUpdateStructure } from '../protocol/updateGuard.ts'
import { CollabError, ErrorCode } from '../../shared/errors.ts'

/**
 * The server's docs carry a fixed guid: Yjs would otherwise make a random UUID per doc, 30 calls to
 * the crypto RNG — 5 % of the CPU of opening a new document. The guid only names subdocuments,
 * which these documents do not have.
 */
export const SERVER_DOC_OPTIONS = { gc: true, guid: 'posalpro-server-doc' } as const

/** A damaged stored update fails the load with a clear error (run the admin CLI's verify). */
export const checkStoredUpdates = (storageName: string, updates: readonly Uint8Array[]): void => {
  updates.forEach((update, index) => {
    const check = checkStoredUpdateStructure(update)
    if (!check.ok) {
      throw new CollabError(
        ErrorCode.PersistenceFailed,
        `stored update #${index} of ${storageName} is damaged (${check.code}); run posalpro-admin docs verify`,
      )
    }
  })
}

/** A document from its stored (checked) updates. */
export const buildDoc = (updates: readonly Uint8Array[]): Y.Doc => {
  const doc = new Y.Doc(SERVER_DOC_OPTIONS)
  doc.transact(() => {
    for (const update of updates) Y.applyUpdate(doc, update)
  })
  return doc
}
