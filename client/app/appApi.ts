/**
 * The app's JSON API calls with the signed-in user's token: `GET`/`POST /api/…`. A refusal throws
 * an Error carrying the server's message and code (`ERR_…`), for the view to show.
 */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
  ) {
    super(message)
  }
}

export const apiCall = async <T>(token: () => Promise<string>, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
  const response = await fetch(`/api${path}`, {
    method,
    headers: { authorization: `Bearer ${await token()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const answer = (await response.json().catch(() => ({}))) as T & { error?: { code: string; message: string } }
  if (!response.ok) throw new ApiError(answer.error?.message ?? `the server answered ${response.status}`, answer.error?.code ?? '', response.status)
  return answer
}
