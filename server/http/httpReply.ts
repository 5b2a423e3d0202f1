import type { ServerResponse } from 'node:http'
import { ErrorCode, type CollabError } from '../../shared/errors.ts'

/** The HTTP status every error code answers with, for upgrade refusals and the HTTP APIs alike. */
export const httpStatusFor = (code: string): number => {
  switch (code) {
    case ErrorCode.TokenMissing:
    case ErrorCode.TokenInvalid:
    case ErrorCode.TokenExpired:
    case ErrorCode.TokenClaims:
    case ErrorCode.MfaRequired:
    case ErrorCode.ClientCertMissing:
    case ErrorCode.ClientCertUntrusted:
    case ErrorCode.ClientCertRevoked:
    case ErrorCode.NodeAuthFailed:
      return 401
    case ErrorCode.OriginNotAllowed:
    case ErrorCode.DeviceMismatch:
    case ErrorCode.AdminOnly:
    case ErrorCode.ConflictNotYours:
    case ErrorCode.NotReviewer:
    case ErrorCode.RestoreNotAllowed:
    case ErrorCode.ManagerOnly:
    case ErrorCode.ReadOnly:
      return 403
    case ErrorCode.ReviewNotFound:
    case ErrorCode.ConflictNotFound:
    case ErrorCode.EventNotFound:
    case ErrorCode.DocumentNotFound:
      return 404
    case ErrorCode.ReviewAlreadyDecided:
      return 409
    case ErrorCode.RequestTimeout:
      return 408
    case ErrorCode.HeadersTooLarge:
      return 431
    case ErrorCode.PersistenceFailed:
      return 500
    case ErrorCode.OwnerUnreachable:
      return 502
    case ErrorCode.TooManyPendingConnections:
    case ErrorCode.ShuttingDown:
    case ErrorCode.LeaseUnavailable:
    case ErrorCode.DocumentMoved:
    case ErrorCode.BackupInProgress:
      return 503
    default:
      return 400
  }
}

export const sendJson = (response: ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body)
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  response.end(text)
}

/** `{"error": {"code", "message"}}` with the code's status. */
export const sendError = (response: ServerResponse, error: CollabError): void =>
  sendJson(response, httpStatusFor(error.code), { error: { code: error.code, message: error.message } })
