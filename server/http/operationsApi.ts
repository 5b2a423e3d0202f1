import type { IncomingMessage, ServerResponse } from 'node:http'
import { CollabError, ErrorCode, isCollabError } from '../../shared/errors.ts'
import { hasRole, verifyBearer, type TokenVerifier } from '../auth/index.ts'
import type { OperationsSampler } from '../observability/operationsSampler.ts'
import { sendError, sendJson } from './httpReply.ts'

export interface OperationsContext {
  readonly verifier: TokenVerifier
  readonly sampler: OperationsSampler
}

export const OPERATIONS_PATH = '/api/operations'

/** The conflict rate the team aims to stay under, in % of updates: drawn as the charts' threshold. */
export const CONFLICT_TARGET_PCT = 1

/**
 * `GET /api/operations` (admins): the operations view's samples of this server's own metrics,
 * oldest first (observability/operationsSampler.ts), with the sampling interval and the conflict
 * target. Any other role: 403 `ERR_ADMIN_ONLY`.
 */
export const answerOperations = async (request: IncomingMessage, response: ServerResponse, context: OperationsContext): Promise<void> => {
  try {
    if (request.method !== 'GET' && request.method !== 'HEAD') throw new CollabError(ErrorCode.BadRequest, 'read the operations samples with GET')
    const identity = await verifyBearer(request.headers, context.verifier)
    if (!hasRole(identity, 'admin')) throw new CollabError(ErrorCode.AdminOnly, 'the operations view is for admins')
    sendJson(response, 200, { intervalMs: context.sampler.intervalMs, conflictTargetPct: CONFLICT_TARGET_PCT, samples: context.sampler.samples() })
  } catch (error) {
    if (!isCollabError(error)) throw error
    sendError(response, error)
  }
}
