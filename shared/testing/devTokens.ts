import type { Role } from '../schemas.ts'

export interface TestUser {
  readonly user?: string
  readonly role?: Role
  readonly tenant?: string
  readonly name?: string
  readonly legal?: boolean
  /** The token's `amr`, comma-separated (`pwd,otp`). */
  readonly amr?: string
  /** Token lifetime in seconds. */
  readonly ttl?: number
}

/** The user tests act as unless they say otherwise. */
export const DEFAULT_TEST_USER = { user: 'alice', role: 'editor', tenant: 'acme' } as const

/** A real token from a dev-mode server's `GET /dev/token`. */
export const fetchDevToken = async (httpUrl: string, testUser: TestUser = {}): Promise<string> => {
  const { user, role, tenant, name, legal, ttl, amr } = { ...DEFAULT_TEST_USER, ...testUser }
  const query = new URLSearchParams({ user, role, tenant })
  if (name) query.set('name', name)
  if (legal !== undefined) query.set('legal', String(legal))
  if (ttl !== undefined) query.set('ttl', String(ttl))
  if (amr !== undefined) query.set('amr', amr)
  const response = await fetch(`${httpUrl}/dev/token?${query}`)
  const body = (await response.json()) as { token?: string; error?: { message: string } }
  if (!response.ok || !body.token) throw new Error(`no dev token: ${response.status} ${body.error?.message}`)
  return body.token
}
