import type { IncomingMessage, ServerResponse } from 'node:http'
import { parseDocumentName } from '../../shared/documentName.ts'
import { CollabError, ErrorCode, isCollabError } from '../../shared/errors.ts'
import type { AdminOperations } from './adminOperations.ts'
import type { KeyAdministration } from './keyAdministration.ts'
import { hasRole, verifyBearer, type Identity, type TokenVerifier } from '../auth/index.ts'
import { sendError, sendJson } from '../http/httpReply.ts'
import type { ForwardToOwner } from '../cluster/adminForwarding.ts'
import type { BackgroundVerifier } from '../integrity/backgroundVerifier.ts'
import { sendBackup, type TenantBackup } from '../backup/backupRoute.ts'
import { NODE_AUTH_HEADER } from '../cluster/nodeAuth.ts'
import { withRefusedIdentity } from '../auth/refusedIdentity.ts'
import type { AdminCallAudit, AuditTrail } from '../audit/auditTrail.ts'
import { reportTime, type AuditReport, type ReportQuery } from '../audit/auditReport.ts'

export interface AdminContext {
  readonly verifier: TokenVerifier
  /** The admin operations on the running server's documents (the CLI runs the same ones offline). */
  readonly operations: AdminOperations
  /** Cluster mode: a change to a document another node owns is sent to that node; absent on one node. */
  readonly forward?: ForwardToOwner
  /** Key rotation and re-encryption of the admin's tenant (encryption at rest). */
  readonly keys?: KeyAdministration
  /** What the background verifier found in this node's walk of the stored documents. */
  readonly integrity?: BackgroundVerifier
  /** A consistent backup of the admin's tenant, streamed (LevelDB store only). */
  readonly backup?: TenantBackup
  /** Counts documents a verify found a problem in (an alert fires on any). */
  readonly integrityProblems?: { inc(): void }
  /** The access audit: every call is recorded; the report route reads it. */
  readonly audit?: AdminAudit
}

export interface AdminAudit {
  readonly trail: AuditTrail
  report(tenant: string, query: ReportQuery): Promise<AuditReport>
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
 *   POST /admin/keys/rotate                     a new data key for the tenant: new records use it at once
 *   POST /admin/keys/re-encrypt                 start (or resume) rewriting the tenant's older records → progress
 *   GET  /admin/keys/re-encrypt                 the pass's progress: scanned, total, rewritten, done
 *   GET  /admin/keys/status                     the tenant's data key ids, the master key's rotation (fingerprints), the pass
 *   POST /admin/keys/master-key/reload          as SIGHUP: re-read the master key file, re-wrap under its first key
 *   GET  /admin/integrity                       the background verifier: passes, last pass, documents with problems
 *   GET  /admin/backup                          a backup of the tenant's records as of the request (a file, not JSON)
 *   GET  /admin/audit/report?from=&to=[&user=]  the access audit report of the period (ISO times)
 *
 * Errors are `{"error": {"code", "message"}}` with 400/401/403/404/409. This file only reads
 * requests and writes answers; what each route does is in AdminOperations. In cluster mode every
 * node answers every route: reads come from the shared store, and a change (POST) to a document
 * another node owns is forwarded to that node, which applies it in its room's order.
 * Every call is recorded in the access audit (refused: its token is not an admin's), once: a call
 * forwarded to the owner is recorded by the node the admin reached.
 */
export const handleAdminRequest = async (request: IncomingMessage, response: ServerResponse, context: AdminContext): Promise<void> => {
  const audited = context.audit?.trail.adminCall(request)
  try {
    await handleAdminCall(request, response, context, audited)
  } catch (error) {
    audited?.failed(error)
    throw error
  } finally {
    audited?.end()
  }
}

const handleAdminCall = async (request: IncomingMessage, response: ServerResponse, context: AdminContext, audited: AdminCallAudit | undefined): Promise<void> => {
  try {
    const admin = await authenticateAdmin(request, context.verifier)
    audited?.admitted(admin)
    const { operations } = context
    const tenant = admin.tenant
    const url = new URL(request.url ?? '/', 'http://localhost')
    const parts = url.pathname.split('/').filter(Boolean).slice(1) // drop "admin"
    const method = request.method ?? 'GET'
    const body = method === 'POST' ? await readBody(request) : ''
    if (method === 'POST' && context.forward) {
      const changed = await changedDocument(parts, tenant, operations)
      if (changed && (await context.forward(`${tenant}/${changed}`, request, response, body))) return
      // Handled here although a node signed it (forward verified that): the node the admin reached recorded it.
      if (changed && request.headers[NODE_AUTH_HEADER] !== undefined) audited?.forwardedByNode()
    }
    if (parts[0] === 'audit' && parts[1] === 'report' && parts.length === 2 && method === 'GET' && context.audit) {
      return sendJson(response, 200, await context.audit.report(tenant, reportQuery(url)))
    }
    if (parts[0] === 'reviews') {
      if (method === 'GET' && parts.length === 1) {
        return sendJson(response, 200, { reviews: await operations.listReviews(tenant, url.searchParams.get('status') ?? undefined) })
      }
      const id = parts[1] ?? ''
      if (method === 'GET' && parts.length === 2) return sendJson(response, 200, await operations.getReview(tenant, id))
      if (method === 'POST' && parts.length === 3 && parts[2] === 'approve') {
        return sendJson(response, 200, await operations.decideReview(admin, id, { kind: 'approve' }))
      }
      if (method === 'POST' && parts.length === 3 && parts[2] === 'reject') {
        const { reason: given } = parseJson(body)
        const reason = typeof given === 'string' ? given : ''
        return sendJson(response, 200, await operations.decideReview(admin, id, { kind: 'reject', reason }))
      }
    }
    if (parts[0] === 'keys' && context.keys) {
      if (method === 'POST' && parts[1] === 'rotate') return sendJson(response, 200, await context.keys.rotate(tenant))
      if (method === 'POST' && parts[1] === 're-encrypt') return sendJson(response, 202, context.keys.startReencryption(tenant))
      if (method === 'GET' && parts[1] === 're-encrypt') return sendJson(response, 200, context.keys.status(tenant) ?? { tenant, running: false, done: false, scanned: 0, total: 0, rewritten: 0, error: null })
      if (method === 'GET' && parts[1] === 'status') return sendJson(response, 200, await context.keys.keyStatus(tenant))
      if (method === 'POST' && parts[1] === 'master-key' && parts[2] === 'reload') return sendJson(response, 200, await context.keys.reloadMasterKey())
    }
    if (parts[0] === 'backup' && parts.length === 1 && method === 'GET') return await sendBackup(response, tenant, context.backup)
    if (parts[0] === 'docs' && parts.length === 1 && method === 'GET') {
      return sendJson(response, 200, { documents: await operations.listDocuments(tenant, url.searchParams.get('type') ?? undefined) })
    }
    if (parts[0] === 'integrity' && parts.length === 1 && method === 'GET' && context.integrity) {
      return sendJson(response, 200, context.integrity.report(tenant))
    }
    if (parts[0] === 'clients' && parts.length === 1 && method === 'GET') {
      return sendJson(response, 200, { clients: operations.clients(tenant) })
    }
    if (parts[0] === 'docs' && (parts.length === 3 || parts.length === 4)) {
      const document = parseDocumentName(`${parts[1]}/${parts[2]}`)
      const action = `${method} ${parts[3] ?? ''}`
      switch (action) {
        case 'GET ': { // the document itself: /admin/docs/:type/:id
          const shown = await operations.showDocument(tenant, document)
          return sendJson(response, 200, { ...shown, update: base64(shown.update) })
        }
        case 'POST revert': {
          const { seq } = parseJson(body)
          if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 1) throw new CollabError(ErrorCode.BadRequest, 'body must be {"seq": <event number>}')
          return sendJson(response, 200, await operations.revert(admin, document, seq))
        }
        case 'POST import': {
          const { update } = parseJson(body)
          if (typeof update !== 'string') throw new CollabError(ErrorCode.BadRequest, 'body must be {"update": "<base64 Yjs update>"}')
          return sendJson(response, 200, await operations.importUpdate(admin, document, new Uint8Array(Buffer.from(update, 'base64'))))
        }
        case 'POST compact':
          return sendJson(response, 200, await operations.compact(tenant, document))
        case 'GET verify': {
          const report = await operations.verify(tenant, document)
          if (!report.ok) context.integrityProblems?.inc()
          return sendJson(response, 200, report)
        }
        case 'GET conflicts':
          return sendJson(response, 200, { conflicts: await operations.conflicts(tenant, document) })
        case 'GET events': {
          const { base, events } = await operations.events(tenant, document, {
            fromSeq: integerParameter(url, 'from', 1),
            toSeq: integerParameter(url, 'to', 0xffffffff),
            limit: integerParameter(url, 'limit', 1000),
          })
          return sendJson(response, 200, {
            base: base && { seq: base.seq, update: base64(base.update) },
            events: events.map(({ update, ...meta }) => ({ ...meta, update: base64(update) })),
          })
        }
      }
    }
    sendJson(response, 404, { error: { code: 'ERR_NOT_FOUND', message: `no admin route ${method} ${url.pathname}` } })
  } catch (error) {
    if (!isCollabError(error)) throw error
    audited?.failed(error)
    sendError(response, error)
  }
}

/** `from` and `to` (ISO 8601, required) and `user` of the report route. */
const reportQuery = (url: URL): ReportQuery => ({
  from: reportTime('from', url.searchParams.get('from')),
  to: reportTime('to', url.searchParams.get('to')),
  user: url.searchParams.get('user'),
})
const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')

const integerParameter = (url: URL, name: string, fallback: number): number => {
  const raw = url.searchParams.get(name)
  if (raw === null) return fallback
  if (!/^\d+$/.test(raw)) throw new CollabError(ErrorCode.BadRequest, `${name} must be a non-negative integer`)
  return Number(raw)
}

const authenticateAdmin = async (request: IncomingMessage, verifier: TokenVerifier): Promise<Identity> => {
  const identity = await verifyBearer(request.headers, verifier)
  if (!hasRole(identity, 'admin')) throw withRefusedIdentity(new CollabError(ErrorCode.AdminOnly, `the admin API needs the admin role; you are ${identity.role}`), identity)
  return identity
}

/** The document (`<type>/<id>`) a POST route changes, or null when it changes none. */
const changedDocument = async (parts: readonly string[], tenant: string, operations: AdminOperations): Promise<string | null> => {
  if (parts[0] === 'reviews' && parts.length === 3) return (await operations.getReview(tenant, parts[1] ?? '')).document
  if (parts[0] === 'docs' && parts.length === 4) return parseDocumentName(`${parts[1]}/${parts[2]}`).name
  return null
}

const readBody = async (request: IncomingMessage): Promise<string> => {
  let text = ''
  for await (const chunk of request) {
    text += String(chunk)
    if (text.length > 64 * 1024) throw new CollabError(ErrorCode.BadRequest, 'request body too large')
  }
  return text
}

const parseJson = (text: string): Record<string, unknown> => {
  if (text.trim() === '') return {}
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>
  } catch {
    // fall through
  }
  throw new CollabError(ErrorCode.BadRequest, 'the request body must be a JSON object')
}
