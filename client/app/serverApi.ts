import type { DocumentType } from '../../shared/documentName.ts'

/** One document as `GET /api/documents` lists it (server/http/documentListApi.ts). */
export interface ListedDocument {
  readonly name: string
  readonly type: DocumentType
  readonly id: string
  readonly title: string
  readonly status: string | null
  readonly owner: string | null
  readonly customer: { readonly id: string; readonly name: string | null } | null
  readonly value: number | null
  readonly currency: string | null
  readonly lastChange: { readonly at: number; readonly userId: string } | null
  readonly archived: { readonly at: number; readonly by: string } | null
}

export interface DocumentPage {
  readonly documents: ListedDocument[]
  readonly total: number
  readonly nextCursor: string | null
}

/** What a list request asks for (every field optional; the server bounds them). */
export interface DocumentQuery {
  readonly q?: string
  readonly type?: DocumentType | ''
  readonly status?: string
  readonly owner?: string
  readonly mine?: boolean
  readonly archived?: boolean
  readonly sort?: 'title' | 'lastChange' | 'value'
  readonly cursor?: string | null
  readonly limit?: number
}

/** `GET /api/documents`: one page of the tenant's documents with their summaries. Throws when offline or refused. */
export const fetchDocumentPage = async (token: string, query: DocumentQuery = {}): Promise<DocumentPage> => {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '' || value === false) continue
    params.set(key, value === true ? '1' : String(value))
  }
  const response = await fetch(`/api/documents${params.toString() ? `?${params}` : ''}`, { headers: { authorization: `Bearer ${token}` } })
  const body = (await response.json()) as Partial<DocumentPage> & { error?: { message: string } }
  if (!response.ok || !body.documents) throw new Error(body.error?.message ?? `listing documents failed (${response.status})`)
  return { documents: body.documents, total: body.total ?? body.documents.length, nextCursor: body.nextCursor ?? null }
}

/** Most documents `fetchDocumentList` collects (pages of 200): a picker's list stays bounded. */
const LIST_ALL_MAX = 2_000

/** Every document matching `query`, page after page (at most LIST_ALL_MAX). Throws when offline or refused. */
export const fetchDocumentList = async (token: string, query: DocumentQuery = {}): Promise<ListedDocument[]> => {
  const documents: ListedDocument[] = []
  let cursor: string | null = null
  do {
    const page: DocumentPage = await fetchDocumentPage(token, { ...query, limit: 200, cursor })
    documents.push(...page.documents)
    cursor = page.nextCursor
  } while (cursor && documents.length < LIST_ALL_MAX)
  return documents
}

/**
 * Archives, unarchives or duplicates a document (`name`: `<type>/<id>`). Resolves with the
 * document the server answers with (the copy, for a duplicate) and what the rules said of a
 * copy's fields. Throws with the server's message when refused.
 */
export const documentAction = async (
  token: string,
  name: string,
  action: 'archive' | 'unarchive' | 'duplicate',
): Promise<{ document: ListedDocument; notices: Array<{ message: string }> }> => {
  const response = await fetch(`/api/documents/${name}/${action}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
  const body = (await response.json().catch(() => ({}))) as { document?: ListedDocument; notices?: Array<{ message: string }>; error?: { message: string } }
  if (!response.ok || !body.document) throw new Error(body.error?.message ?? `${action} failed (${response.status})`)
  return { document: body.document, notices: body.notices ?? [] }
}

/** The WebSocket URL of the server that served this page. */
export const collabUrl = (): string => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`

/**
 * Dismisses a conflict whose replaced value was this user's (`name`: `<type>/<id>`): stored, so it
 * is not shown again. Throws when offline or refused.
 */
export const dismissConflict = async (token: string, name: string, conflictId: string): Promise<void> => {
  const response = await fetch(`/api/documents/${name}/conflicts/${encodeURIComponent(conflictId)}/dismiss`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  })
  if (response.ok) return
  const body = (await response.json().catch(() => ({}))) as { error?: { message: string } }
  throw new Error(body.error?.message ?? `dismissing failed (${response.status})`)
}
