import type { IncomingMessage, ServerResponse } from 'node:http'
import { DOCUMENT_TYPES, isDocumentType, parseDocumentName } from '../../shared/documentName.ts'
import { CollabError, ErrorCode, isCollabError } from '../../shared/errors.ts'
import { hasRole, verifyBearer, type Identity, type TokenVerifier } from '../auth/index.ts'
import type { DocumentSource } from '../admin/documentSource.ts'
import type { ForwardToOwner } from '../cluster/adminForwarding.ts'
import type { RoomRegistry } from '../rooms/roomRegistry.ts'
import { setArchived } from '../summaries/archiveDocument.ts'
import { duplicateDocument } from '../summaries/duplicateDocument.ts'
import type { ListedSummary } from '../summaries/summaryIndex.ts'
import { LIST_SORTS, type ListCursor, type ListQuery, type ListSort } from '../summaries/summaryIndex.ts'
import type { SummaryKeeper } from '../summaries/summaryKeeper.ts'
import { sendError, sendJson } from './httpReply.ts'

export interface DocumentListContext {
  readonly verifier: TokenVerifier
  readonly keeper: SummaryKeeper
  /** The running server's documents (archive writes its event through the document's room). */
  readonly source: DocumentSource
  readonly rooms: RoomRegistry
  /** Cluster mode: a change of a document another node owns is sent to that node. */
  readonly forward?: ForwardToOwner
  /** Cluster mode: reads what other nodes stored of the tenant's documents before a list is answered. */
  readonly refresh?: (tenant: string) => Promise<void>
}

export const DOCUMENTS_PATH = '/api/documents'
/** Most documents one page lists. */
export const MAX_LIST_LIMIT = 200
const DEFAULT_LIST_LIMIT = 50
const MAX_QUERY_TEXT = 200
const MAX_CURSOR_LENGTH = 1_024
const ACTION = /^\/api\/documents\/([^/]+)\/([^/]+)\/(archive|unarchive|duplicate)$/

/** Is this the list or one of its actions (the conflict routes under the same prefix are not)? */
export const isDocumentListRoute = (pathname: string): boolean => pathname === DOCUMENTS_PATH || ACTION.test(pathname)

/**
 * The document list, for the app (`Authorization: Bearer <token>`):
 *
 * - `GET /api/documents?q=&type=&status=&owner=&mine=1&archived=1&sort=title|lastChange|value&order=asc|desc&cursor=&limit=`
 *   (any role): a page of the caller's tenant's documents with their summaries, from memory
 *   (summaries/): listing never loads a document. Every user of a tenant may open its documents,
 *   so the list reveals nothing a connection would not.
 * - `POST /api/documents/:type/:id/archive`, `/unarchive` (manager, admin): archiveDocument.ts.
 * - `POST /api/documents/:type/:id/duplicate` (editor and up): duplicateDocument.ts.
 */
export const answerDocumentList = async (request: IncomingMessage, response: ServerResponse, context: DocumentListContext): Promise<void> => {
  try {
    const url = new URL(request.url ?? '/', 'http://localhost')
    const action = ACTION.exec(url.pathname)
    if (!action) {
      if (request.method !== 'GET' && request.method !== 'HEAD') throw new CollabError(ErrorCode.BadRequest, `list documents with GET, not ${request.method}`)
      const identity = await verifyBearer(request.headers, context.verifier)
      await context.refresh?.(identity.tenant)
      const page = context.keeper.index.query(identity.tenant, listQuery(url.searchParams, identity))
      sendJson(response, 200, {
        documents: page.documents.map(listed),
        total: page.total,
        nextCursor: page.next ? encodeCursor(page.next, url.searchParams) : null,
      })
      return
    }
    if (request.method !== 'POST') throw new CollabError(ErrorCode.BadRequest, `${action[3]} a document with POST`)
    const identity = await verifyBearer(request.headers, context.verifier)
    const document = parseDocumentName(`${decodeURIComponent(action[1]!)}/${decodeURIComponent(action[2]!)}`)
    const verb = action[3] as 'archive' | 'unarchive' | 'duplicate'
    if (verb === 'duplicate') {
      if (!hasRole(identity, 'editor')) throw new CollabError(ErrorCode.ReadOnly, 'you have read-only access (viewer): you cannot duplicate documents')
      if (!context.keeper.index.get(identity.tenant, document.name)) throw new CollabError(ErrorCode.DocumentNotFound, `no document ${document.name}`)
      const { name, notices } = await duplicateDocument(context, identity, document)
      const copy = context.keeper.index.get(identity.tenant, name)
      sendJson(response, 201, { document: copy ? listed({ ...copy, customerName: null }) : { name, type: document.type, id: name.split('/')[1] }, notices })
      return
    }
    if (context.forward && hasRole(identity, 'manager') && (await context.forward(`${identity.tenant}/${document.name}`, request, response, ''))) return
    const summary = await setArchived({ source: context.source, keeper: context.keeper }, identity, document, verb === 'archive')
    sendJson(response, 200, { document: listed({ ...summary, customerName: null }) })
  } catch (error) {
    if (!isCollabError(error)) throw error
    sendError(response, error)
  }
}

/** One document as the list answers it (`name`, `type`, `id` as the app has always read them). */
const listed = (summary: ListedSummary) => ({
  name: summary.name,
  type: summary.type,
  id: summary.name.slice(summary.name.indexOf('/') + 1),
  title: summary.title,
  status: summary.status,
  owner: summary.owner,
  customer: summary.customerId === null ? null : { id: summary.customerId, name: summary.customerName },
  value: summary.value,
  currency: summary.currency,
  lastChange: summary.lastChange,
  archived: summary.archived,
})

/** The query's parameters, each bounded; anything else is a 400 `ERR_BAD_REQUEST` naming it. */
const listQuery = (params: URLSearchParams, identity: Identity): ListQuery => {
  const text = (name: string, max: number): string | null => {
    const value = params.get(name)
    if (value === null || value === '') return null
    if (value.length > max) throw bad(`${name} is longer than ${max} characters`)
    return value
  }
  const flag = (name: string): boolean => {
    const value = params.get(name)
    if (value === null || value === '' || value === '0') return false
    if (value === '1') return true
    throw bad(`${name} must be 1 or 0`)
  }
  const type = text('type', 20)
  if (type !== null && !isDocumentType(type)) throw bad(`type must be one of ${DOCUMENT_TYPES.join(', ')}`)
  const sort = (text('sort', 20) ?? 'title') as ListSort
  if (!LIST_SORTS.includes(sort)) throw bad(`sort must be one of ${LIST_SORTS.join(', ')}`)
  const order = text('order', 4) ?? (sort === 'title' ? 'asc' : 'desc')
  if (order !== 'asc' && order !== 'desc') throw bad('order must be asc or desc')
  const limitText = text('limit', 6)
  const limit = limitText === null ? DEFAULT_LIST_LIMIT : Number(limitText)
  if (!/^\d+$/.test(limitText ?? '1') || limit < 1 || limit > MAX_LIST_LIMIT) throw bad(`limit must be an integer from 1 to ${MAX_LIST_LIMIT}`)
  const cursorText = text('cursor', MAX_CURSOR_LENGTH)
  return {
    q: text('q', MAX_QUERY_TEXT) ?? '',
    type,
    status: text('status', 64),
    owner: text('owner', 128),
    mine: flag('mine') ? identity.userId : null,
    archived: flag('archived'),
    sort,
    order,
    cursor: cursorText === null ? null : decodeCursor(cursorText, sort, order),
    limit,
  }
}

/** A cursor is opaque to clients: the sort and order it belongs to, the last key and name. */
const encodeCursor = (cursor: ListCursor, params: URLSearchParams): string => {
  const sort = params.get('sort') || 'title'
  const order = params.get('order') || (sort === 'title' ? 'asc' : 'desc')
  return Buffer.from(JSON.stringify({ s: sort, o: order, k: cursor.key, n: cursor.name })).toString('base64url')
}

const decodeCursor = (text: string, sort: ListSort, order: string): ListCursor => {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
  } catch {
    throw bad('cursor is not one this server gave')
  }
  const { s, o, k, n } = (value ?? {}) as { s?: unknown; o?: unknown; k?: unknown; n?: unknown }
  if (typeof n !== 'string' || (typeof k !== 'string' && typeof k !== 'number')) throw bad('cursor is not one this server gave')
  if (s !== sort || o !== order) throw bad('cursor belongs to another sort or order: start again without it')
  if (sort === 'title' ? typeof k !== 'string' : typeof k !== 'number') throw bad('cursor is not one this server gave')
  return { key: k, name: n }
}

const bad = (message: string) => new CollabError(ErrorCode.BadRequest, message)
