import type { IncomingMessage, ServerResponse } from 'node:http'
import { CollabError, ErrorCode, isCollabError } from '../../shared/errors.ts'
import { verifyBearer, type TokenVerifier } from '../auth/index.ts'
import { sendError, sendJson } from '../http/httpReply.ts'
import { MAX_NOTIFICATIONS_PER_USER } from './notification.ts'
import type { NotificationStore } from './notificationStore.ts'

export const NOTIFICATIONS_PATH = '/api/notifications'

/** A list of ids to mark never needs to be longer than what a user can have. */
const MAX_BODY_BYTES = 16 * 1024

/**
 * The caller's own notifications (`Authorization: Bearer <token>`, any role; scoped to the token's
 * tenant and user, so nobody reads or marks anyone else's):
 *
 *   GET  /api/notifications                          → {notifications (newest first), unread}
 *   POST /api/notifications/read {ids: [...]}|{all: true} → {marked, unread}
 */
export const answerNotifications = async (
  request: IncomingMessage,
  response: ServerResponse,
  context: { readonly verifier: TokenVerifier; readonly notifications: NotificationStore },
): Promise<void> => {
  try {
    const identity = await verifyBearer(request.headers, context.verifier)
    const { tenant, userId } = identity
    const path = new URL(request.url ?? '/', 'http://localhost').pathname
    const method = request.method ?? 'GET'
    if (path === NOTIFICATIONS_PATH && method === 'GET') {
      sendJson(response, 200, await context.notifications.list(tenant, userId))
      return
    }
    if (path === `${NOTIFICATIONS_PATH}/read` && method === 'POST') {
      const marked = await context.notifications.markRead(tenant, userId, await readWhich(request))
      const { unread } = await context.notifications.list(tenant, userId)
      sendJson(response, 200, { marked, unread })
      return
    }
    sendJson(response, 405, { error: { code: 'ERR_METHOD_NOT_ALLOWED', message: `${method} ${path} is not allowed` } })
  } catch (error) {
    if (!isCollabError(error)) throw error
    sendError(response, error)
  }
}

/** `{ids: [string, …]}` or `{all: true}`. */
const readWhich = async (request: IncomingMessage): Promise<readonly string[] | 'all'> => {
  let text = ''
  for await (const chunk of request) {
    text += String(chunk)
    if (text.length > MAX_BODY_BYTES) throw new CollabError(ErrorCode.BadRequest, 'request body too large')
  }
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = null
  }
  if (typeof body === 'object' && body !== null) {
    const { ids, all } = body as { ids?: unknown; all?: unknown }
    if (all === true) return 'all'
    if (Array.isArray(ids) && ids.length <= MAX_NOTIFICATIONS_PER_USER && ids.every((id) => typeof id === 'string')) return ids as string[]
  }
  throw new CollabError(ErrorCode.BadRequest, `the body must be {"ids": [up to ${MAX_NOTIFICATIONS_PER_USER} notification ids]} or {"all": true}`)
}
