import { randomUUID } from 'node:crypto'
import * as Y from 'yjs'
import { readTextField, rootNames, textFields, TITLE_FIELD } from '../../shared/documentModel.ts'
import { documentName, type DocumentName, type DocumentType } from '../../shared/documentName.ts'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import type { Notice } from '../../shared/extensionProtocol.ts'
import { restoreRichTextTo, snapshotRichText } from '../gate/richTextRestore.ts'
import { acceptUpdate } from '../gate/writePath.ts'
import type { Identity } from '../auth/index.ts'
import type { DocumentSource } from '../admin/documentSource.ts'
import type { RoomRegistry } from '../rooms/roomRegistry.ts'
import { requestPeer } from './requestPeer.ts'

/** Map roots a copy leaves out: the server writes the edit times anew; approvals belong to the original. */
const NOT_COPIED = new Set(['editedAt', 'approvals'])

/**
 * Duplicates a document under a new id: the copy is made in a fresh Y.Doc (new client id, none of
 * the original's history), titled "Copy of …", a proposal's status back to draft, and written to
 * the new document through the normal write path as the duplicating user — so the rules judge it
 * as that user's edit (a field they may not set is compensated and reported in `notices`) and the
 * event log records it under their name. Resolves once the copy is durable.
 */
export const duplicateDocument = async (
  { source, rooms }: { source: DocumentSource; rooms: RoomRegistry },
  identity: Identity,
  original: DocumentName,
): Promise<{ name: string; notices: Notice[] }> => {
  const update = await source.read(identity.tenant, original, (doc) => copyOf(doc, original.type))
  const copy = documentName(original.type, randomUUID())
  const room = await rooms.open(identity.tenant, copy)
  try {
    const { peer, notices } = requestPeer(identity)
    const refused = acceptUpdate(room, peer, update)
    if (refused) throw refused
    await room.commits.drain()
    // A write that failed closed the room (its peers would have been told 4500): nothing was stored.
    if (room.state === 'closed') throw new CollabError(ErrorCode.PersistenceFailed, `${copy.name} could not be stored`)
    return { name: copy.name, notices: notices() }
  } finally {
    rooms.release(room)
  }
}

/** The content of `doc` as one update of a fresh document. */
const copyOf = (doc: Y.Doc, type: DocumentType): Uint8Array => {
  const copy = new Y.Doc()
  try {
    const { maps, richText } = rootNames(type)
    const fields = textFields(type)
    copy.transact(() => {
      for (const root of maps) {
        if (NOT_COPIED.has(root) || !doc.share.has(root)) continue
        // A free-text field's legacy map key is copied as its text root below.
        const legacy = new Set(fields.filter((field) => field.legacy === root).map((field) => field.name))
        const target = copy.getMap<unknown>(root)
        for (const [key, value] of doc.getMap<unknown>(root).entries()) {
          if (legacy.has(key) || value instanceof Y.AbstractType) continue
          target.set(key, value)
        }
      }
      if (type === 'proposal' && copy.share.has('meta') && copy.getMap('meta').has('status')) copy.getMap('meta').set('status', 'draft')
      for (const field of fields) {
        const text = field.name === TITLE_FIELD[type] ? `Copy of ${readTextField(doc, type, field.name)}`.slice(0, field.max) : readTextField(doc, type, field.name)
        if (text !== '') copy.getText(field.name).insert(0, text)
      }
      for (const root of richText) {
        if (!doc.share.has(root)) continue
        restoreRichTextTo(copy.getXmlFragment(root), snapshotRichText(doc.getXmlFragment(root)).children)
      }
    })
    return Y.encodeStateAsUpdate(copy)
  } finally {
    copy.destroy()
  }
}
