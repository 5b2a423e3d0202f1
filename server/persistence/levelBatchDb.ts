import type { LogOp } from './writeAheadLog.ts'

/** A LevelDB operation: the same shape the write-ahead log records. */
export type BatchOp = LogOp

export interface RangeOptions {
  gt?: Array<string | number>
  gte?: Array<string | number>
  lt?: Array<string | number>
  lte?: Array<string | number>
  limit?: number
  reverse?: boolean
}

/** The part of the abstract-level API the store uses (y-leveldb opens it with its key/value encodings). */
export interface LevelBatchDb {
  batch(ops: readonly BatchOp[]): Promise<void>
  iterator(options: RangeOptions): {
    all(): Promise<Array<[Array<string | number>, Uint8Array]>>
    next(): Promise<[Array<string | number>, Uint8Array] | undefined>
    close(): Promise<void>
  }
  values(options: RangeOptions): { all(): Promise<Uint8Array[]>; next(): Promise<Uint8Array | undefined>; close(): Promise<void> }
  keys(options: RangeOptions): { all(): Promise<Array<Array<string | number>>> }
  /** Point reads: the value of each key, undefined where there is none. */
  getMany(keys: Array<Array<string | number>>): Promise<Array<Uint8Array | undefined>>
}

/** A point read: the value, or undefined when the key is not there (getMany: no error object for a miss). */
export const getOptional = async (db: LevelBatchDb, key: Array<string | number>): Promise<Uint8Array | undefined> => (await db.getMany([key]))[0]
