import type { IncomingMessage, ServerResponse } from 'node:http'
import { devTokenRequest, isAuthError, issueDevToken } from '../auth/index.ts'
import { handleAdminRequest, type AdminContext } from '../admin/adminApi.ts'
import { sendError, sendJson } from './httpReply.ts'
import { answerDocumentList, isDocumentListRoute, type DocumentListContext } from './documentListApi.ts'
import { answerOperations, OPERATIONS_PATH, type OperationsContext } from './operationsApi.ts'
import { isAppPath, serveAppFile } from './staticApp.ts'
import type { TokenVerifier } from '../auth/index.ts'
import { answerNotifications, NOTIFICATIONS_PATH } from '../notifications/notificationsApi.ts'
import type { NotificationStore } from '../notifications/notificationStore.ts'
import { answerConflictDismissal, isConflictDismissal, type ConflictDismissalContext } from './conflictDismissal.ts'
import { requestUrl } from './requestTarget.ts'
import { isCollabError } from '../../shared/errors.ts'
import { answerReviews, REVIEWS_PATH, type ReviewsApiContext } from './reviewsApi.ts'
import { answerHistory, isHistoryPath, type HistoryApiContext } from './historyApi.ts'

export interface HttpContext {
  /** True once the store is open and the server listens; false again while shutting down. */
  readonly ready: () => boolean
  readonly stats: () => Record<string, number>
  /** Set in dev mode only: the secret `/dev/token` signs with. */
  readonly devSecret: Uint8Array | null
  readonly admin: AdminContext
  /** The documents' conflict records, for their dismissal by the user whose value was replaced. */
  readonly conflicts: ConflictDismissalContext
  /** The app's review inbox and "my pending changes" (`/api/reviews`). */
  readonly reviews: ReviewsApiContext
  /** Documents' version history and restore (`/api/documents/:type/:id/history…`). */
  readonly history: HistoryApiContext
  readonly verifier: TokenVerifier
  /** The document list and its actions (`/api/documents`). */
  readonly documents: DocumentListContext
  /** The operations view's samples (`/api/operations`, admins). */
  readonly operations: OperationsContext
  /** The users' lasting notifications (`/api/notifications`). */
  readonly notifications: NotificationStore
  /** The built demo app's directory (served at `/`). */
  readonly appDir: string
  /** Serve `/app.js.map` (off by default: debugging only). */
  readonly serveSourceMaps: boolean
  readonly metrics: {
    /** When set, `/metrics` needs `Authorization: Bearer <token>`. */
    readonly token: string
    readonly render: () => Promise<{ contentType: string; body: string }>
  }
}

/**
 * Plain HTTP routes. `/healthz` says the process is alive (for restarts); `/readyz` says it can
 * take connections (for load balancers: false before the store is open and during shutdown).
 */
export const handleHttpRequest = (request: IncomingMessage, response: ServerResponse, context: HttpContext): void => {
  let url: URL
  try {
    url = requestUrl(request)
  } catch (error) {
    if (!isCollabError(error)) throw error
    sendError(response, error)
    return
  }
  const { pathname } = url
  // An async route that threw something unexpected: the connection is dropped, never left hanging.
  const fail = (error: unknown) => response.destroy(error instanceof Error ? error : new Error(String(error)))
  if (pathname.startsWith('/admin/')) {
    handleAdminRequest(request, response, context.admin).catch(fail)
    return
  }
  if (pathname === NOTIFICATIONS_PATH || pathname.startsWith(`${NOTIFICATIONS_PATH}/`)) {
    answerNotifications(request, response, context).catch(fail)
    return
  }
  if (isConflictDismissal(pathname)) {
    answerConflictDismissal(request, response, context.conflicts).catch(fail)
    return
  }
  if (pathname === REVIEWS_PATH || pathname.startsWith(`${REVIEWS_PATH}/`)) {
    answerReviews(request, response, context.reviews).catch(fail)
    return
  }
  if (isHistoryPath(pathname)) {
    answerHistory(request, response, context.history).catch(fail)
    return
  }
  if (isDocumentListRoute(pathname)) {
    answerDocumentList(request, response, context.documents).catch(fail)
    return
  }
  if (pathname === OPERATIONS_PATH) {
    answerOperations(request, response, context.operations).catch(fail)
    return
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    sendJson(response, 405, { error: { code: 'ERR_METHOD_NOT_ALLOWED', message: `${request.method} is not allowed` } })
    return
  }
  if (isAppPath(pathname, context.serveSourceMaps)) {
    serveAppFile(request, response, context, pathname).catch(fail)
    return
  }
  switch (pathname) {
    case '/healthz':
      sendJson(response, 200, { status: 'ok' })
      return
    case '/readyz':
      if (context.ready()) sendJson(response, 200, { status: 'ready', ...context.stats() })
      else sendJson(response, 503, { status: 'not-ready' })
      return
    case '/metrics':
      void answerMetrics(request, response, context.metrics)
      return
    case '/dev/token':
      // Exists only in dev mode: anyone reaching it may become anyone.
      if (context.devSecret) {
        void answerDevToken(response, context.devSecret, url)
        return
      }
      break
  }
  sendJson(response, 404, { error: { code: 'ERR_NOT_FOUND', message: `no route ${pathname}` } })
}

/** Prometheus text format; behind a bearer token when one is configured. */
const answerMetrics = async (request: IncomingMessage, response: ServerResponse, metrics: HttpContext['metrics']): Promise<void> => {
  if (metrics.token && request.headers.authorization !== `Bearer ${metrics.token}`) {
    sendJson(response, 401, { error: { code: 'ERR_METRICS_TOKEN', message: 'metrics need Authorization: Bearer <metrics token>' } })
    return
  }
  const { contentType, body } = await metrics.render()
  response.writeHead(200, { 'content-type': contentType })
  response.end(body)
}

/** `GET /dev/token?user=…&role=…&tenant=…[&name=…&legal=true&device=…&amr=pwd,otp&ttl=…]` → `{token, identity}`. */
const answerDevToken = async (response: ServerResponse, secret: Uint8Array, url: URL): Promise<void> => {
  try {
    sendJson(response, 200, await issueDevToken(secret, devTokenRequest(url)))
  } catch (error) {
    if (!isAuthError(error)) throw error
    sendError(response, error)
  }
}
