import { parseDocumentName, type DocumentType } from '../shared/documentName.ts'
import type { DocumentHandle } from './documentHandle.ts'

/** A document to keep on this device: `{type, id}` or its name, `'<type>/<id>'`. */
export type PrefetchTarget = { readonly type: DocumentType; readonly id: string } | string

export interface PrefetchResult {
  /** `<type>/<id>`. */
  readonly name: string
  /** True when the server's state is in the local store; false with `error` otherwise. */
  readonly ok: boolean
  readonly error?: Error
}

export interface PrefetchOptions {
  /** Documents fetched at the same time (default 4): each one is a WebSocket while it syncs. */
  readonly concurrency?: number
  /** Called after each document, for a progress bar. */
  readonly onProgress?: (done: number, total: number, result: PrefetchResult) => void
  /** Called with each document once it is synced and saved, before it is released (to note its title, say). */
  readonly onFetched?: (handle: DocumentHandle) => void
}

/**
 * "Travel mode": brings a set of documents into the local store so they open offline later.
 * Each is opened with its local store, synced with the server, flushed locally, and released; any
 * local edits it held are sent along (and `saved` awaited), so prefetching never loses work.
 * A document that fails (refused, unreachable) is reported and the others go on.
 *
 * `open` is the platform's openDocument with the options (URL, token, local store) already bound.
 */
export const prefetchWith = async (
  open: (type: DocumentType, id: string) => DocumentHandle,
  targets: readonly PrefetchTarget[],
  { concurrency = 4, onProgress, onFetched }: PrefetchOptions = {},
): Promise<PrefetchResult[]> => {
  const results: PrefetchResult[] = []
  let next = 0
  const worker = async () => {
    while (next < targets.length) {
      const target = targets[next++]!
      const result = await prefetchOne(open, target, onFetched)
      results.push(result)
      onProgress?.(results.length, targets.length, result)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, targets.length)) }, worker))
  return results
}

const prefetchOne = async (
  open: (type: DocumentType, id: string) => DocumentHandle,
  target: PrefetchTarget,
  onFetched: ((handle: DocumentHandle) => void) | undefined,
): Promise<PrefetchResult> => {
  let handle: DocumentHandle
  try {
    const { type, id } = typeof target === 'string' ? parseDocumentName(target) : target
    handle = open(type, id)
  } catch (error) {
    return { name: typeof target === 'string' ? target : `${target.type}/${target.id}`, ok: false, error: error as Error }
  }
  // A terminal close (no access, unknown type) ends the attempt at once instead of retrying forever.
  const refused = new Promise<never>((_, reject) => {
    handle.on('closed', (info) => {
      if (!info.willReconnect) reject(new Error(`${handle.name}: the server closed the connection (${info.code} ${info.reason})`))
    })
  })
  refused.catch(() => {})
  try {
    await Promise.race([Promise.all([handle.whenLoaded(), handle.whenSynced(), handle.whenSaved()]), refused])
    onFetched?.(handle)
    await handle.destroy() // flushes the local store
    return { name: handle.name, ok: true }
  } catch (error) {
    await handle.destroy().catch(() => {})
    return { name: handle.name, ok: false, error: error as Error }
  }
}
