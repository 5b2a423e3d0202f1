import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { CollabError, ErrorCode } from '../../shared/errors.ts'

/**
 * The write-ahead log in front of LevelDB. A document write is durable once its record is
 * appended here — synchronously, one `write(2)`, the same guarantee as LevelDB's own (unsynced)
 * log: it survives a crash of the process, not of the machine — and LevelDB receives the same
 * batch right after, in the background. The server can acknowledge and broadcast in the same turn
 * of the event loop that handled the update, instead of waiting for a round trip through libuv's
 * thread pool (~0.3 ms, with a tail of several ms under load): the hop that made a peer see a
 * change later than with an in-memory server.
 *
 * The log is a series of segment files `<n>.wal` in its directory. A record is
 * `[u32 length][u32 crc32][payload]`; a record cut short by a crash fails its length or checksum
 * and is the end of what is read. A segment is deleted once LevelDB holds every record in it; on
 * open, what is left is handed back to be replayed (see DocumentStore), then deleted.
 */

export type LogOp =
  | { readonly type: 'put'; readonly key: Array<string | number>; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: Array<string | number> }

/** One document's atomic write, as LevelDB will receive it. */
export interface LogRecord {
  readonly storageName: string
  /** The clock of the update key it writes, or null: replay skips it when LevelDB is already past. */
  readonly updateClock: number | null
  /** The first event-log sequence number it writes, or null (the same check for writes without an update). */
  readonly firstEventSeq: number | null
  readonly ops: readonly LogOp[]
}

/** A segment is closed and a new one started past this size, so applied records can be deleted. */
const SEGMENT_BYTES = 16 * 1024 * 1024
const HEADER_BYTES = 8

interface Segment {
  readonly number: number
  readonly path: string
  /** Records appended and not yet in LevelDB. */
  unapplied: number
  closed: boolean
}

export class WriteAheadLog {
  private fd: number
  private size = 0
  private active: Segment
  private readonly segments = new Set<Segment>()
  private failure: CollabError | null = null

  private constructor(
    private readonly directory: string,
    firstSegment: number,
    private readonly segmentBytes: number,
  ) {
    this.active = this.startSegment(firstSegment)
    this.fd = this.openActive()
  }

  /**
   * Opens the log in `directory` (created if missing). Returns the records of the segments a
   * previous process left, oldest first, and a function that deletes those segments: call it once
   * the records are in LevelDB. Appends go to a new segment.
   */
  static open(directory: string, { segmentBytes = SEGMENT_BYTES } = {}): { log: WriteAheadLog; leftOver: LogRecord[]; discardLeftOver: () => void; damagedBytes: number } {
    mkdirSync(directory, { recursive: true })
    const numbers = readdirSync(directory)
      .map((name) => /^(\d+)\.wal$/.exec(name)?.[1])
      .filter((number): number is string => number !== undefined)
      .map(Number)
      .sort((a, b) => a - b)
    const leftOver: LogRecord[] = []
    let damagedBytes = 0
    for (const number of numbers) {
      const { records, unreadBytes } = readSegment(readFileSync(join(directory, segmentName(number))))
      leftOver.push(...records)
      damagedBytes += unreadBytes
    }
    const log = new WriteAheadLog(directory, (numbers.at(-1) ?? 0) + 1, segmentBytes)
    const discardLeftOver = () => {
      for (const number of numbers) unlinkSync(join(directory, segmentName(number)))
    }
    return { log, leftOver, discardLeftOver, damagedBytes }
  }

  /**
   * Appends a record; when this returns, the record survives a crash of the process. Returns a
   * function to call once LevelDB holds the record. Throws ERR_PERSISTENCE_FAILED when the append
   * failed (nothing of the record counts then) or the log failed before.
   */
  append(record: LogRecord): () => void {
    if (this.failure) throw this.failure
    const bytes = encodeRecord(record)
    try {
      let written = 0
      while (written < bytes.byteLength) written += writeSync(this.fd, bytes, written)
    } catch (error) {
      this.recoverFromFailedAppend(error)
      throw new CollabError(ErrorCode.PersistenceFailed, `write-ahead log: ${(error as Error).message}`)
    }
    this.size += bytes.byteLength
    const segment = this.active
    segment.unapplied++
    if (this.size >= this.segmentBytes) this.rotate()
    return () => this.applied(segment)
  }

  /**
   * LevelDB refused a record the log holds: it stays in the log (the next start replays it) and no
   * further write is accepted, since a later record must never reach LevelDB before an earlier one.
   */
  fail(reason: string): void {
    this.failure ??= new CollabError(ErrorCode.PersistenceFailed, `the store refused a write (${reason}); restart to recover from the write-ahead log`)
  }

  /** Closes the log. Segments whose records are all in LevelDB are deleted; the others are kept for the next start. */
  close(): void {
    try {
      closeSync(this.fd)
    } catch {
      // already unusable (the failure was reported when it happened)
    }
    this.active.closed = true
    for (const segment of [...this.segments]) this.deleteIfApplied(segment)
  }

  private applied(segment: Segment): void {
    segment.unapplied--
    this.deleteIfApplied(segment)
  }

  private deleteIfApplied(segment: Segment): void {
    if (!segment.closed || segment.unapplied > 0 || this.failure) return
    this.segments.delete(segment)
    unlinkSync(segment.path)
  }

  private rotate(): void {
    closeSync(this.fd)
    const previous = this.active
    previous.closed = true
    this.active = this.startSegment(previous.number + 1)
    this.fd = this.openActive()
    this.size = 0
    this.deleteIfApplied(previous)
  }

  private startSegment(number: number): Segment {
    const segment: Segment = { number, path: join(this.directory, segmentName(number)), unapplied: 0, closed: false }
    this.segments.add(segment)
    return segment
  }

  private openActive(): number {
    return openSync(this.active.path, 'a')
  }

  /** A half-written record must not sit before the next one: cut the file back to the last whole record. */
  private recoverFromFailedAppend(error: unknown): void {
    try {
      ftruncateSync(this.fd, this.size)
      if (fstatSync(this.fd).size !== this.size) throw new Error('truncation did not take')
    } catch {
      this.failure = new CollabError(ErrorCode.PersistenceFailed, `write-ahead log unusable: ${(error as Error).message}`)
    }
  }
}

const segmentName = (number: number): string => `${String(number).padStart(10, '0')}.wal`

const encodeRecord = (record: LogRecord): Uint8Array => {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, record.storageName)
  encoding.writeVarInt(encoder, record.updateClock ?? -1)
  encoding.writeVarInt(encoder, record.firstEventSeq ?? -1)
  encoding.writeVarUint(encoder, record.ops.length)
  for (const op of record.ops) {
    encoding.writeUint8(encoder, op.type === 'put' ? 1 : 0)
    encoding.writeAny(encoder, op.key)
    if (op.type === 'put') encoding.writeVarUint8Array(encoder, op.value)
  }
  const payload = encoding.toUint8Array(encoder)
  const bytes = Buffer.allocUnsafe(HEADER_BYTES + payload.byteLength)
  bytes.writeUInt32LE(payload.byteLength, 0)
  bytes.writeUInt32LE(crc32(payload), 4)
  bytes.set(payload, HEADER_BYTES)
  return bytes
}

/** The whole records of a segment; reading stops at the first cut-short or damaged one. */
export const readSegment = (bytes: Buffer): { records: LogRecord[]; unreadBytes: number } => {
  const records: LogRecord[] = []
  let offset = 0
  while (offset + HEADER_BYTES <= bytes.byteLength) {
    const length = bytes.readUInt32LE(offset)
    const end = offset + HEADER_BYTES + length
    if (end > bytes.byteLength) break
    const payload = bytes.subarray(offset + HEADER_BYTES, end)
    if (crc32(payload) !== bytes.readUInt32LE(offset + 4)) break
    let record: LogRecord
    try {
      record = decodeRecord(payload)
    } catch {
      break
    }
    records.push(record)
    offset = end
  }
  return { records, unreadBytes: bytes.byteLength - offset }
}

const decodeRecord = (payload: Uint8Array): LogRecord => {
  const decoder = decoding.createDecoder(payload)
  const storageName = decoding.readVarString(decoder)
  const updateClock = decoding.readVarInt(decoder)
  const firstEventSeq = decoding.readVarInt(decoder)
  const count = decoding.readVarUint(decoder)
  const ops: LogOp[] = []
  for (let i = 0; i < count; i++) {
    const type = decoding.readUint8(decoder)
    const key = decoding.readAny(decoder)
    if (!Array.isArray(key) || !key.every((part) => typeof part === 'string' || typeof part === 'number')) throw new Error('bad key')
    ops.push(type === 1 ? { type: 'put', key, value: decoding.readVarUint8Array(decoder) } : { type: 'del', key })
  }
  return { storageName, updateClock: updateClock < 0 ? null : updateClock, firstEventSeq: firstEventSeq < 0 ? null : firstEventSeq, ops }
}

/** Does the log in `directory` hold any record (a segment that is not empty)? Reads nothing but sizes. */
export const walHoldsRecords = (directory: string): boolean => {
  let names: string[]
  try {
    names = readdirSync(directory)
  } catch {
    return false
  }
  return names.some((name) => /^\d+\.wal$/.test(name) && statSync(join(directory, name)).size > 0)
}
