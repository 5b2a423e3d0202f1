import type { DocumentStorage } from './documentStorage.ts'

export interface DocumentSummary {
  readonly name: string
  readonly type: string
  readonly storedUpdates: number
  readonly bytes: number
  /** ms epoch of the newest event, or null. */
  readonly lastChange: number | null
  readonly connections: number
}

/**
 * Every document of a tenant with its size, stored updates, last change and open connections,
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
    summaries.push({
      name,
      type: name.split('/')[0] ?? '',
      storedUpdates: updates.length,
      bytes: updates.reduce((sum, update) => sum + update.byteLength, 0),
      lastChange: last?.at ?? null,
      connections: connectionsOf(name),
    })
  }
  return summaries
}
