import type { DocumentType } from '../../shared/documentName.ts'

export interface ListedDocument {
  readonly name: string
  readonly type: DocumentType
  readonly id: string
}

/** `GET /api/documents`: the tenant's documents (names only). Throws when offline or refused. */
export const fetchDocumentList = async (token: string): Promise<ListedDocument[]> => {
  const response = await fetch('/api/documents', { headers: { authorization: `Bearer ${token}` } })
  const body = (await response.json()) as { documents?: ListedDocument[]; error?: { message: string } }
  if (!response.ok || !body.documents) throw new Error(body.error?.message ?? `listing documents failed (${response.status})`)
  return body.documents
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
