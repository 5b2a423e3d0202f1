import * as encoding from 'lib0/encoding'
import { digest as sha256 } from 'lib0/hash/sha256'
import * as Y from 'yjs'

/**
 * A digest of what a document holds, equal on two replicas exactly when they hold the same: the
 * state vector (which operations) and the visible content (what they left). Client and server
 * compare it after a sync — a replica whose stored copy was damaged (same operations, other content)
 * syncs nothing with Yjs's own protocol, because the state vectors already agree; only this notices.
 *
 * Canonical, whatever the encoding and whichever roots a replica has named: replicas split and merge items differently (typing order, GC,
 * the order updates arrived in) and instantiate root types as different classes (the server reads a
 * root it never asked for as a bare AbstractType). So the digest reads every type the same generic
 * way — keyed entries in key order, then the sequence of visible items — writes adjacent string
 * content as one run (however it is split into items) and names nested types by kind, never by
 * class name (a browser bundle may minify those). Nested types are numbered in the order they are
 * met and read from a queue: no recursion over the document's structure.
 *
 * SHA-256 over that stream (lib0's: the same bytes in a browser and in Node).
 */
export const documentDigest = (doc: Y.Doc): Uint8Array => {
  const encoder = encoding.createEncoder()
  writeStateVector(encoder, Y.encodeStateVector(doc))
  // A root with nothing visible in it counts as absent: the app names every root of its document
  // type when it opens one, the server only those its updates touch.
  const roots = [...doc.share.keys()].filter((name) => holdsAnything(doc.share.get(name)!)).sort()
  const queue: Y.AbstractType<any>[] = []
  encoding.writeVarUint(encoder, roots.length)
  for (const name of roots) {
    encoding.writeVarString(encoder, name)
    queue.push(doc.share.get(name)!)
  }
  for (let next = 0; next < queue.length; next++) writeType(encoder, queue[next]!, queue)
  return sha256(encoding.toUint8Array(encoder))
}

const holdsAnything = (type: Y.AbstractType<any>): boolean => {
  for (const item of type._map.values()) if (!item.deleted) return true
  for (let item = type._start; item !== null; item = item.right) if (!item.deleted) return true
  return false
}

/** Two digests (or state vectors) byte for byte. */
export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.byteLength === b.byteLength && a.every((byte, index) => byte === b[index])

/** Client → clock, sorted by client: the encoded state vector's order is a Map's insertion order. */
const writeStateVector = (encoder: encoding.Encoder, encoded: Uint8Array): void => {
  const clocks = [...Y.decodeStateVector(encoded)].sort(([a], [b]) => a - b)
  encoding.writeVarUint(encoder, clocks.length)
  for (const [client, clock] of clocks) {
    encoding.writeVarUint(encoder, client)
    encoding.writeVarUint(encoder, clock)
  }
}

const Tag = { Type: 1, Value: 2, Text: 3, Format: 4, Embed: 5, Binary: 6, Subdocument: 7, EndOfType: 8 } as const

const writeType = (encoder: encoding.Encoder, type: Y.AbstractType<any>, queue: Y.AbstractType<any>[]): void => {
  const keys = [...type._map.entries()].filter(([, item]) => !item.deleted).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  encoding.writeVarUint(encoder, keys.length)
  for (const [key, item] of keys) {
    encoding.writeVarString(encoder, key)
    const values = item.content.getContent()
    writeContent(encoder, item.content, values.slice(-1), queue)
  }
  // Adjacent strings are one run: "ab" typed as one item and as two must digest the same.
  let run = ''
  const endRun = () => {
    if (run === '') return
    encoding.writeVarUint(encoder, Tag.Text)
    encoding.writeVarString(encoder, run)
    run = ''
  }
  for (let item = type._start; item !== null; item = item.right) {
    if (item.deleted) continue
    if (item.content instanceof Y.ContentString) run += item.content.str
    else {
      endRun()
      writeContent(encoder, item.content, item.content.getContent(), queue)
    }
  }
  endRun()
  encoding.writeVarUint(encoder, Tag.EndOfType)
}

const writeContent = (encoder: encoding.Encoder, content: Y.Item['content'], values: readonly unknown[], queue: Y.AbstractType<any>[]): void => {
  if (content instanceof Y.ContentType) {
    encoding.writeVarUint(encoder, Tag.Type)
    encoding.writeVarString(encoder, kindOf(content.type))
    encoding.writeVarUint(encoder, queue.length)
    queue.push(content.type)
  } else if (content instanceof Y.ContentFormat) {
    encoding.writeVarUint(encoder, Tag.Format)
    encoding.writeVarString(encoder, content.key)
    encoding.writeVarString(encoder, JSON.stringify(content.value) ?? 'undefined')
  } else if (content instanceof Y.ContentEmbed) {
    encoding.writeVarUint(encoder, Tag.Embed)
    encoding.writeVarString(encoder, JSON.stringify(content.embed) ?? 'undefined')
  } else if (content instanceof Y.ContentBinary) {
    encoding.writeVarUint(encoder, Tag.Binary)
    encoding.writeVarUint8Array(encoder, content.content)
  } else if (content instanceof Y.ContentDoc) {
    encoding.writeVarUint(encoder, Tag.Subdocument)
    encoding.writeVarString(encoder, content.doc?.guid ?? '')
  } else {
    // ContentAny, ContentJSON, ContentString (a map value): each value on its own, so a split
    // item reads the same as a whole one.
    for (const value of values) {
      encoding.writeVarUint(encoder, Tag.Value)
      encoding.writeVarString(encoder, typeof value === 'string' ? `s${value}` : `j${JSON.stringify(value) ?? 'undefined'}`)
    }
  }
}

/** A nested type's kind (subclasses first: XmlText is a Text, XmlElement an XmlFragment). */
const kindOf = (type: Y.AbstractType<any>): string => {
  if (type instanceof Y.XmlElement) return `element:${type.nodeName}`
  if (type instanceof Y.XmlHook) return `hook:${type.hookName}`
  if (type instanceof Y.XmlFragment) return 'fragment'
  if (type instanceof Y.XmlText) return 'xml-text'
  if (type instanceof Y.Text) return 'text'
  if (type instanceof Y.Array) return 'array'
  if (type instanceof Y.Map) return 'map'
  return 'type'
}
