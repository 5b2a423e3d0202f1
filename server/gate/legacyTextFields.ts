import * as Y from 'yjs'
import { textFields } from '../../shared/documentModel.ts'
import type { DocumentType } from '../../shared/documentName.ts'
import type { FieldChange } from '../../shared/rules/ruleTypes.ts'
import { applyTextSplice } from '../../shared/textDiff.ts'
import type { Room } from '../rooms/room.ts'
import { GATE_ORIGIN, SERVER_USER } from './compensation.ts'

/**
 * Free-text fields used to be map values (`meta.title`, `fields.name`, …); they are text roots now
 * (TEXT_ROOTS in shared/schemas.ts). Only the server moves a value over — two clients doing it
 * concurrently would each insert the text, and the field would hold it twice — and it does so as
 * an ordinary change of its own, stored and recorded in the event log like any other, so history,
 * time travel and `docs verify` see it.
 *
 *  - On load: a legacy key that holds a string, with the text root still empty, is moved into the
 *    text root and deleted.
 *  - On write: a client that had not synced since the move (offline, or an older client) writes the
 *    legacy key as before. Once the document has the text root (anyone ever wrote it), the server
 *    folds that write in, in the same step: the text root becomes the value, the key is deleted, so
 *    that edit is kept too. In a document nobody has moved yet the key stays as written (every
 *    reader reads both forms) until the next load moves it.
 */

/** The rule id the event log names these changes with (outcome `admin`, by the server). */
export const LEGACY_TEXT_RULE = 'legacy-text'

/** Moves every legacy value whose text root is empty into it (call inside a transaction). Returns the paths moved. */
export const moveLegacyTextFields = (doc: Y.Doc, type: DocumentType): string[] => {
  const moved: string[] = []
  for (const field of textFields(type)) {
    if (!doc.share.has(field.legacy)) continue
    const map = doc.getMap<unknown>(field.legacy)
    const value = map.get(field.name)
    if (typeof value !== 'string') continue
    if (doc.share.has(field.name) && doc.getText(field.name).length > 0) continue
    if (value !== '') doc.getText(field.name).insert(0, value)
    map.delete(field.name)
    moved.push(`${field.legacy}.${field.name}`)
  }
  return moved
}

/**
 * On load: moves the document's legacy values into their text roots as one server change, stored
 * with its event record and sent to every peer once durable (the peers that asked while the room
 * loaded were answered from the stored state, and get the move like any later change).
 */
export const moveLegacyTextFieldsOnLoad = (room: Room): void => {
  if (!hasLegacyTextFields(room.doc, room.document.type)) return
  let update: Uint8Array | null = null
  const capture = (bytes: Uint8Array, origin: unknown) => {
    if (origin === GATE_ORIGIN) update = bytes
  }
  let paths: string[] = []
  room.doc.on('update', capture)
  try {
    room.doc.transact(() => {
      paths = moveLegacyTextFields(room.doc, room.document.type)
    }, GATE_ORIGIN)
  } finally {
    room.doc.off('update', capture)
  }
  if (update === null) return
  const event = {
    seq: room.nextEventSeq(),
    at: Date.now(),
    userId: SERVER_USER,
    device: null,
    outcome: 'admin' as const,
    applied: true,
    ruleIds: [LEGACY_TEXT_RULE],
    paths: paths.flatMap((path) => [path, path.slice(path.indexOf('.') + 1)]),
    update,
  }
  room.persist({ update, source: null, owners: room.clientOwners.serverClaim(room.doc), events: [event] })
  room.logger.info({ paths }, 'free-text fields moved to their text roots')
}

/** Is there anything for moveLegacyTextFields to do? (Reads only; creates no root.) */
export const hasLegacyTextFields = (doc: Y.Doc, type: DocumentType): boolean =>
  textFields(type).some((field) => {
    if (!doc.share.has(field.legacy) || typeof doc.getMap<unknown>(field.legacy).get(field.name) !== 'string') return false
    return !doc.share.has(field.name) || doc.getText(field.name).length === 0
  })

/**
 * After the gate: folds the update's legacy-key writes of free-text fields the document already has
 * as text roots into them, as one server change. Returns that change and the paths it touched, or
 * null when there was nothing to fold. `refused` are the paths the gate compensated.
 */
export const foldLegacyTextWrites = (
  doc: Y.Doc,
  type: DocumentType,
  changes: readonly FieldChange[],
  refused: ReadonlySet<string>,
): { update: Uint8Array; paths: string[] } | null => {
  const fields = textFields(type)
  const writes = changes.filter((change) => {
    if (change.key === null || change.action === 'delete' || refused.has(change.path)) return false
    const field = fields.find((candidate) => candidate.legacy === change.root && candidate.name === change.key)
    return field !== undefined && doc.share.has(field.name) && doc.getText(field.name)._start !== null
  })
  if (writes.length === 0) return null
  let update: Uint8Array | null = null
  const capture = (bytes: Uint8Array, origin: unknown) => {
    if (origin === GATE_ORIGIN) update = bytes
  }
  doc.on('update', capture)
  try {
    doc.transact(() => {
      for (const write of writes) {
        const map = doc.getMap<unknown>(write.root)
        const value = map.get(write.key!)
        if (typeof value !== 'string') continue
        const text = doc.getText(write.key!)
        applyTextSplice(text, text.toString(), value)
        map.delete(write.key!)
      }
    }, GATE_ORIGIN)
  } finally {
    doc.off('update', capture)
  }
  return update ? { update, paths: writes.flatMap((write) => [write.path, write.key!]) } : null
}
