import { documentTitle } from '../../shared/documentModel.ts'
import { isDocumentType } from '../../shared/documentName.ts'
import { buildDoc } from './documentStore.ts'
import type { DocumentStorage } from './documentStorage.ts'

export interface DocumentSummary {
  readonly name: string
  readonly type: string
  /** What the document is called: its title, or a customer's name (in either stored form). */
  readonly title: string
  readonly storedUpdates: number
  readonly bytes: number
  /** ms epoch of the newest event, or null. */
  readonly lastChange: number | null
  readonly connections: number
}

/**
 * Every document of a tenant with its title, size, stored updates, last change and open connections,
 * straight from the store (the admin API and the CLI's offline mode share it).
 */
export const listDocuments = async (
  store: DocumentStorage,
  tenant: string,
  connectionsOf: (name: string) => number = () => 0,
): Promise<DocumentSummary[]> => {
  const prefix = `${tenant}/`
  const names = (await store.documentNames()).filter((name) => name.startsWith(prefix)).sort()
  const summaries: DocumentSummary[] = []
  for (const storageName of names) {
    const name = storageName.slice(prefix.length)
    const updates = await store.loadUpdates(storageName)
    const [last] = await store.readEvents(storageName, { limit: 1, reverse: true })
    const type = name.split('/')[0] ?? ''
    summaries.push({
      name,
      type,
      title: isDocumentType(type) ? titleOf(updates, type) : '',
      storedUpdates: updates.length,
      bytes: updates.reduce((sum, update) => sum + update.byteLength, 0),
      lastChange: last?.at ?? null,
      connections: connectionsOf(name),
    })
  }
  return summaries
}

/**
 * The title from the stored updates (built: it may be in a text root or a legacy map key). A
 * document whose stored updates do not build (corrupt: `docs verify` tells) is listed untitled:
 * one bad document must not hide the others.
 */
const titleOf = (updates: readonly Uint8Array[], type: Parameters<typeof documentTitle>[1]): string => {
  let doc: ReturnType<typeof buildDoc> | null = null
  try {
    doc = buildDoc(updates)
    return documentTitle(doc, type)
  } catch {
    return ''
  } finally {
    doc?.destroy()
  }
}
