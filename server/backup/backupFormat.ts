import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { Readable, Transform, type TransformCallback } from 'node:stream'
import { createGunzip, createGzip } from 'node:zlib'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import type { LogOp, LogRecord } from '../persistence/writeAheadLog.ts'

/**
 * The backup file: `PPBACKUP` (8 bytes), a gzip stream of frames, then `PPSHA256` and the SHA-256
 * of every byte before it (32 bytes). Written as a stream (nothing is held whole in memory), so the
 * checksum comes last; a file cut short (a dropped download, a full disk) has none and is refused.
 *
 * A frame is `[kind u8][length varuint][payload]`: one header (JSON manifest) first, then the
 * keyring (sealed stores only: the data keys, wrapped by the master key), every LevelDB record as
 * its raw key and value bytes (sealed values stay sealed), the write-ahead log's records not known
 * to be in LevelDB, and a summary (JSON counts) last.
 */
export const BACKUP_FORMAT = 'posalpro-backup/1'
const MAGIC = Buffer.from('PPBACKUP')
const CHECKSUM_TAG = Buffer.from('PPSHA256')
const TRAILER_BYTES = CHECKSUM_TAG.byteLength + 32
/** No frame is larger: a LevelDB value is at most a document (maxDocumentBytes) plus its seal, a log record a group commit. */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024

export const FrameKind = { header: 1, keyring: 2, entry: 3, logRecord: 4, summary: 5 } as const

export interface BackupHeader {
  readonly format: typeof BACKUP_FORMAT
  readonly createdAt: string
  readonly serverVersion: string
  /** What the records are: LevelDB (y-leveldb's keys plus the server's own namespaces). */
  readonly store: 'leveldb/y-leveldb-v1'
  /** Records are sealed with the store's data keys: restoring needs the master key. */
  readonly encrypted: boolean
  /** The one tenant backed up (an admin API backup), or null: the whole store. */
  readonly tenant: string | null
}

export interface BackupSummary {
  /** LevelDB records. */
  readonly records: number
  /** Write-ahead log records (written to the restored directory's log; its first start replays them). */
  readonly logRecords: number
  readonly documents: number
  /** Event-log records stored in LevelDB (a logged write's events come on top). */
  readonly events: number
}

export type Frame =
  | { kind: 'header'; header: BackupHeader }
  | { kind: 'keyring'; text: string }
  | { kind: 'entry'; key: Uint8Array; value: Uint8Array }
  | { kind: 'logRecord'; record: LogRecord }
  | { kind: 'summary'; summary: BackupSummary }

const damaged = (message: string) => new CollabError(ErrorCode.BackupDamaged, message)

export const encodeFrame = (frame: Frame): Buffer => {
  const payload = encoding.createEncoder()
  switch (frame.kind) {
    case 'header':
      encoding.writeVarString(payload, JSON.stringify(frame.header))
      break
    case 'keyring':
      encoding.writeVarString(payload, frame.text)
      break
    case 'summary':
      encoding.writeVarString(payload, JSON.stringify(frame.summary))
      break
    case 'entry':
      encoding.writeVarUint8Array(payload, frame.key)
      encoding.writeVarUint8Array(payload, frame.value)
      break
    case 'logRecord':
      writeLogRecord(payload, frame.record)
      break
  }
  const body = encoding.toUint8Array(payload)
  const head = encoding.createEncoder()
  encoding.writeUint8(head, FrameKind[frame.kind])
  encoding.writeVarUint(head, body.byteLength)
  return Buffer.concat([encoding.toUint8Array(head), body])
}

const writeLogRecord = (encoder: encoding.Encoder, record: LogRecord): void => {
  encoding.writeVarString(encoder, record.storageName)
  encoding.writeVarInt(encoder, record.updateClock ?? -1)
  encoding.writeVarInt(encoder, record.firstEventSeq ?? -1)
  encoding.writeVarUint(encoder, record.ops.length)
  for (const op of record.ops) {
    encoding.writeUint8(encoder, op.type === 'put' ? 1 : 0)
    encoding.writeVarString(encoder, JSON.stringify(op.key))
    if (op.type === 'put') encoding.writeVarUint8Array(encoder, op.value)
  }
}

const readLogRecord = (decoder: decoding.Decoder): LogRecord => {
  const storageName = decoding.readVarString(decoder)
  const updateClock = decoding.readVarInt(decoder)
  const firstEventSeq = decoding.readVarInt(decoder)
  const count = decoding.readVarUint(decoder)
  // Each op takes at least two bytes: a count beyond that is a damaged frame, not an allocation.
  if (count * 2 > decoder.arr.byteLength - decoder.pos) throw damaged('a write-ahead log record claims more operations than it holds')
  const ops: LogOp[] = []
  for (let i = 0; i < count; i++) {
    const type = decoding.readUint8(decoder)
    const key: unknown = JSON.parse(decoding.readVarString(decoder))
    if (!Array.isArray(key) || !key.every((part) => typeof part === 'string' || typeof part === 'number')) throw damaged('a write-ahead log record has a bad key')
    ops.push(type === 1 ? { type: 'put', key, value: decoding.readVarUint8Array(decoder) } : { type: 'del', key })
  }
  return { storageName, updateClock: updateClock < 0 ? null : updateClock, firstEventSeq: firstEventSeq < 0 ? null : firstEventSeq, ops }
}

const decodeFrame = (kind: number, body: Uint8Array): Frame => {
  const decoder = decoding.createDecoder(body)
  let frame: Frame
  try {
    switch (kind) {
      case FrameKind.header:
        frame = { kind: 'header', header: JSON.parse(decoding.readVarString(decoder)) as BackupHeader }
        break
      case FrameKind.keyring:
        frame = { kind: 'keyring', text: decoding.readVarString(decoder) }
        break
      case FrameKind.summary:
        frame = { kind: 'summary', summary: JSON.parse(decoding.readVarString(decoder)) as BackupSummary }
        break
      case FrameKind.entry:
        frame = { kind: 'entry', key: decoding.readVarUint8Array(decoder), value: decoding.readVarUint8Array(decoder) }
        break
      case FrameKind.logRecord:
        frame = { kind: 'logRecord', record: readLogRecord(decoder) }
        break
      default:
        throw damaged(`unknown frame kind ${kind}`)
    }
  } catch (error) {
    throw error instanceof CollabError ? error : damaged(`a frame does not decode: ${(error as Error).message}`)
  }
  if (decoder.pos !== body.byteLength) throw damaged('a frame has trailing bytes')
  return frame
}

/**
 * The backup file as a stream, from its frames (pulled one at a time, so the sink's pace drives
 * the reading of the store): magic, gzip, checksum trailer.
 */
export const backupFileStream = (frames: AsyncIterable<Frame>): Readable => {
  const hash = createHash('sha256').update(MAGIC)
  const checksummed = new Transform({
    construct(callback) {
      this.push(MAGIC)
      callback()
    },
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      hash.update(chunk)
      callback(null, chunk)
    },
    flush(callback: TransformCallback) {
      callback(null, Buffer.concat([CHECKSUM_TAG, hash.digest()]))
    },
  })
  const encoded = Readable.from(
    (async function* () {
      for await (const frame of frames) yield encodeFrame(frame)
    })(),
  )
  const gzip = createGzip()
  encoded.on('error', (error) => gzip.destroy(error))
  gzip.on('error', (error) => checksummed.destroy(error))
  return encoded.pipe(gzip).pipe(checksummed)
}

/**
 * Checks a backup file's magic and SHA-256 trailer (reading it once, in a stream). Throws
 * ERR_BACKUP_DAMAGED: not a backup, cut short, or any byte changed.
 */
export const checkBackupChecksum = async (file: string, onProgress?: (read: number, total: number) => void): Promise<{ bytes: number }> => {
  const { size } = await stat(file)
  if (size < MAGIC.byteLength + TRAILER_BYTES) throw damaged(`${file} is too short to be a backup`)
  const handle = await open(file, 'r')
  const trailer = Buffer.alloc(TRAILER_BYTES)
  const magic = Buffer.alloc(MAGIC.byteLength)
  try {
    await handle.read(magic, 0, MAGIC.byteLength, 0)
    await handle.read(trailer, 0, TRAILER_BYTES, size - TRAILER_BYTES)
  } finally {
    await handle.close()
  }
  if (!magic.equals(MAGIC)) throw damaged(`${file} is not a PosalPro backup`)
  if (!trailer.subarray(0, CHECKSUM_TAG.byteLength).equals(CHECKSUM_TAG)) throw damaged(`${file} has no checksum at its end: it was cut short`)
  const hash = createHash('sha256')
  let read = 0
  for await (const chunk of createReadStream(file, { end: size - TRAILER_BYTES - 1 })) {
    hash.update(chunk as Buffer)
    read += (chunk as Buffer).byteLength
    onProgress?.(read, size)
  }
  if (!hash.digest().equals(trailer.subarray(CHECKSUM_TAG.byteLength))) throw damaged(`${file} does not match its SHA-256 checksum: it was changed or damaged`)
  return { bytes: size }
}

/**
 * The frames of a backup file, in order (check the checksum first: this only checks structure).
 * The header must come first and the summary last; frame sizes are bounded.
 */
export async function* readBackupFrames(file: string, onProgress?: (read: number, total: number) => void): AsyncGenerator<Frame> {
  const { size } = await stat(file)
  const raw = createReadStream(file, { start: MAGIC.byteLength, end: size - TRAILER_BYTES - 1 })
  let read = MAGIC.byteLength
  raw.on('data', (chunk) => {
    read += chunk.length
    onProgress?.(read, size)
  })
  const gunzip = createGunzip()
  raw.on('error', (error) => gunzip.destroy(error))
  let pending: Buffer = Buffer.alloc(0)
  // Chunks of a frame not yet whole: joined once it is (or its length is readable), not per chunk,
  // so a large frame costs one copy rather than one per 16 KiB chunk.
  const waiting: Buffer[] = []
  let waitingBytes = 0
  let needed = 0
  let index = 0
  let summarized = false
  try {
    for await (const chunk of raw.pipe(gunzip)) {
      waiting.push(chunk as Buffer)
      waitingBytes += (chunk as Buffer).byteLength
      if (pending.byteLength + waitingBytes < needed) continue
      pending = Buffer.concat([pending, ...waiting])
      waiting.length = 0
      waitingBytes = 0
      needed = 0
      for (;;) {
        const next = nextFrame(pending)
        if (typeof next === 'number') {
          needed = next
          break
        }
        pending = pending.subarray(next.used)
        if (summarized) throw damaged('frames after the summary')
        if ((index === 0) !== (next.frame.kind === 'header')) throw damaged('the header must be the first frame, and only the first')
        if (next.frame.kind === 'summary') summarized = true
        index++
        yield next.frame
      }
    }
  } catch (error) {
    throw error instanceof CollabError ? error : damaged(`the backup does not decompress: ${(error as Error).message}`)
  }
  if (pending.byteLength > 0 || waitingBytes > 0 || !summarized) throw damaged('the backup ends before its summary')
}

/** The next whole frame at the start of `bytes`, or how many bytes it needs (0: unknown yet). */
const nextFrame = (bytes: Buffer): { frame: Frame; used: number } | number => {
  if (bytes.byteLength < 2) return 0
  const kind = bytes[0]!
  let length = 0
  let position = 1
  for (let shift = 0; ; shift += 7) {
    if (position >= bytes.byteLength) return 0
    if (shift > 28) throw damaged('a frame length does not decode')
    const byte = bytes[position++]!
    length += (byte & 0x7f) * 2 ** shift
    if (byte < 0x80) break
  }
  if (length > MAX_FRAME_BYTES) throw damaged(`a frame claims ${length} bytes (at most ${MAX_FRAME_BYTES})`)
  if (bytes.byteLength < position + length) return position + length
  return { frame: decodeFrame(kind, bytes.subarray(position, position + length)), used: position + length }
}
