import type { TestServer } from './startServer.ts'

/** One request to the app's HTTP API (`/api/…`) with a bearer token; the status and the parsed JSON body. */
export const apiRequest = async <T>(server: TestServer, token: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: T }> => {
  const response = await fetch(`${server.httpUrl}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: response.status, body: (await response.json()) as T }
}
