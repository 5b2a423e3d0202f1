import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'

/**
 * The append-only event log of a document (the audit trail and time travel): every accepted, rejected and reviewed
 * update, every compensation and every admin change, with the update bytes, so the document can be
 * rebuilt as of any event (time travel) and audited. Records are written in the same LevelDB
 * batch as the document update they describe, so the log and the document never disagree.
 */
/**
 * `integrity`: not a change — a client's copy was found to differ from the server's (nothing
 * applied, rule `digest-mismatch`), recorded with who and when for whoever investigates.
 */
export type EventOutcome = 'accepted' | 'rejected' | 'review' | 'compensation' | 'admin' | 'integrity'

export interface EventRecord {
  /** 1-based, gap-free per document. */
  readonly seq: number
  /** ms since the epoch. */
  readonly at: number
  readonly userId: string
  /**
   * The user's display name when the change was made (the token's `name`), so history speaks of
   * people, not ids; absent on events stored before it was recorded and on the server's own.
   */
  readonly userName?: string
  readonly device: string | null
  readonly outcome: EventOutcome
  /** False when the update was refused without being applied (a viewer's write): rebuilds skip it. */
  readonly applied: boolean
  readonly ruleIds: readonly string[]
  /** The paths the update touched (`meta.title`, `body`). */
  readonly paths: readonly string[]
  /**
   * The Yjs update. For a rejected/reviewed update: the update as received, its compensation the
   * next record — or, when it was above REFUSED_UPDATE_BYTES_KEPT, what it and its compensation left
   * in the document (its content gone; `refused` tells what was received). Either way the log
   * rebuilds the document exactly. Empty for a viewer's update above that size (never applied).
   */
  readonly update: Uint8Array
  /** Size and hash of a refused update whose bytes are not kept (see REFUSED_UPDATE_BYTES_KEPT). */
  readonly refused?: RefusedUpdate
  readonly reviewId?: string
}

/**
 * The most bytes of a refused update (rejected, held for review, or a viewer's) an event keeps.
 * Beyond it the event records the update's size and hash instead (who, when and which rule stay):
 * refused content must not cost storage out of proportion to what was kept.
 */
export const REFUSED_UPDATE_BYTES_KEPT = 64 * 1024

export interface RefusedUpdate {
  /** Its size as received. */
  readonly bytes: number
  /** SHA-256 of it as received (hex): matches a copy the sender or an auditor still has. */
  readonly sha256: string
}

/** y-leveldb key arrays (strings and uint32s), in namespaces of our own beside y-leveldb's `v1`. */
export const EVENTS_NAMESPACE = 'posalpro_events'
export const eventKey = (storageName: string, seq: number) => [EVENTS_NAMESPACE, storageName, seq]
export const eventRange = (storageName: string) => ({
  gte: eventKey(storageName, 0),
  lte: eventKey(storageName, 0xffffffff),
})

/**
 * What retention pruned: the document as of the last pruned event, so the log still rebuilds the
 * document; time travel reaches back to `seq`, not further.
 */
export interface EventBase {
  readonly seq: number
  readonly update: Uint8Array
}

export const eventBaseKey = (storageName: string) => ['posalpro_events_base', storageName]

/**
 * The document as of event `seq`: the retention base (if any), then every applied update up to and
 * including `seq`, in order. As of a rejected update you see what its author wrote (for one above
 * REFUSED_UPDATE_BYTES_KEPT, already without its refused content); as of the compensation after
 * it, the valid state.
 */
export const documentAsOf = (base: EventBase | null, events: readonly EventRecord[], seq: number): Y.Doc => {
  if (base && seq < base.seq) throw new RangeError(`event ${seq} is older than the retained history (from ${base.seq})`)
  const doc = new Y.Doc()
  doc.transact(() => {
    if (base) Y.applyUpdate(doc, base.update)
    for (const event of events) if (event.seq <= seq && event.applied) Y.applyUpdate(doc, event.update)
  })
  return doc
}

export const encodeBase = ({ seq, update }: EventBase): Uint8Array => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, seq)
  encoding.writeVarUint8Array(encoder, update)
  return encoding.toUint8Array(encoder)
}

export const decodeBase = (bytes: Uint8Array): EventBase => {
  const decoder = decoding.createDecoder(bytes)
  return { seq: decoding.readVarUint(decoder), update: decoding.readVarUint8Array(decoder) }
}

/**
 * `varString(JSON of the metadata) · varUint8Array(update)` (lib0 encoding), written straight into
 * one Buffer of the right size: one allocation and one copy of the update per event, on the hot path
 * of every write.
 */
export const encodeEvent = ({ update, ...meta }: EventRecord): Buffer => {
  const json = JSON.stringify(meta)
  const jsonBytes = Buffer.byteLength(json)
  const buffer = Buffer.allocUnsafe(varUintLength(jsonBytes) + jsonBytes + varUintLength(update.byteLength) + update.byteLength)
  let offset = writeVarUint(buffer, 0, jsonBytes)
  offset += buffer.write(json, offset)
  offset = writeVarUint(buffer, offset, update.byteLength)
  buffer.set(update, offset)
  return buffer
}

/** Bytes of lib0's variable-length unsigned integer (7 bits per byte). */
const varUintLength = (value: number): number => {
  let length = 1
  for (let rest = value >>> 7; rest > 0; rest >>>= 7) length++
  return length
}

const writeVarUint = (buffer: Buffer, offset: number, value: number): number => {
  let rest = value
  while (rest > 0x7f) {
    buffer[offset++] = 0x80 | (rest & 0x7f)
    rest >>>= 7
  }
  buffer[offset++] = rest
  return offset
}

export const decodeEvent = (bytes: Uint8Array): EventRecord => {
  const decoder = decoding.createDecoder(bytes)
  const meta = JSON.parse(decoding.readVarString(decoder)) as Omit<EventRecord, 'update'>
  return { ...meta, update: decoding.readVarUint8Array(decoder) }
}
