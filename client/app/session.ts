import type { Role } from '../../shared/schemas.ts'

/**
 * Who is signed in. The demo signs in with dev tokens (`GET /dev/token`, dev mode only); a real
 * deployment would get the token from its identity provider the same way `getToken` does here.
 * Kept in localStorage so a reload (also offline) stays signed in.
 */
export interface Session {
  readonly userId: string
  readonly name: string
  readonly role: Role
  readonly tenant: string
  readonly legal: boolean
  readonly token: string
  /** ms epoch. */
  readonly expiresAt: number
}

const STORAGE_KEY = 'posalpro.session'
/** A token with less than this left is replaced before a connection uses it. */
const REFRESH_MARGIN_MS = 60_000

export const loadSession = (): Session | null => {
  try {
    const raw = localStorage.getItem(STORAGE_KEY)
    return raw ? (JSON.parse(raw) as Session) : null
  } catch {
    return null
  }
}

export const signOut = (): void => localStorage.removeItem(STORAGE_KEY)

export interface SignInRequest {
  readonly userId: string
  readonly name: string
  readonly role: Role
  readonly tenant: string
  readonly legal: boolean
}

/** Fetches a dev token; throws an Error with the server's message when refused. */
export const signIn = async (request: SignInRequest): Promise<Session> => {
  const query = new URLSearchParams({ user: request.userId, role: request.role, tenant: request.tenant, name: request.name })
  if (request.legal) query.set('legal', 'true')
  // The demo stands in for an identity provider whose users sign in with a password and a one-time
  // code, so it also works against a server started with --require-mfa.
  query.set('amr', 'pwd,otp')
  const response = await fetch(`/dev/token?${query}`)
  const body = (await response.json()) as { token?: string; identity?: { expiresAt: number }; error?: { message: string } }
  if (!response.ok || !body.token || !body.identity) throw new Error(body.error?.message ?? `sign-in failed (${response.status})`)
  const session: Session = { ...request, token: body.token, expiresAt: body.identity.expiresAt }
  localStorage.setItem(STORAGE_KEY, JSON.stringify(session))
  return session
}

/** The one refresh in flight: every source of this page shares it instead of fetching a token each. */
let refreshing: Promise<Session> | null = null

/**
 * `getToken` for openDocument: the stored token while it has a minute left, otherwise a new one
 * (offline that fetch fails, the attempt counts as failed and is retried: the document stays
 * usable from IndexedDB). Every source reads the session as stored (another one may have renewed
 * it) and a renewal in flight is shared, so all connections of the page carry the same token.
 */
export const tokenSource = (initial: Session): (() => Promise<string>) => {
  let session = initial
  return async () => {
    const stored = loadSession()
    if (stored && stored.userId === session.userId && stored.tenant === session.tenant && stored.expiresAt > session.expiresAt) session = stored
    if (session.expiresAt - Date.now() > REFRESH_MARGIN_MS) return session.token
    refreshing ??= signIn(session).finally(() => (refreshing = null))
    session = await refreshing
    return session.token
  }
}

/** The namespace of this account's local documents (IndexedDB): accounts never share them. */
export const localNamespace = (session: Session): string => `${session.tenant}/${session.userId}`
