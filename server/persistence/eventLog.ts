import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'

/**
 * The append-only event log of a document (design §6): every accepted, rejected and reviewed
 * update, every compensation and every admin change, with the update bytes, so the document can be
 * rebuilt as of any event (time travel) and audited. Records are written in the same LevelDB
 * batch as the document update they describe, so the log and the document never disagree.
 */
export type EventOutcome = 'accepted' | 'rejected' | 'review' | 'compensation' | 'admin'

export interface EventRecord {
  /** 1-based, gap-free per document. */
  readonly seq: number
  /** ms since the epoch. */
  readonly at: number
  readonly userId: string
  readonly device: string | null
  readonly outcome: EventOutcome
  /** False when the update was refused without being applied (a viewer's write): rebuilds skip it. */
  readonly applied: boolean
  readonly ruleIds: readonly string[]
  /** The paths the update touched (`meta.title`, `body`). */
  readonly paths: readonly string[]
  /** The Yjs update. For a rejected/reviewed update: the update as received; its compensation is the next record. */
  readonly update: Uint8Array
  readonly reviewId?: string
}

/** y-leveldb key arrays (strings and uint32s), in namespaces of our own beside y-leveldb's `v1`. */
export const eventKey = (storageName: string, seq: number) => ['posalpro_events', storageName, seq]
export const eventRange = (storageName: string) => ({
  gte: eventKey(storageName, 0),
  lte: eventKey(storageName, 0xffffffff),
})

/**
 * The document as of event `seq`: every applied update up to and including it, in order. As of a
 * rejected update you see what its author wrote; as of the compensation after it, the valid state.
 */
export const documentAsOf = (events: readonly EventRecord[], seq: number): Y.Doc => {
  const doc = new Y.Doc()
  doc.transact(() => {
    for (const event of events) if (event.seq <= seq && event.applied) Y.applyUpdate(doc, event.update)
  })
  return doc
}

export const encodeEvent = ({ update, ...meta }: EventRecord): Uint8Array => {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, JSON.stringify(meta))
  encoding.writeVarUint8Array(encoder, update)
  return encoding.toUint8Array(encoder)
}

export const decodeEvent = (bytes: Uint8Array): EventRecord => {
  const decoder = decoding.createDecoder(bytes)
  const meta = JSON.parse(decoding.readVarString(decoder)) as Omit<EventRecord, 'update'>
  return { ...meta, update: decoding.readVarUint8Array(decoder) }
}
