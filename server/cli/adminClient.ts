import { CLI_COMMAND_HEADER } from '../audit/auditTrail.ts'

/**
 * The admin HTTP API as the CLI sees it: one authenticated JSON request at a time. Errors become
 * an AdminApiError carrying the HTTP status and the server's stable error code.
 */
export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export interface AdminClient {
  request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>
}

/**
 * `command`: the CLI command being run (`review approve`), sent in a header so the server's access
 * audit records the call as the CLI's (a label only: the server trusts it for nothing else).
 */
export const createAdminClient = (baseUrl: string, token: string, command?: string): AdminClient => ({
  async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let response: Response
    try {
      response = await fetch(new URL(`/admin${path}`, baseUrl), {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(command ? { [CLI_COMMAND_HEADER]: command } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
    } catch (error) {
      throw new AdminApiError(0, 'ERR_UNREACHABLE', `cannot reach ${baseUrl}: ${(error as Error).message}`)
    }
    const payload = (await response.json().catch(() => ({}))) as { error?: { code: string; message: string } }
    if (!response.ok) {
      throw new AdminApiError(response.status, payload.error?.code ?? `HTTP_${response.status}`, payload.error?.message ?? response.statusText)
    }
    return payload as T
  },
})
