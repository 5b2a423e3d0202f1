// y-leveldb ships declarations that its package.json "exports" map hides from NodeNext resolution.
// This declares the part of its API the project uses.
declare module 'y-leveldb' {
  import type * as Y from 'yjs'
  export const PREFERRED_TRIM_SIZE: number
  export function getCurrentUpdateClock(db: unknown, docName: string): Promise<number>
  /** LevelDB's key encoding: key arrays (strings, uint32s) to and from bytes. */
  export const keyEncoding: { encode(key: Array<string | number>): Buffer; decode(bytes: Uint8Array): Array<string | number> }
  export function getLevelUpdates(db: unknown, docName: string, opts?: object): Promise<Uint8Array[]>
  export class LeveldbPersistence {
    constructor(location: string, opts?: { Level?: unknown; levelOptions?: object })
    /** Serializes operations; swallows errors (console.warn) and resolves null instead. */
    _transact<T>(f: (db: unknown) => Promise<T>): Promise<T | null>
    getYDoc(docName: string): Promise<Y.Doc>
    storeUpdate(docName: string, update: Uint8Array): Promise<number | null>
    flushDocument(docName: string): Promise<void | null>
    getStateVector(docName: string): Promise<Uint8Array>
    getAllDocNames(): Promise<string[]>
    clearDocument(docName: string): Promise<void>
    destroy(): Promise<void>
  }
}
