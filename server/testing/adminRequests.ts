import type { TestServer } from './startServer.ts'

/** One request to the admin HTTP API with a bearer token; the status and the parsed JSON body. */
export const adminRequest = async <T>(
  server: TestServer,
  token: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> => {
  const response = await fetch(`${server.httpUrl}/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: response.status, body: (await response.json()) as T }
}
