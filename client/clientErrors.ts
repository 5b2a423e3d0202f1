/**
 * Error codes only the client raises. Like shared/errors.ts: codes for programs, messages for
 * people. (Candidates to move into shared/errors.ts, see the client report.)
 */
export const ClientErrorCode = {
  /** The document handle was destroyed while something still waited on it (whenSynced, whenSaved). */
  HandleDestroyed: 'ERR_HANDLE_DESTROYED',
} as const
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode]

export class ClientError extends Error {
  override readonly name = 'ClientError'
  constructor(
    readonly code: ClientErrorCode,
    message: string,
  ) {
    super(message)
  }
}
