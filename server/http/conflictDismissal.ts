import type { IncomingMessage, ServerResponse } from 'node:http'
import { parseDocumentName, type DocumentName } from '../../shared/documentName.ts'
import type { ConflictRecord } from '../../shared/conflictRecord.ts'
import { CollabError, ErrorCode, isCollabError } from '../../shared/errors.ts'
import { verifyBearer, type TokenVerifier } from '../auth/index.ts'
import { showOpenConflicts } from '../gate/conflictNotices.ts'
import { sendError, sendJson } from './httpReply.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import type { RoomRegistry } from '../rooms/roomRegistry.ts'
import type { ForwardToOwner } from '../cluster/adminForwarding.ts'

export interface ConflictDismissalContext {
  readonly verifier: TokenVerifier
  readonly store: DocumentStorage
  readonly rooms: RoomRegistry
  /** Cluster mode: the dismissal of a conflict of a document another node owns is sent to that node. */
  readonly forward?: ForwardToOwner
}

const ROUTE = /^\/api\/documents\/([^/]+)\/([^/]+)\/conflicts\/([^/]+)\/dismiss$/

/** Is this the dismissal route (`POST /api/documents/:type/:id/conflicts/:conflictId/dismiss`)? */
export const isConflictDismissal = (pathname: string): boolean => ROUTE.test(pathname)

/**
 * The person whose value was replaced in a conflict dismisses it (Keep theirs, or Use mine once
 * their value is written again): stored, so it is not shown again on any device, and the list of
 * their open conflicts is sent again to their connections on the document. Only they may: another
 * user gets 403 `ERR_CONFLICT_NOT_YOURS`; an id the document does not have 404
 * `ERR_CONFLICT_NOT_FOUND`. Dismissing twice is no error.
 */
export const answerConflictDismissal = async (request: IncomingMessage, response: ServerResponse, context: ConflictDismissalContext): Promise<void> => {
  try {
    if (request.method !== 'POST') throw new CollabError(ErrorCode.BadRequest, 'dismiss a conflict with POST')
    const identity = await verifyBearer(request.headers, context.verifier)
    const [, type = '', id = '', conflictId = ''] = ROUTE.exec(new URL(request.url ?? '/', 'http://localhost').pathname) ?? []
    const document = parseDocumentName(`${decodeURIComponent(type)}/${decodeURIComponent(id)}`)
    const storageName = `${identity.tenant}/${document.name}`
    if (context.forward && (await context.forward(storageName, request, response, ''))) return
    const wanted = decodeURIComponent(conflictId)
    const conflict = (await context.store.listConflicts(storageName)).find((candidate) => candidate.id === wanted)
    if (!conflict) throw new CollabError(ErrorCode.ConflictNotFound, `${document.name} has no conflict ${wanted.slice(0, 40)}`)
    if (conflict.rule !== 'timestamp-wins' || conflict.loser.userId !== identity.userId) {
      throw new CollabError(ErrorCode.ConflictNotYours, 'only the person whose value was replaced can dismiss this conflict')
    }
    const dismissed = conflict.dismissed ?? { at: Date.now() }
    if (!conflict.dismissed) await storeDismissal(context, identity.tenant, document, [{ ...conflict, dismissed }])
    const room = context.rooms.find(identity.tenant, document.name)
    if (room) {
      room.conflictsChanged()
      void showOpenConflicts(room, [...room.peers].filter((peer) => peer.identity.userId === identity.userId))
    }
    sendJson(response, 200, { conflict: { ...conflict, dismissed } })
  } catch (error) {
    if (!isCollabError(error)) throw error
    sendError(response, error)
  }
}

/** Cluster mode writes only through the owner's room: opening it here takes the document's lease (nobody else owns it). */
const storeDismissal = async (context: ConflictDismissalContext, tenant: string, document: DocumentName, conflicts: ConflictRecord[]): Promise<void> => {
  const storageName = `${tenant}/${document.name}`
  if (!context.forward) return context.store.appendBatch(storageName, { update: null, conflicts })
  const room = await context.rooms.open(tenant, document)
  try {
    await context.store.appendBatch(storageName, { update: null, conflicts })
  } finally {
    context.rooms.release(room)
  }
}
