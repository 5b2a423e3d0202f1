import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import type { ConflictRecord } from './conflictRecord.ts'

/**
 * The PosalPro extension to the y-websocket protocol. Stock y-websocket speaks
 * message types 0 sync, 1 awareness, 2 auth, 3 query-awareness. Extension messages use type 100
 * (far from future y-protocols types) and are sent only to clients that opted in with the URL
 * query parameter `ext=1`, so a stock client never receives a type it cannot handle.
 *
 *   varUint 100 · varUint subtype · payload
 *   subtype 0 ack:    varUint8Array durable state vector (Y.encodeStateVector of what is on disk)
 *                     · varUint durable message count: how many of this connection's sync-step-2 and
 *                       update messages are now durable (cumulative, in the order they were sent).
 *                       A deletion moves no state vector, so only the count tells a client that
 *                       a delete-only message is saved.
 *   subtype 1 notice: varString JSON of a Notice
 *   subtype 2 pending reviews: varString JSON of PendingReview[], the changes of this document held
 *                     for review that this connection's user may see (as proposer or decider); sent
 *                     after connecting and again, whole, whenever one of them is held, updated or decided
 *   subtype 3 open conflicts: varString JSON `{conflicts: ConflictRecord[]}`: every conflict of this
 *                     document whose value-replaced side is this connection's user and that they
 *                     have not dismissed; the whole list, sent on connect and whenever it changes
 *   subtype 4 digest check (client → server, the only extension message a client sends):
 *                     varUint8Array state vector · varUint8Array digest (shared/documentDigest.ts) of
 *                     the client's document; sent once the client is synced and has nothing unsaved
 *   subtype 5 digest result: varUint DigestResult — whether the server's document, at the same
 *                     state vector, has the same digest; `unsettled` when the state vectors differ
 *                     (changes still in flight: ask again later) or the check came too soon after the last
 */
export const MESSAGE_EXTENSION = 100
export const EXTENSION_QUERY_PARAM = 'ext'
export const EXTENSION_VERSION = '1'

export const ExtensionSubtype = { Ack: 0, Notice: 1, PendingReviews: 2, OpenConflicts: 3, DigestCheck: 4, DigestResult: 5 } as const

export const DigestResult = { Match: 0, Mismatch: 1, Unsettled: 2 } as const
export type DigestResult = (typeof DigestResult)[keyof typeof DigestResult]

export type NoticeOutcome = 'rejected' | 'review' | 'conflict' | 'review-decided'

/** Told to a client about one of its changes (rejected, held for review, lost a concurrent overwrite, review decided). */
export interface Notice {
  readonly outcome: NoticeOutcome
  readonly ruleId: string
  readonly path: string
  readonly message: string
  readonly reviewId?: string
}

/**
 * One field's change waiting for review, as a client shows it on the field. `proposed` is the
 * field's proposed value as stored (a number, a string…; undefined when the change deletes it),
 * or for a rich-text root its plain text (the stored tree is the server's business).
 */
export interface PendingReview {
  readonly id: string
  readonly path: string
  readonly proposer: { readonly userId: string; readonly name?: string }
  readonly proposedAt: number
  /** When the item last took a held edit of its proposer (the same as proposedAt until then). */
  readonly updatedAt: number
  readonly rule: string
  readonly kind: 'field' | 'text'
  readonly proposed: unknown
}

export type ExtensionMessage =
  | { readonly kind: 'ack'; readonly durableStateVector: Uint8Array; readonly durableMessages: number }
  | { readonly kind: 'notice'; readonly notice: Notice }
  | { readonly kind: 'pending-reviews'; readonly reviews: readonly PendingReview[] }
  | { readonly kind: 'open-conflicts'; readonly conflicts: readonly ConflictRecord[] }
  | { readonly kind: 'digest-result'; readonly result: DigestResult }

export const encodeAck = (durableStateVector: Uint8Array, durableMessages: number): Uint8Array => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_EXTENSION)
  encoding.writeVarUint(encoder, ExtensionSubtype.Ack)
  encoding.writeVarUint8Array(encoder, durableStateVector)
  encoding.writeVarUint(encoder, durableMessages)
  return encoding.toUint8Array(encoder)
}

export const encodeDigestCheck = (stateVector: Uint8Array, digest: Uint8Array): Uint8Array => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_EXTENSION)
  encoding.writeVarUint(encoder, ExtensionSubtype.DigestCheck)
  encoding.writeVarUint8Array(encoder, stateVector)
  encoding.writeVarUint8Array(encoder, digest)
  return encoding.toUint8Array(encoder)
}

export const encodeDigestResult = (result: DigestResult): Uint8Array => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_EXTENSION)
  encoding.writeVarUint(encoder, ExtensionSubtype.DigestResult)
  encoding.writeVarUint(encoder, result)
  return encoding.toUint8Array(encoder)
}

/** A message whose payload is one JSON string (notice, pending reviews, open conflicts). */
const encodeJson = (subtype: number, value: unknown): Uint8Array => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_EXTENSION)
  encoding.writeVarUint(encoder, subtype)
  encoding.writeVarString(encoder, JSON.stringify(value))
  return encoding.toUint8Array(encoder)
}

export const encodeNotice = (notice: Notice): Uint8Array => encodeJson(ExtensionSubtype.Notice, notice)

export const encodePendingReviews = (reviews: readonly PendingReview[]): Uint8Array => encodeJson(ExtensionSubtype.PendingReviews, reviews)

export const encodeOpenConflicts = (conflicts: readonly ConflictRecord[]): Uint8Array => encodeJson(ExtensionSubtype.OpenConflicts, { conflicts })

/**
 * Decodes the body of an extension message, after its type (100) was read from `decoder`.
 * Returns null for a subtype this version does not know, so newer servers can add subtypes.
 */
export const readExtensionMessage = (decoder: decoding.Decoder): ExtensionMessage | null => {
  const subtype = decoding.readVarUint(decoder)
  switch (subtype) {
    case ExtensionSubtype.Ack:
      return {
        kind: 'ack',
        durableStateVector: decoding.readVarUint8Array(decoder),
        durableMessages: decoding.readVarUint(decoder),
      }
    case ExtensionSubtype.Notice:
      return { kind: 'notice', notice: JSON.parse(decoding.readVarString(decoder)) as Notice }
    case ExtensionSubtype.PendingReviews:
      return { kind: 'pending-reviews', reviews: JSON.parse(decoding.readVarString(decoder)) as PendingReview[] }
    case ExtensionSubtype.OpenConflicts:
      return { kind: 'open-conflicts', conflicts: (JSON.parse(decoding.readVarString(decoder)) as { conflicts: ConflictRecord[] }).conflicts }
    case ExtensionSubtype.DigestResult: {
      const result = decoding.readVarUint(decoder)
      return result === DigestResult.Match || result === DigestResult.Mismatch || result === DigestResult.Unsettled ? { kind: 'digest-result', result } : null
    }
    default:
      return null
  }
}
