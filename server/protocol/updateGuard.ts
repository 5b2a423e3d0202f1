/**
 * Structural pre-check for untrusted Yjs v1 updates.
 *
 * `Y.applyUpdate` trusts its input. From a few dozen hostile bytes it will
 * - preallocate from a claimed count (`new Array(numberOfStructs)` in readClientsStructRefs:
 *   a 38-byte frame claiming 2^25 structs costs ~270 MB of heap on Node 20), and
 * - integrate the structs and only then read the delete set, so a frame whose delete set is
 *   truncated or invalid is half-applied before it throws. A struct that references a later struct
 *   of its own client is half-applied the same way.
 *
 * `checkUpdateStructure` walks the whole update the way UpdateDecoderV1 / readClientsStructRefs /
 * readItemContent / readDeleteSet would, without a Y.Doc and without allocating anything
 * proportional to a claimed count. Every loop consumes at least one byte per iteration, so the cost
 * is O(update.byteLength). It refuses anything Yjs could not decode completely, anything whose
 * counts cannot fit in the remaining bytes, and a few encodings that decode but then break
 * integration or re-encoding (zero lengths, same-client forward references, nesting too deep).
 * It does not check anything that needs the document (e.g. whether a parent ID names a type).
 *
 * Format reference (yjs 13.6, lib0 0.2): src/utils/encoding.js, src/utils/UpdateDecoder.js,
 * src/structs/Item.js, src/structs/Content*.js, src/utils/DeleteSet.js, lib0/decoding.js.
 */
import * as decoding from 'lib0/decoding'
import { ErrorCode } from '../../shared/errors.ts'

/**
 * What an update brings and what it refers to, read in the same walk (missingDependencies.ts
 * checks it against a document; no Y.decodeUpdate needed, whose Item objects were garbage at once).
 */
export interface UpdateDependencies {
  /** Per client: the clocks the update brings, [from, to). */
  readonly brought: ReadonlyMap<number, { from: number; to: number }>
  /** Whether it contains a Skip (a gap it admits to). */
  readonly skips: boolean
  /**
   * Its GC structs, flat: client, clock, length, … A GC claims its clock range as known without
   * content, so where it reaches past what the server knows it must be garbage of something the
   * update deletes (clientOwnership.ts).
   */
  readonly gcs: readonly number[]
  /** The IDs its items point at (origin, right origin, parent), flat: client, clock, client, clock… */
  readonly refs: readonly number[]
  /** Its deletions, flat: client, clock, length, … */
  readonly deletes: readonly number[]
  /**
   * Whether an item names a root as its parent together with a key (a root map field written
   * without an origin: a first write, or one that saw nothing there).
   */
  readonly keyedRootItems: boolean
  /**
   * For each item written with an origin (its parent and key are its neighbour's): that neighbour,
   * the origin or else the right origin, flat: client, clock, … With keyedRootItems it tells
   * whether an update can set a map field at all without decoding it (conflicts.ts maySetFields).
   */
  readonly neighbours: readonly number[]
}

/** The structural check alone (checkStoredUpdateStructure). */
export type StructureCheck = Omit<Extract<UpdateCheck, { ok: true }>, 'dependencies'> | Extract<UpdateCheck, { ok: false }>

export type UpdateCheck =
  | {
      ok: true
      structs: number
      clients: number
      deleteRanges: number
      /** Root type names the update names as parents (the gate refuses roots a doc type does not have). */
      roots: ReadonlySet<string>
      /** The roots among them that get an item without a key (array-style content; refused in a map root). */
      unkeyedRoots: ReadonlySet<string>
      /** Does it hold a shared type (ContentType)? Only those can nest deeper: else no depth check is due. */
      createsTypes: boolean
      /** What the update refers to and brings, for the dependency check before applying it. */
      dependencies: UpdateDependencies
    }
  | {
      ok: false
      code: typeof ErrorCode.MalformedUpdate | typeof ErrorCode.UpdateCountsOutOfRange
      message: string
    }

/**
 * Deepest Any / JSON value accepted. lib0's readAny/writeAny and V8's JSON.stringify recurse once
 * per level: ~10k levels overflow the stack on read (Any) or on every later re-encode (JSON, which
 * JSON.parse accepts iteratively), so one such item would make the document unpersistable.
 */
export const MAX_VALUE_DEPTH = 64

// Info byte layout (Item.js): low 5 bits = content ref; BIT8 origin, BIT7 right origin, BIT6 parentSub.
const BITS5 = 0b0001_1111
const BIT6 = 0b0010_0000
const BIT7 = 0b0100_0000
const BIT8 = 0b1000_0000
const REF_GC = 0
const REF_SKIP = 10
/** An item whose content is a shared type (a map, an XML element, …). */
const REF_CONTENT_TYPE = 7

// ContentType type refs (ContentType.js typeRefs): 0 YArray … 6 YXmlText. Element and hook carry a name.
const TYPE_REF_MAX = 6
const TYPE_REF_XML_ELEMENT = 3
const TYPE_REF_XML_HOOK = 5

// lib0 encoding.writeAny type bytes.
const ANY_UNDEFINED = 127
const ANY_NULL = 126
const ANY_VARINT = 125
const ANY_FLOAT32 = 124
const ANY_FLOAT64 = 123
const ANY_BIGINT64 = 122
const ANY_FALSE = 121
const ANY_TRUE = 120
const ANY_STRING = 119
const ANY_OBJECT = 118
const ANY_ARRAY = 117
const ANY_UINT8ARRAY = 116

/** Thrown inside the walk, turned into an `UpdateCheck` at the boundary. Never escapes this module. */
class Refusal extends Error {
  constructor(
    readonly code: typeof ErrorCode.MalformedUpdate | typeof ErrorCode.UpdateCountsOutOfRange,
    message: string,
  ) {
    super(message)
  }
}

// Real clients encode strings with TextEncoder, which always yields valid UTF-8 (lone surrogates
// become U+FFFD), so invalid UTF-8 only comes from hand-made frames. lib0 would decode it leniently
// and Yjs would store something other than what it was sent; we refuse instead.
const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Bounds-checked cursor over lib0's Decoder. lib0 primitives are used only where they are safe:
 * readUint8 / readVarInt read `arr[pos++]` without a bounds check (undefined → silently 0),
 * readUint8Array clamps a too-long length via subarray (truncated strings decode "fine"),
 * and readVarUint never range-checks the final byte (and overlong encodings can return NaN).
 * So every read is preceded or followed by our own check.
 */
class Reader {
  private readonly d: decoding.Decoder
  private readonly end: number

  constructor(bytes: Uint8Array) {
    this.d = decoding.createDecoder(bytes)
    this.end = bytes.length
  }

  get pos(): number {
    return this.d.pos
  }

  get remaining(): number {
    return this.end - this.d.pos
  }

  malformed(message: string): never {
    throw new Refusal(ErrorCode.MalformedUpdate, message)
  }

  private need(n: number, what: string, at = this.d.pos): void {
    if (n > this.end - this.d.pos) {
      this.malformed(`${what} at byte ${at} needs ${n} byte(s) but only ${this.end - this.d.pos} remain`)
    }
  }

  u8(what: string): number {
    this.need(1, what)
    return decoding.readUint8(this.d)
  }

  varUint(what: string): number {
    const at = this.d.pos
    this.need(1, what)
    let n: number
    try {
      n = decoding.readVarUint(this.d) // throws only on end-of-array or mid-number overflow
    } catch {
      if (this.d.pos >= this.end) this.malformed(`${what} at byte ${at} runs past the end of the update`)
      this.malformed(`${what} at byte ${at} is above Number.MAX_SAFE_INTEGER`)
    }
    if (!(n <= Number.MAX_SAFE_INTEGER)) this.malformed(`${what} at byte ${at} is above Number.MAX_SAFE_INTEGER`)
    return n
  }

  /** Signed varInt (Any type 125). The value itself is irrelevant to the structure. */
  varInt(what: string): void {
    const at = this.d.pos
    this.need(1, what)
    let n: number
    try {
      n = decoding.readVarInt(this.d)
    } catch {
      if (this.d.pos >= this.end) this.malformed(`${what} at byte ${at} runs past the end of the update`)
      this.malformed(`${what} at byte ${at} is out of the safe integer range`)
    }
    if (!(Math.abs(n) <= Number.MAX_SAFE_INTEGER)) this.malformed(`${what} at byte ${at} is out of the safe integer range`)
  }

  /**
   * A count of following elements. Each element takes at least one byte, so a count larger than the
   * bytes left is a lie, and exactly the lie that makes Yjs preallocate.
   */
  count(what: string): number {
    const at = this.d.pos
    const n = this.varUint(what)
    if (n > this.remaining) {
      throw new Refusal(
        ErrorCode.UpdateCountsOutOfRange,
        `${what} at byte ${at} claims ${n} element(s) but only ${this.remaining} byte(s) remain`,
      )
    }
    return n
  }

  /** A length that occupies clock space (GC / Skip / ContentDeleted / delete range). */
  len(what: string): number {
    const at = this.d.pos
    const n = this.varUint(what)
    if (n < 1) this.malformed(`${what} at byte ${at} is 0; Yjs never encodes empty ranges`)
    return n
  }

  skip(n: number, what: string): void {
    this.need(n, what)
    this.d.pos += n
  }

  /** varUint byte length + bytes (readVarUint8Array / readBuf). */
  bytes(what: string): void {
    const at = this.d.pos
    const n = this.varUint(`${what} length`)
    this.need(n, what, at)
    this.d.pos += n
  }

  /** varUint byte length + UTF-8 (readVarString / readString / readKey). */
  string(what: string): string {
    const at = this.d.pos
    const n = this.varUint(`${what} length`)
    this.need(n, what, at)
    try {
      return utf8.decode(decoding.readUint8Array(this.d, n))
    } catch {
      this.malformed(`${what} at byte ${at} is not valid UTF-8`)
    }
  }

  /** A string holding JSON (readJSON). */
  json(what: string): void {
    const at = this.d.pos
    this.jsonText(this.string(what), what, at)
  }

  /** JSON text must parse (else Yjs throws mid-decode) and nest ≤ MAX_VALUE_DEPTH (else it cannot be re-encoded). */
  jsonText(text: string, what: string, at: number): void {
    if (jsonDepth(text) > MAX_VALUE_DEPTH) this.malformed(`${what} at byte ${at} nests deeper than ${MAX_VALUE_DEPTH} levels`)
    try {
      JSON.parse(text) // V8's JSON.parse is iterative: linear cost, no stack risk
    } catch {
      this.malformed(`${what} at byte ${at} is not valid JSON`)
    }
  }

  /** The next byte, not consumed. */
  peek(what: string): number {
    this.need(1, what)
    return this.d.arr[this.d.pos] ?? 0
  }

  /** Depth is counted in containers (objects/arrays), the same way jsonDepth counts brackets. */
  private nest(depth: number, what: string, at: number): void {
    if (depth > MAX_VALUE_DEPTH) this.malformed(`${what} at byte ${at} nests deeper than ${MAX_VALUE_DEPTH} levels`)
  }

  /** One lib0 Any value, walked with an explicit depth bound instead of lib0's unbounded recursion. */
  any(what: string, depth = 0): void {
    const at = this.d.pos
    const type = this.u8(`${what} type`)
    switch (type) {
      case ANY_UNDEFINED:
      case ANY_NULL:
      case ANY_FALSE:
      case ANY_TRUE:
        return
      case ANY_VARINT:
        return this.varInt(what)
      case ANY_FLOAT32:
        return this.skip(4, `${what} (float32)`)
      case ANY_FLOAT64:
        return this.skip(8, `${what} (float64)`)
      case ANY_BIGINT64:
        return this.skip(8, `${what} (bigint64)`)
      case ANY_STRING:
        this.string(what)
        return
      case ANY_UINT8ARRAY:
        return this.bytes(what)
      case ANY_OBJECT: {
        this.nest(depth + 1, what, at)
        const n = this.count(`${what} object size`)
        for (let i = 0; i < n; i++) {
          this.string(`${what} key`)
          this.any(what, depth + 1)
        }
        return
      }
      case ANY_ARRAY: {
        this.nest(depth + 1, what, at)
        const n = this.count(`${what} array length`)
        for (let i = 0; i < n; i++) this.any(what, depth + 1)
        return
      }
      default:
        this.malformed(`${what} at byte ${at} has unknown Any type ${type}`)
    }
  }
}

/** Maximum bracket nesting of a JSON text, ignoring brackets inside strings. Linear, no allocation. */
const jsonDepth = (text: string): number => {
  let depth = 0
  let max = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c /* \ */) i++
      else if (c === 0x22 /* " */) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) max = Math.max(max, ++depth)
    else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--
  }
  return max
}

/** Adds a struct/range length to a clock; Yjs does plain `clock += len`, which silently loses precision. */
const advance = (r: Reader, clock: number, len: number, at: number): number => {
  const next = clock + len
  if (next > Number.MAX_SAFE_INTEGER) r.malformed(`clock overflows Number.MAX_SAFE_INTEGER at byte ${at}`)
  return next
}

/**
 * Item content (Item.js readItemContent → contentRefs[ref]). Returns the item's clock length, which
 * is what readClientsStructRefs adds to the running clock.
 */
const readContent = (r: Reader, ref: number, at: number): number => {
  switch (ref) {
    case 1: // ContentDeleted: len
      return r.len('ContentDeleted length')
    case 2: {
      // ContentJSON (legacy): count, then each element as a JSON string or the literal 'undefined'
      const n = r.count('ContentJSON element count')
      if (n < 1) r.malformed(`ContentJSON at byte ${at} is empty; Yjs never encodes zero-length items`)
      for (let i = 0; i < n; i++) {
        const elemAt = r.pos
        const text = r.string('ContentJSON element')
        if (text !== 'undefined') r.jsonText(text, 'ContentJSON element', elemAt)
      }
      return n
    }
    case 3: // ContentBinary: readBuf
      r.bytes('ContentBinary')
      return 1
    case 4: {
      // ContentString: its clock length is the UTF-16 length of the decoded string
      const length = r.string('ContentString').length
      if (length < 1) r.malformed(`ContentString at byte ${at} is empty; Yjs never encodes zero-length items`)
      return length
    }
    case 5: // ContentEmbed: readJSON
      r.json('ContentEmbed')
      return 1
    case 6: // ContentFormat: readKey + readJSON
      r.string('ContentFormat key')
      r.json('ContentFormat value')
      return 1
    case 7: {
      // ContentType: readTypeRef, and a node name for XmlElement / XmlHook
      const typeAt = r.pos
      const typeRef = r.varUint('ContentType type ref')
      if (typeRef > TYPE_REF_MAX) r.malformed(`ContentType at byte ${typeAt} has unknown type ref ${typeRef}`)
      if (typeRef === TYPE_REF_XML_ELEMENT || typeRef === TYPE_REF_XML_HOOK) r.string('ContentType node name')
      return 1
    }
    case 8: {
      // ContentAny: count, then each value as lib0 Any
      const n = r.count('ContentAny element count')
      if (n < 1) r.malformed(`ContentAny at byte ${at} is empty; Yjs never encodes zero-length items`)
      for (let i = 0; i < n; i++) r.any('ContentAny value')
      return n
    }
    case 9: {
      // ContentDoc: guid string + opts Any. createDocFromOpts reads opts.shouldLoad, so a non-object throws.
      r.string('ContentDoc guid')
      const optsAt = r.pos
      if (r.peek('ContentDoc options') !== ANY_OBJECT) r.malformed(`ContentDoc options at byte ${optsAt} are not an object`)
      r.any('ContentDoc options')
      return 1
    }
    default:
      return r.malformed(`unknown content ref ${ref} at byte ${at}`)
  }
}

/**
 * An ID (readLeftID / readRightID): client, clock. A struct can only point at what its author had
 * already created, so an ID of its own client must lie strictly before its own clock. Item.getMissing
 * relies on exactly that (it never waits for same-client IDs), and a forward or self reference makes
 * integration throw halfway through the update (findIndexSS: "Unexpected case" / reading 'id' of undefined).
 */
const readId = (r: Reader, what: string, client: number, clock: number, refs: number[] | null): void => {
  const at = r.pos
  const idClient = r.varUint(`${what} client`)
  const idClock = r.varUint(`${what} clock`)
  if (idClient === client && idClock >= clock) {
    r.malformed(`${what} at byte ${at} points at clock ${idClock} of its own client, not before the struct's clock ${clock}`)
  }
  refs?.push(idClient, idClock)
}

interface StructWalk {
  clients: number
  structs: number
  roots: Set<string>
  unkeyedRoots: Set<string>
  createsTypes: boolean
  brought: Map<number, { from: number; to: number }>
  skips: boolean
  /** null when not collected, like refs. */
  gcs: number[] | null
  /** null when the dependencies are not collected (a stored update only needs the check). */
  refs: number[] | null
  keyedRootItems: boolean
  /** null when not collected, like refs. */
  neighbours: number[] | null
}

/**
 * Struct section (encoding.js readClientsStructRefs):
 *   varUint #clients, then per client: varUint #structs, varUint client, varUint start clock, structs.
 * Each struct starts with an info byte: ref 0 = GC(len), ref 10 = Skip(len), 1..9 = Item.
 */
const readStructs = (r: Reader, collect: boolean): StructWalk => {
  const clients = r.count('number of clients')
  const walk: StructWalk = {
    clients,
    structs: 0,
    roots: new Set<string>(),
    unkeyedRoots: new Set<string>(),
    createsTypes: false,
    brought: new Map(),
    skips: false,
    gcs: collect ? [] : null,
    refs: collect ? [] : null,
    keyedRootItems: false,
    neighbours: collect ? [] : null,
  }
  const { roots, refs, gcs, neighbours } = walk
  for (let c = 0; c < clients; c++) {
    const n = r.count(`client section ${c}: number of structs`)
    const client = r.varUint(`client section ${c}: client id`)
    let clock = r.varUint(`client section ${c}: start clock`)
    const from = clock
    for (let s = 0; s < n; s++) {
      const at = r.pos
      const info = r.u8('struct info byte')
      const ref = info & BITS5
      let length: number
      if (ref === REF_GC || ref === REF_SKIP) {
        // GC and Skip are written as the bare ref. Flag bits on them are never produced, and Yjs's
        // two readers disagree on them (readClientsStructRefs switches on info & BITS5, the
        // LazyStructReader behind mergeUpdates/decodeUpdate tests info === 10), so refuse them.
        if (info !== ref) r.malformed(`unknown info byte 0x${info.toString(16)} at byte ${at}`)
        length = r.len(ref === REF_GC ? 'GC length' : 'Skip length')
        if (ref === REF_SKIP) walk.skips = true
        else gcs?.push(client, clock, length)
      } else if (ref <= 9) {
        const firstRef = refs ? refs.length : 0
        if (info & BIT8) readId(r, 'origin', client, clock, refs)
        if (info & BIT7) readId(r, 'right origin', client, clock, refs)
        // Without origins the parent is written explicitly: parentInfo 1 → root type name, else an ID.
        // (With an origin, Yjs takes the parent and the key from the origin item.)
        if ((info & (BIT7 | BIT8)) === 0) {
          const rootName = r.varUint('parent info') === 1 ? r.string('parent type name') : null
          if (rootName === null) readId(r, 'parent', client, clock, refs)
          else roots.add(rootName)
          if (info & BIT6) {
            r.string('parentSub key')
            if (rootName !== null) walk.keyedRootItems = true
          } else if (rootName !== null) walk.unkeyedRoots.add(rootName)
        } else if (refs && neighbours) {
          neighbours.push(refs[firstRef]!, refs[firstRef + 1]!)
        }
        if (ref === REF_CONTENT_TYPE) walk.createsTypes = true
        length = readContent(r, ref, at)
      } else {
        return r.malformed(`unknown content ref ${ref} (info byte 0x${info.toString(16)}) at byte ${at}`)
      }
      clock = advance(r, clock, length, at)
      walk.structs++
    }
    if (n > 0 && collect) {
      // A client may have several sections (Yjs writes one; odd input might not): their union.
      const range = walk.brought.get(client)
      if (!range) walk.brought.set(client, { from, to: clock })
      else {
        range.from = Math.min(range.from, from)
        range.to = Math.max(range.to, clock)
      }
    }
  }
  return walk
}

/**
 * Delete set (DeleteSet.js readDeleteSet, DSDecoderV1): varUint #clients, then per client:
 * varUint client, varUint #ranges, ranges of (varUint clock, varUint len).
 * A zero len is refused: Yjs keeps an unapplicable range as pending, re-encodes it as v2, and the v2
 * encoder throws on len 0 — after the structs of this update were already integrated.
 */
const readDeleteSet = (r: Reader, deletes: number[] | null): number => {
  const clients = r.count('delete set: number of clients')
  let ranges = 0
  for (let c = 0; c < clients; c++) {
    const client = r.varUint(`delete set client ${c}: client id`)
    const n = r.count(`delete set client ${c}: number of ranges`)
    for (let i = 0; i < n; i++) {
      const at = r.pos
      const clock = r.varUint('delete range clock')
      const len = r.len('delete range length')
      advance(r, clock, len, at)
      deletes?.push(client, clock, len)
    }
    ranges += n
  }
  return ranges
}

/**
 * Walks a v1 update completely and says whether Yjs can decode all of it, without decoding it, and
 * what it brings and refers to (for the dependency check). Never throws. Call it before
 * Y.applyUpdate / Y.mergeUpdates on anything a peer sent.
 */
export const checkUpdateStructure = (update: Uint8Array): UpdateCheck => walkUpdate(update, true)

/** The same check without collecting the dependencies: for stored updates (a cold load's hot path). */
export const checkStoredUpdateStructure = (update: Uint8Array): StructureCheck => walkUpdate(update, false)

function walkUpdate(update: Uint8Array, collect: true): UpdateCheck
function walkUpdate(update: Uint8Array, collect: false): StructureCheck
function walkUpdate(update: Uint8Array, collect: boolean): UpdateCheck | StructureCheck {
  if (!(update instanceof Uint8Array)) {
    return { ok: false, code: ErrorCode.MalformedUpdate, message: 'update is not a Uint8Array' }
  }
  try {
    const r = new Reader(update)
    const { clients, structs, roots, unkeyedRoots, createsTypes, brought, skips, gcs, refs, keyedRootItems, neighbours } = readStructs(r, collect)
    const deletes: number[] | null = collect ? [] : null
    const deleteRanges = readDeleteSet(r, deletes)
    if (r.remaining > 0) r.malformed(`${r.remaining} trailing byte(s) after the delete set at byte ${r.pos}`)
    const checked = { ok: true as const, structs, clients, deleteRanges, roots, unkeyedRoots, createsTypes }
    return refs && deletes && gcs && neighbours ? { ...checked, dependencies: { brought, skips, gcs, refs, deletes, keyedRootItems, neighbours } } : checked
  } catch (err) {
    if (err instanceof Refusal) return { ok: false, code: err.code, message: err.message }
    // Not expected (every failure above is a Refusal), but this guard must never throw at the boundary.
    return { ok: false, code: ErrorCode.MalformedUpdate, message: `update could not be checked: ${String(err)}` }
  }
}
