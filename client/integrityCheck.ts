import * as Y from 'yjs'
import { documentDigest } from '../shared/documentDigest.ts'
import { DigestResult, encodeDigestCheck } from '../shared/extensionProtocol.ts'
import type { Connection } from './connection.ts'

/** A check answered `unsettled` is asked again after this long, at most MAX_ATTEMPTS per connection. */
export const RETRY_MS = 3_000
export const MAX_ATTEMPTS = 5

/**
 * After each sync, asks the server whether its copy digests the same as ours (shared/documentDigest.ts).
 * Asked once everything of ours is saved and the connection is synced — then both sides should
 * hold the same operations; when they do not yet (someone else's change in flight) the server
 * says `unsettled` and we ask again a little later. A `mismatch` means the copies hold the same
 * operations with other content: one was damaged outside Yjs, and Yjs's own sync cannot repair it.
 */
export class IntegrityCheck {
  private attempts = 0
  /** Asked and not answered, answered for this connection, or waiting to retry. */
  private state: 'idle' | 'asked' | 'done' | 'waiting' = 'idle'
  private retryTimer: ReturnType<typeof setTimeout> | null = null

  constructor(
    private readonly doc: Y.Doc,
    private readonly connection: Connection,
    private readonly isSaved: () => boolean,
    private readonly onMismatch: () => void,
  ) {
    connection.on('status', (status) => {
      if (status !== 'synced') return this.reset()
      this.maybeAsk()
    })
    connection.on('digestResult', this.onResult)
  }

  /** Call when `saved` turns true. */
  savedChanged(): void {
    this.maybeAsk()
  }

  dispose(): void {
    this.reset()
  }

  private reset(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.retryTimer = null
    this.attempts = 0
    this.state = 'idle'
  }

  private maybeAsk(): void {
    if (this.state !== 'idle' || this.connection.status !== 'synced' || !this.isSaved() || this.attempts >= MAX_ATTEMPTS) return
    const message = encodeDigestCheck(Y.encodeStateVector(this.doc), documentDigest(this.doc))
    if (!this.connection.sendExtension(message)) return
    this.attempts += 1
    this.state = 'asked'
  }

  private readonly onResult = (result: DigestResult): void => {
    if (this.state !== 'asked') return
    if (result === DigestResult.Match) {
      this.state = 'done'
    } else if (result === DigestResult.Mismatch) {
      this.state = 'done'
      this.onMismatch()
    } else {
      this.state = 'waiting'
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null
        this.state = 'idle'
        this.maybeAsk()
      }, RETRY_MS)
    }
  }
}
