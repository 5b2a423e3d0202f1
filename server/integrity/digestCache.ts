import type * as Y from 'yjs'
import { documentDigest } from '../../shared/documentDigest.ts'

/**
 * A document's digest is made afresh at most once per this many times what making it took (and at
 * most once a second): a busy document's digest is stale at every check, and many peers checking
 * a large one (20 MB: ~0.3 s) must not cost more than a twentieth of a core.
 */
export const DIGEST_COST_FACTOR = 20
export const MIN_DIGEST_INTERVAL_MS = 1_000

interface CachedDigest {
  /** Null once the document changed. */
  digest: Uint8Array | null
  notBefore: number
}

/** The server's digest per document, until its next transaction. */
const cachedDigests = new WeakMap<Y.Doc, CachedDigest>()

/**
 * The document's digest (shared/documentDigest.ts), kept until the document changes; null when a
 * fresh one is due but not allowed yet — the caller answers `unsettled` and the client asks again.
 */
export const digestOf = (doc: Y.Doc, now: number, clock: () => number = () => performance.now()): Uint8Array | null => {
  let cached = cachedDigests.get(doc)
  if (!cached) {
    const entry: CachedDigest = { digest: null, notBefore: 0 }
    doc.on('afterTransaction', () => (entry.digest = null))
    cachedDigests.set(doc, entry)
    cached = entry
  }
  if (cached.digest) return cached.digest
  if (now < cached.notBefore) return null
  const started = clock()
  cached.digest = documentDigest(doc)
  cached.notBefore = now + Math.max(MIN_DIGEST_INTERVAL_MS, (clock() - started) * DIGEST_COST_FACTOR)
  return cached.digest
}
