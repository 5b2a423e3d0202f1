import * as decoding from 'lib0/decoding'
import type { WebSocket } from 'ws'
import * as Y from 'yjs'
import type { DocumentName } from '../../shared/documentName.ts'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { EDITED_AT_ROOT, isTimedField } from '../../shared/editTimes.ts'
import { MESSAGE_EXTENSION, readExtensionMessage, type Notice } from '../../shared/extensionProtocol.ts'
import { hasRole, type Identity } from '../auth/index.ts'
import { revertTo } from '../admin/documentRevert.ts'
import { Peer } from '../connection/peer.ts'
import { acceptUpdate } from '../gate/writePath.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import type { RoomRegistry } from '../rooms/roomRegistry.ts'
import { versionAt } from './documentVersion.ts'

/** What a restore did: the fields it changed and the gate's answer for each it did not keep. */
export interface RestoreResult {
  readonly document: string
  readonly restoredTo: number
  /** `accepted`: every field is back; `partly`: the gate refused or held some; `refused`: all; `unchanged`: nothing differed. */
  readonly outcome: 'accepted' | 'partly' | 'refused' | 'unchanged'
  readonly paths: readonly string[]
  /** The gate's notices for the fields it refused (`rejected`) or held for review (`review`). */
  readonly refused: readonly Notice[]
}

/**
 * *Restore this version*, as the restoring user's own edit through the write path — unlike the
 * admin revert, which the server makes as its own change past the rules. The update that turns the
 * document as it is now into the version is computed on a copy (map fields set back or deleted,
 * free text spliced, rich text rebuilt by identity: documentRevert.ts), each restored field stamped
 * with the time of the restore (it is a new edit, so it wins against older concurrent ones), then
 * handed to the gate exactly as if it had arrived from the user's socket: the rules judge it with
 * the user as actor, refused fields are compensated, held ones become review items of theirs, and
 * the event log records it under their name. Managers and admins only (403 for anyone else).
 */
export const restoreThroughGate = async (
  context: { readonly store: DocumentStorage; readonly rooms: RoomRegistry },
  identity: Identity,
  document: DocumentName,
  seq: number,
): Promise<RestoreResult> => {
  if (!hasRole(identity, 'manager')) throw new CollabError(ErrorCode.RestoreNotAllowed, `restoring a version is for managers and admins; you are ${identity.role}`)
  const storageName = `${identity.tenant}/${document.name}`
  const { doc: version } = await versionAt(context.store, storageName, seq)
  const room = await context.rooms.open(identity.tenant, document)
  const copy = new Y.Doc({ gc: false })
  try {
    if (room.state !== 'ready') throw new CollabError(ErrorCode.ShuttingDown, `${document.name} is ${room.state}; try again`)
    // From here to the gate nothing awaits: no frame of another peer can come in between.
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(room.doc))
    const before = Y.encodeStateVector(copy)
    let paths: string[] = []
    copy.transact(() => {
      paths = revertTo(copy, version, document.type).filter((path) => !path.startsWith(`${EDITED_AT_ROOT}.`))
      const now = Date.now()
      for (const path of paths) if (isTimedField(document.type, path)) copy.getMap<unknown>(EDITED_AT_ROOT).set(path, now)
    })
    if (paths.length === 0) return { document: document.name, restoredTo: seq, outcome: 'unchanged', paths, refused: [] }
    const connection = new GateAnswers()
    const peer = new Peer(connection as unknown as WebSocket, identity, true)
    const error = acceptUpdate(room, peer, Y.encodeStateAsUpdate(copy, before))
    if (error) throw error
    await room.commits.drain()
    const refused = connection.notices.filter((notice) => notice.outcome === 'rejected' || notice.outcome === 'review')
    const refusedPaths = new Set(refused.map((notice) => notice.path))
    const outcome = refused.length === 0 ? 'accepted' : paths.every((path) => refusedPaths.has(path)) ? 'refused' : 'partly'
    return { document: document.name, restoredTo: seq, outcome, paths, refused }
  } finally {
    copy.destroy()
    version.destroy()
    context.rooms.release(room)
  }
}

/**
 * Where the gate's answers to a restore go: the write path talks to a Peer, and a Peer to a socket.
 * This stands in for the restoring user's socket (open, never backed up) and keeps the notices
 * the gate sends; the acknowledgement and the compensation echo it sends too are not needed (the
 * restore's answer waits for the write to be durable, and the user has no replica to repair).
 */
class GateAnswers {
  readonly OPEN = 1
  readonly readyState = 1
  readonly bufferedAmount = 0
  readonly notices: Notice[] = []

  send(message: Uint8Array): void {
    const decoder = decoding.createDecoder(message)
    if (decoding.readVarUint(decoder) !== MESSAGE_EXTENSION) return
    const answer = readExtensionMessage(decoder)
    if (answer?.kind === 'notice') this.notices.push(answer.notice)
  }

  on(): void {}
  close(): void {}
  terminate(): void {}
  ping(): void {}
  pause(): void {}
  resume(): void {}
}
