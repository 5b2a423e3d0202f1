import type { IncomingMessage, ServerResponse } from 'node:http'
import { parseDocumentName, type DocumentName } from '../shared/documentName.ts'
import { documentAsOf } from './persistence/eventLog.ts'
import { revertTo } from './documentRevert.ts'
import { checkUpdateStructure } from './updateGuard.ts'
import { checkNestingDepth } from './gate/nestingDepth.ts'
import * as Y from 'yjs'
import { CollabError, ErrorCode, isCollabError } from '../shared/errors.ts'
import { hasRole, verifyBearer, type Identity, type TokenVerifier } from './auth/index.ts'
import type { DocumentStore } from './persistence/documentStore.ts'
import type { ReviewDecisions } from './reviews/reviewDecisions.ts'
import type { RoomRegistry } from './roomRegistry.ts'
import { documentToJSON } from '../shared/documentModel.ts'
import { listDocuments } from './documentSummaries.ts'
import { verifyDocument } from './documentVerification.ts'
import { sendError, sendJson } from './httpReply.ts'

export interface AdminContext {
  readonly verifier: TokenVerifier
  readonly store: DocumentStore
  readonly reviews: ReviewDecisions
  readonly rooms: RoomRegistry
}

/**
 * The admin HTTP API (`/admin/…`), for the CLI and people with an admin token
 * (`Authorization: Bearer <jwt>`, role admin; everything is scoped to the token's tenant):
 *
 *   GET  /admin/reviews[?status=pending]        review items, oldest first
 *   GET  /admin/reviews/:id                     one item
 *   POST /admin/reviews/:id/approve             → the item, status approved or stale
 *   POST /admin/reviews/:id/reject  {reason}    → the item, status rejected
 *   GET  /admin/docs[?type=]                    documents: size, stored updates, last change, connections
 *   GET  /admin/docs/:type/:id                  the document as plain JSON (every root type)
 *   GET  /admin/docs/:type/:id/events[?from=&to=&limit=]   the event log (update bytes base64) and its
 *                                               retention base (the document as of the last pruned event)
 *   GET  /admin/docs/:type/:id/verify           stored updates decode, the log rebuilds the state, fields valid
 *   POST /admin/docs/:type/:id/revert {seq}     restore the state as of an event, as an audited change
 *   POST /admin/docs/:type/:id/import {update}  merge an exported state (base64) as an audited change
 *   POST /admin/docs/:type/:id/compact          merge the stored updates into one
 *   GET  /admin/clients                         live connections: user, document, since, bytes in/out
 *   GET  /admin/docs/:type/:id/conflicts        concurrent overwrites: field, both users and values, winner
 *
 * Errors are `{"error": {"code", "message"}}` with 400/401/403/404/409.
 */
export const handleAdminRequest = async (request: IncomingMessage, response: ServerResponse, context: AdminContext): Promise<void> => {
  try {
    const admin = await authenticateAdmin(request, context.verifier)
    const url = new URL(request.url ?? '/', 'http://localhost')
    const parts = url.pathname.split('/').filter(Boolean).slice(1) // drop "admin"
    const method = request.method ?? 'GET'
    if (parts[0] === 'reviews') {
      if (method === 'GET' && parts.length === 1) {
        const status = url.searchParams.get('status')
        const items = await context.store.listReviews(admin.tenant)
        return sendJson(response, 200, { reviews: items.filter((item) => !status || item.status === status).sort((a, b) => a.proposedAt - b.proposedAt) })
      }
      const id = parts[1] ?? ''
      if (method === 'GET' && parts.length === 2) {
        const item = await context.store.getReview(admin.tenant, id)
        if (!item) throw new CollabError(ErrorCode.ReviewNotFound, `no review item ${id}`)
        return sendJson(response, 200, item)
      }
      if (method === 'POST' && parts.length === 3 && parts[2] === 'approve') {
        return sendJson(response, 200, await context.reviews.decide(admin, id, { kind: 'approve' }))
      }
      if (method === 'POST' && parts.length === 3 && parts[2] === 'reject') {
        const body = await readJson(request)
        const reason = typeof body.reason === 'string' ? body.reason.slice(0, 500) : ''
        return sendJson(response, 200, await context.reviews.decide(admin, id, { kind: 'reject', reason }))
      }
    }
    if (parts[0] === 'docs' && parts.length === 1 && method === 'GET') {
      const type = url.searchParams.get('type')
      const summaries = await listDocuments(context.store, admin.tenant, (name) => context.rooms.find(admin.tenant, name)?.peers.size ?? 0)
      return sendJson(response, 200, { documents: summaries.filter((doc) => !type || doc.type === type) })
    }
    if (parts[0] === 'docs' && parts.length === 3 && method === 'GET') {
      const document = parseDocumentName(`${parts[1]}/${parts[2]}`)
      const storageName = `${admin.tenant}/${document.name}`
      const live = context.rooms.find(admin.tenant, document.name)
      const doc = live && live.state === 'ready' ? live.doc : (await context.store.loadDoc(storageName)).doc
      return sendJson(response, 200, {
        name: document.name,
        content: documentToJSON(document.type, doc),
        update: Buffer.from(Y.encodeStateAsUpdate(doc)).toString('base64'),
      })
    }
    if (parts[0] === 'clients' && parts.length === 1 && method === 'GET') {
      const clients = []
      for (const room of context.rooms.all()) {
        if (room.tenant !== admin.tenant) continue
        for (const peer of room.peers) {
          clients.push({
            user: peer.identity.userId,
            role: peer.identity.role,
            device: peer.identity.device,
            tenant: room.tenant,
            document: room.document.name,
            since: peer.connectedAt,
            bytesIn: peer.bytesIn,
            bytesOut: peer.bytesOut,
          })
        }
      }
      return sendJson(response, 200, { clients })
    }
    if (parts[0] === 'docs' && parts.length === 4 && parts[3] === 'revert' && method === 'POST') {
      const document = parseDocumentName(`${parts[1]}/${parts[2]}`)
      const { seq } = await readJson(request)
      if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 1) throw new CollabError(ErrorCode.BadRequest, 'body must be {"seq": <event number>}')
      return sendJson(response, 200, await revertDocument(context, admin, document, seq))
    }
    if (parts[0] === 'docs' && parts.length === 4 && parts[3] === 'import' && method === 'POST') {
      const document = parseDocumentName(`${parts[1]}/${parts[2]}`)
      const { update } = await readJson(request)
      if (typeof update !== 'string') throw new CollabError(ErrorCode.BadRequest, 'body must be {"update": "<base64 Yjs update>"}')
      return sendJson(response, 200, await importDocument(context, admin, document, new Uint8Array(Buffer.from(update, 'base64'))))
    }
    if (parts[0] === 'docs' && parts.length === 4 && parts[3] === 'compact' && method === 'POST') {
      const document = parseDocumentName(`${parts[1]}/${parts[2]}`)
      await context.store.compact(`${admin.tenant}/${document.name}`)
      return sendJson(response, 200, { document: document.name, compacted: true })
    }
    if (parts[0] === 'docs' && parts.length === 4 && parts[3] === 'verify' && method === 'GET') {
      const document = parseDocumentName(`${parts[1]}/${parts[2]}`)
      return sendJson(response, 200, await verifyDocument(context.store, admin.tenant, document.type, document.name))
    }
    if (parts[0] === 'docs' && parts.length === 4 && parts[3] === 'conflicts' && method === 'GET') {
      const document = parseDocumentName(`${parts[1]}/${parts[2]}`)
      return sendJson(response, 200, { conflicts: await context.store.listConflicts(`${admin.tenant}/${document.name}`) })
    }
    if (parts[0] === 'docs' && parts.length === 4 && parts[3] === 'events' && method === 'GET') {
      const document = parseDocumentName(`${parts[1]}/${parts[2]}`)
      const number = (name: string, fallback: number) => {
        const raw = url.searchParams.get(name)
        if (raw === null) return fallback
        if (!/^\d+$/.test(raw)) throw new CollabError(ErrorCode.BadRequest, `${name} must be a non-negative integer`)
        return Number(raw)
      }
      const storageName = `${admin.tenant}/${document.name}`
      const base = await context.store.eventBase(storageName)
      const events = await context.store.readEvents(storageName, {
        fromSeq: number('from', 1),
        toSeq: number('to', 0xffffffff),
        limit: number('limit', 1000),
      })
      return sendJson(response, 200, {
        base: base && { seq: base.seq, update: Buffer.from(base.update).toString('base64') },
        events: events.map(({ update, ...meta }) => ({ ...meta, update: Buffer.from(update).toString('base64') })),
      })
    }
    sendJson(response, 404, { error: { code: 'ERR_NOT_FOUND', message: `no admin route ${method} ${url.pathname}` } })
  } catch (error) {
    if (!isCollabError(error)) throw error
    sendError(response, error)
  }
}

/**
 * Restores the state as of event `seq` as a new audited server change (outcome `admin`, rule
 * `revert`): every connected client receives it live, and history is kept, not rewritten.
 */
const revertDocument = async (context: AdminContext, admin: Identity, document: DocumentName, seq: number) => {
  const storageName = `${admin.tenant}/${document.name}`
  const room = await context.rooms.open(admin.tenant, document)
  try {
    const [base, events] = await Promise.all([context.store.eventBase(storageName), context.store.readEvents(storageName, { toSeq: seq })])
    const last = events.at(-1)?.seq ?? base?.seq ?? 0
    if (last !== seq) throw new CollabError(ErrorCode.BadRequest, `${document.name} has no event ${seq} in its retained history`)
    const target = documentAsOf(base, events, seq)
    let paths: string[] = []
    await room.applyServerChange(
      (doc) => {
        paths = revertTo(doc, target, document.type)
      },
      (update) => ({
        events: [
          { seq: room.nextEventSeq(), at: Date.now(), userId: admin.userId, device: admin.device, outcome: 'admin', ruleIds: ['revert'], paths, update, applied: true },
        ],
        reviews: [],
      }),
    )
    return { document: document.name, revertedTo: seq, paths }
  } finally {
    context.rooms.release(room)
  }
}

/** Merges an exported Yjs state into a document as an audited admin change (structure-checked first). */
const importDocument = async (context: AdminContext, admin: Identity, document: DocumentName, update: Uint8Array) => {
  const check = checkUpdateStructure(update)
  if (!check.ok) throw new CollabError(check.code, check.message)
  const room = await context.rooms.open(admin.tenant, document)
  try {
    // An export is nested no deeper than peers may nest (a tree too deep overflows every walker).
    const tooDeep = checkNestingDepth(room.doc, update, room.maxRichTextDepth)
    if (tooDeep) throw tooDeep
    await room.applyServerChange(
      (doc) => Y.applyUpdate(doc, update),
      (merged) => ({
        events: [
          { seq: room.nextEventSeq(), at: Date.now(), userId: admin.userId, device: admin.device, outcome: 'admin', ruleIds: ['import'], paths: [], update: merged, applied: true },
        ],
        reviews: [],
      }),
    )
    return { document: document.name, imported: true, content: documentToJSON(document.type, room.doc) }
  } finally {
    context.rooms.release(room)
  }
}

const authenticateAdmin = async (request: IncomingMessage, verifier: TokenVerifier): Promise<Identity> => {
  const identity = await verifyBearer(request.headers, verifier)
  if (!hasRole(identity, 'admin')) throw new CollabError(ErrorCode.AdminOnly, `the admin API needs the admin role; you are ${identity.role}`)
  return identity
}

const readJson = async (request: IncomingMessage): Promise<Record<string, unknown>> => {
  let text = ''
  for await (const chunk of request) {
    text += String(chunk)
    if (text.length > 64 * 1024) throw new CollabError(ErrorCode.BadRequest, 'request body too large')
  }
  if (text.trim() === '') return {}
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>
  } catch {
    // fall through
  }
  throw new CollabError(ErrorCode.BadRequest, 'the request body must be a JSON object')
}
