import type { IncomingMessage, ServerResponse } from 'node:http'
import { parseDocumentName } from '../../shared/documentName.ts'
import { CollabError, ErrorCode, isCollabError } from '../../shared/errors.ts'
import { verifyBearer, type TokenVerifier } from '../auth/index.ts'
import type { DocumentSource } from '../admin/documentSource.ts'
import type { ForwardToOwner } from '../cluster/adminForwarding.ts'
import { readableVersion, versionAt, versionDifferences } from '../history/documentVersion.ts'
import { restoreThroughGate } from '../history/restoreThroughGate.ts'
import { DEFAULT_PAGE_EVENTS, MAX_PAGE_EVENTS, timelinePage } from '../history/timelinePage.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import type { RoomRegistry } from '../rooms/roomRegistry.ts'
import { sendError, sendJson } from './httpReply.ts'
import { boundedInteger, readJsonObject } from './requestBody.ts'

export interface HistoryApiContext {
  readonly verifier: TokenVerifier
  readonly store: DocumentStorage
  readonly rooms: RoomRegistry
  /** The document as it is now (a live one from its room). */
  readonly documents: DocumentSource
  /** Cluster mode: a restore of a document another node owns is sent to that node. */
  readonly forward?: ForwardToOwner
}

const ROUTE = /^\/api\/documents\/([^/]+)\/([^/]+)\/history(?:\/(\d{1,10})(?:\/(diff|restore))?)?$/

/** Is this a history route (`/api/documents/:type/:id/history…`)? */
export const isHistoryPath = (pathname: string): boolean => ROUTE.test(pathname)

/**
 * A document's version history (`Authorization: Bearer <token>`, the token's tenant):
 *
 *   GET  …/history[?before=&limit=]   a page of the timeline, newest first (every role: who may open
 *                                     a document may read how it came to be)
 *   GET  …/history/:seq               the document as of that event, every field readable
 *   GET  …/history/:seq/diff          what differs between that version and now (rich text as a diff)
 *   POST …/history/:seq/restore       restore that version as the caller's own edit through the gate
 *                                     (managers and admins; 403 ERR_RESTORE_NOT_ALLOWED otherwise)
 */
export const answerHistory = async (request: IncomingMessage, response: ServerResponse, context: HistoryApiContext): Promise<void> => {
  try {
    const identity = await verifyBearer(request.headers, context.verifier)
    const url = new URL(request.url ?? '/', 'http://localhost')
    const [, type = '', id = '', seqText, action] = ROUTE.exec(url.pathname) ?? []
    const document = parseDocumentName(`${decodeURIComponent(type)}/${decodeURIComponent(id)}`)
    const storageName = `${identity.tenant}/${document.name}`
    const method = request.method ?? 'GET'
    const seq = seqText === undefined ? null : Number(seqText)
    if (seq !== null && seq < 1) throw new CollabError(ErrorCode.BadRequest, 'event numbers start at 1')
    if (method === 'GET' && seq === null) {
      const beforeSeq = url.searchParams.has('before') ? boundedInteger(url, 'before', 0, 1, 0xffffffff) : null
      const limit = boundedInteger(url, 'limit', DEFAULT_PAGE_EVENTS, 1, MAX_PAGE_EVENTS)
      return sendJson(response, 200, await timelinePage(context.store, storageName, { before: beforeSeq, limit }))
    }
    if (method === 'GET' && seq !== null && action === undefined) {
      const { doc, event, through } = await versionAt(context.store, storageName, seq)
      try {
        return sendJson(response, 200, { document: document.name, seq, through, at: event?.at ?? null, fields: readableVersion(doc, document.type) })
      } finally {
        doc.destroy()
      }
    }
    if (method === 'GET' && seq !== null && action === 'diff') {
      const { doc, through } = await versionAt(context.store, storageName, seq)
      try {
        const then = readableVersion(doc, document.type)
        const now = await context.documents.read(identity.tenant, document, (current) => readableVersion(current, document.type))
        return sendJson(response, 200, { document: document.name, seq, through, differences: versionDifferences(then, now) })
      } finally {
        doc.destroy()
      }
    }
    if (method === 'POST' && seq !== null && action === 'restore') {
      const { text } = await readJsonObject(request)
      if (context.forward && (await context.forward(storageName, request, response, text))) return
      return sendJson(response, 200, await restoreThroughGate(context, identity, document, seq))
    }
    sendJson(response, 405, { error: { code: 'ERR_METHOD_NOT_ALLOWED', message: `${method} ${url.pathname} is not allowed` } })
  } catch (error) {
    if (!isCollabError(error)) throw error
    sendError(response, error)
  }
}
