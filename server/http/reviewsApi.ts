import type { IncomingMessage, ServerResponse } from 'node:http'
import { isDocumentType } from '../../shared/documentName.ts'
import { CollabError, ErrorCode, isCollabError } from '../../shared/errors.ts'
import { verifyBearer, type Identity, type TokenVerifier } from '../auth/index.ts'
import type { AdminOperations } from '../admin/adminOperations.ts'
import type { DocumentSource } from '../admin/documentSource.ts'
import type { ForwardToOwner } from '../cluster/adminForwarding.ts'
import { NODE_AUTH_HEADER } from '../cluster/nodeAuth.ts'
import type { AuditTrail } from '../audit/auditTrail.ts'
import { withRefusedIdentity } from '../auth/refusedIdentity.ts'
import { decidesAnything, mayDecide } from '../reviews/reviewDeciders.ts'
import type { ReviewItem, ReviewStatus } from '../reviews/reviewItem.ts'
import { reviewViews } from '../reviews/reviewView.ts'
import { sendError, sendJson } from './httpReply.ts'
import { boundedInteger, readJsonObject } from './requestBody.ts'

export const REVIEWS_PATH = '/api/reviews'

export interface ReviewsApiContext {
  readonly verifier: TokenVerifier
  /** Decisions are the admin API's own implementation (one per operation). */
  readonly operations: AdminOperations
  /** Where the documents are read for titles and current values. */
  readonly documents: DocumentSource
  /** Cluster mode: a decision on a document another node owns is sent to that node. */
  readonly forward?: ForwardToOwner
  /** The access audit: decisions (not reads) are recorded as the admin route records its calls. */
  readonly audit?: AuditTrail
}

const DECISION = new RegExp(`^${REVIEWS_PATH}/[^/]+/(approve|reject)$`)

/** Items per answer: each one reads its document, so a page stays small. */
const DEFAULT_LIMIT = 50
const MAX_LIMIT = 200
const STATUSES: ReadonlySet<string> = new Set<ReviewStatus>(['pending', 'approved', 'rejected', 'stale'])

/**
 * The app's review API (`Authorization: Bearer <token>`; scoped to the token's tenant):
 *
 *   GET  /api/reviews[?type=&rule=&status=&limit=]  items the caller may decide, newest first (deciders only)
 *   GET  /api/reviews/mine[?status=&limit=]        the caller's own proposals, newest first (any role)
 *   GET  /api/reviews/:id                          one item (its proposer or whoever may decide it)
 *   POST /api/reviews/:id/approve                  → the item, approved (applied everywhere) or stale
 *   POST /api/reviews/:id/reject {reason}          → the item, rejected; the proposer reads the reason
 *
 * Who may decide an item is its rule's matter (reviewDeciders.ts: managers for figures, legal
 * reviewers for legal text, admins for everything); the decision itself is the admin API's
 * (AdminOperations.decideReview), so both answer the same and record the same events.
 * Listed statuses: `pending` unless asked (`all` for every status).
 */
export const answerReviews = async (request: IncomingMessage, response: ServerResponse, context: ReviewsApiContext): Promise<void> => {
  // A decision is the admin operation's: recorded like an admin call (who, route, outcome), once.
  const audited = request.method === 'POST' && DECISION.test(request.url?.split('?')[0] ?? '') ? context.audit?.adminCall(request) : undefined
  try {
    const identity = await verifyBearer(request.headers, context.verifier)
    const url = new URL(request.url ?? '/', 'http://localhost')
    const parts = url.pathname.slice(REVIEWS_PATH.length).split('/').filter(Boolean)
    const method = request.method ?? 'GET'
    if (method === 'GET' && parts.length === 0) return sendJson(response, 200, await inbox(context, identity, url))
    if (method === 'GET' && parts.length === 1 && parts[0] === 'mine') return sendJson(response, 200, await mine(context, identity, url))
    const id = decodeURIComponent(parts[0] ?? '')
    if (method === 'GET' && parts.length === 1) {
      const item = await context.operations.getReview(identity.tenant, id)
      if (item.proposer.userId !== identity.userId && !mayDecide(identity, item)) throw notReviewer(identity, item)
      return sendJson(response, 200, (await reviewViews(context.documents, identity, [item]))[0])
    }
    if (method === 'POST' && parts.length === 2 && (parts[1] === 'approve' || parts[1] === 'reject')) {
      const { text, body } = await readJsonObject(request)
      const item = await context.operations.getReview(identity.tenant, id)
      audited?.about(item.document)
      if (!mayDecide(identity, item)) throw notReviewer(identity, item)
      audited?.admitted(identity)
      if (context.forward && (await context.forward(`${identity.tenant}/${item.document}`, request, response, text))) return
      // Handled here although a node signed it (forward verified that): the node the user reached recorded it.
      if (context.forward && request.headers[NODE_AUTH_HEADER] !== undefined) audited?.forwardedByNode()
      const decided = await context.operations.decideReview(identity, id, parts[1] === 'approve' ? { kind: 'approve' } : { kind: 'reject', reason: typeof body.reason === 'string' ? body.reason : '' })
      return sendJson(response, 200, (await reviewViews(context.documents, identity, [decided]))[0])
    }
    sendJson(response, 405, { error: { code: 'ERR_METHOD_NOT_ALLOWED', message: `${method} ${url.pathname} is not allowed` } })
  } catch (error) {
    audited?.failed(error)
    if (!isCollabError(error)) throw error
    sendError(response, error)
  } finally {
    audited?.end()
  }
}

const inbox = async (context: ReviewsApiContext, identity: Identity, url: URL) => {
  if (!decidesAnything(identity)) {
    throw new CollabError(ErrorCode.NotReviewer, `the review inbox is for managers and admins; you are ${identity.role}`)
  }
  const type = url.searchParams.get('type') ?? ''
  if (type !== '' && !isDocumentType(type)) throw new CollabError(ErrorCode.BadRequest, 'type must be proposal, customer or content')
  const rule = url.searchParams.get('rule') ?? ''
  const wanted = (item: ReviewItem) =>
    mayDecide(identity, item) && (type === '' || item.document.startsWith(`${type}/`)) && (rule === '' || item.ruleId === rule)
  return listed(context, identity, url, wanted)
}

const mine = (context: ReviewsApiContext, identity: Identity, url: URL) =>
  listed(context, identity, url, (item) => item.proposer.userId === identity.userId)

/** Items of the tenant that pass `wanted` and the status asked for, newest first, one page of them. */
const listed = async (context: ReviewsApiContext, identity: Identity, url: URL, wanted: (item: ReviewItem) => boolean) => {
  const status = url.searchParams.get('status') ?? 'pending'
  if (status !== 'all' && !STATUSES.has(status)) throw new CollabError(ErrorCode.BadRequest, 'status must be pending, approved, rejected, stale or all')
  const limit = boundedInteger(url, 'limit', DEFAULT_LIMIT, 1, MAX_LIMIT)
  const all = await context.operations.listReviews(identity.tenant, status === 'all' ? undefined : status)
  const matching = all.filter(wanted).sort((a, b) => latest(b) - latest(a))
  return { reviews: await reviewViews(context.documents, identity, matching.slice(0, limit)), total: matching.length }
}

/** When an item last moved: decided, else last proposed. */
const latest = (item: ReviewItem): number => item.decidedAt ?? item.proposedAt

/** Refuses the (verified) identity: the audit records the refusal under that user. */
const notReviewer = (identity: Identity, item: ReviewItem): CollabError =>
  withRefusedIdentity(new CollabError(ErrorCode.NotReviewer, `you (${identity.role}${identity.legal ? ', legal' : ''}) may not decide ${item.ruleId} items`), identity)
