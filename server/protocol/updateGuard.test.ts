import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { ErrorCode } from '../../shared/errors.ts'
import { checkStoredUpdateStructure, checkUpdateStructure, MAX_VALUE_DEPTH, type UpdateCheck } from './updateGuard.ts'
import { seededRandom } from '../testing/seededRandom.ts'

// ---------------------------------------------------------------------------------------------
// Frame building. Exported for server tests that need hostile frames; note that importing this
// file also registers its tests, so a second user should move these into server/testing/.
// ---------------------------------------------------------------------------------------------

/**
 * One piece of a hand-made v1 update: a number is a varUint, a string a varString (as readString /
 * readKey), `{ u8 }` a raw byte (the info byte), `{ any }` a lib0 Any, a Uint8Array raw bytes.
 */
export type FramePart = number | string | Uint8Array | { u8: number } | { any: encoding.AnyEncodable }

/** Concatenates parts into raw bytes. Write whatever you like: nothing here validates. */
export const v1Frame = (...parts: FramePart[]): Uint8Array => {
  const e = encoding.createEncoder()
  for (const part of parts) {
    if (typeof part === 'number') encoding.writeVarUint(e, part)
    else if (typeof part === 'string') encoding.writeVarString(e, part)
    else if (part instanceof Uint8Array) encoding.writeUint8Array(e, part)
    else if ('u8' in part) encoding.writeUint8(e, part.u8)
    else encoding.writeAny(e, part.any)
  }
  return encoding.toUint8Array(e)
}

/** Info byte of an item without origins, whose parent is written explicitly; `ref` is the content ref. */
const rootItem = (ref: number): FramePart[] => [{ u8: ref }, 1, 't']

/** One client section (client 7, clock 0) holding one root-level ContentString 'hello' in type 't'. */
const helloStructs: FramePart[] = [1, 1, 7, 0, ...rootItem(4), 'hello']

/** Nested lib0 Any arrays, built as bytes so that building them does not recurse either. */
const nestedAnyBytes = (depth: number): Uint8Array => {
  const bytes = new Uint8Array(depth * 2 + 1)
  for (let i = 0; i < depth; i++) bytes.set([117, 1], i * 2) // array of length 1
  bytes[depth * 2] = 126 // null at the bottom
  return bytes
}

export const attackFrames = {
  /**
   * 38 bytes whose single client section claims `claimed` structs: Yjs does `new Array(claimed)`.
   * On Node 20 the worst value is 2 ** 25 (~270 MB of heap); above 2 ** 25 V8 makes a sparse array.
   */
  hugeStructCount: (claimed = 2 ** 31): Uint8Array => {
    const head = v1Frame(1, claimed, 7, 0)
    return v1Frame(head, new Uint8Array(38 - head.length))
  },
  /** The update claims `claimed` client sections. */
  hugeClientCount: (claimed = 2 ** 40): Uint8Array => v1Frame(claimed, 1, 7, 0, { u8: 0 }, 1, 0),
  /** No structs, a delete set claiming `claimed` clients. */
  hugeDeleteClientCount: (claimed = 2 ** 32): Uint8Array => v1Frame(0, claimed, 7, 1, 0, 1),
  /** No structs, one delete-set client claiming `claimed` ranges. */
  hugeDeleteRangeCount: (claimed = 2 ** 31): Uint8Array => v1Frame(0, 1, 7, claimed, 0, 1),
  /** A root ContentAny item holding `depth` nested arrays (lib0's readAny recurses once per level). */
  nestedAny: (depth = 10_000): Uint8Array => v1Frame(1, 1, 7, 0, ...rootItem(8), 1, nestedAnyBytes(depth), 0),
  /** A root ContentEmbed whose JSON nests `depth` arrays: Yjs accepts it, then can never re-encode the doc. */
  nestedJsonEmbed: (depth = 10_000): Uint8Array =>
    v1Frame(1, 1, 7, 0, ...rootItem(5), '['.repeat(depth) + ']'.repeat(depth), 0),
  /** Valid structs, then a delete set cut off mid-range: Yjs integrates 'hello' and then throws. */
  truncatedDeleteSet: (): Uint8Array => v1Frame(...helloStructs, 1, 7, 1, 100),
  /** Valid structs, then a zero-length delete of a future clock: Yjs integrates 'hello' and then throws. */
  zeroLengthDelete: (): Uint8Array => v1Frame(...helloStructs, 1, 7, 1, 100, 0),
  /** A valid update followed by junk. */
  trailingGarbage: (): Uint8Array => v1Frame(...helloStructs, 0, new Uint8Array([1, 2, 3])),
}

// ---------------------------------------------------------------------------------------------
// Test helpers
// ---------------------------------------------------------------------------------------------

/** The project's seeded PRNG (server/testing/seededRandom.ts), plus random bytes. */
const prng = (seed: number) => {
  const random = seededRandom(seed)
  const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => random.int(256))
  return { next: random.next, int: random.int, pick: random.pick, bytes }
}
type Rng = ReturnType<typeof prng>

const CODES = new Set<string>([ErrorCode.MalformedUpdate, ErrorCode.UpdateCountsOutOfRange])

/** Content refs / struct kinds seen by `expectOk`, to prove the real-update tests cover the format. */
const seenKinds = new Set<string>()

const kindOf = (s: Y.Item | Y.GC | Y.Skip): string =>
  s instanceof Y.Item ? s.content.constructor.name : s.constructor.name

/** What Yjs's own decoder (LazyStructReader + readDeleteSet) finds in the update. */
const yjsCounts = (update: Uint8Array) => {
  const { structs, ds } = Y.decodeUpdate(update)
  for (const s of structs) seenKinds.add(kindOf(s))
  let deleteRanges = 0
  for (const ranges of ds.clients.values()) deleteRanges += ranges.length
  return { structs: structs.length, clients: new Set(structs.map((s) => s.id.client)).size, deleteRanges }
}

const expectOk = (update: Uint8Array, label = 'update'): Extract<UpdateCheck, { ok: true }> => {
  const check = checkUpdateStructure(update)
  assert.ok(check.ok, `${label} refused: ${check.ok ? '' : `${check.code} ${check.message}`}`)
  assert.deepEqual(
    { structs: check.structs, clients: check.clients, deleteRanges: check.deleteRanges },
    yjsCounts(update),
    `${label}: counts differ from Y.decodeUpdate`,
  )
  Y.applyUpdate(new Y.Doc(), update) // and Yjs really takes it
  // The stored-update variant (no dependencies collected) gives the same verdict and counts.
  const { dependencies: _dependencies, ...structure } = check
  assert.deepEqual(checkStoredUpdateStructure(update), structure, `${label}: stored-update check differs`)
  return check
}

type RefusalCode = typeof ErrorCode.MalformedUpdate | typeof ErrorCode.UpdateCountsOutOfRange

const expectRefused = (update: Uint8Array, code: RefusalCode, pattern?: RegExp): string => {
  const check = checkUpdateStructure(update)
  assert.equal(check.ok, false, 'expected a refusal')
  if (check.ok) throw new Error('unreachable')
  assert.equal(check.code, code, check.message)
  assert.match(check.message, /at byte \d+/, 'message names the offset')
  if (pattern) assert.match(check.message, pattern)
  assert.deepEqual(checkStoredUpdateStructure(update), check, 'the stored-update check refuses it the same way')
  return check.message
}

/** Runs the guard on hostile input: it must return a well-formed result, never throw. */
const neverThrows = (update: Uint8Array): UpdateCheck => {
  let check: UpdateCheck
  try {
    check = checkUpdateStructure(update)
  } catch (err) {
    assert.fail(`checkUpdateStructure threw on ${Buffer.from(update).toString('hex')}: ${String(err)}`)
  }
  if (check.ok) {
    assert.ok(Number.isSafeInteger(check.structs) && Number.isSafeInteger(check.deleteRanges), 'Number.isSafeInteger(check.structs) && Number.isSafeInteger(check.deleteRanges)')
    // The walk mirrors Yjs's structural decoder: whatever it passes, Yjs can decode completely.
    assert.doesNotThrow(() => Y.decodeUpdate(update), `guard passed what Yjs cannot decode: ${Buffer.from(update).toString('hex')}`)
  } else {
    assert.ok(CODES.has(check.code), check.code)
    assert.equal(typeof check.message, 'string')
  }
  return check
}

/** All updates a doc emits while `edit` runs. */
const updatesOf = (doc: Y.Doc, edit: () => void): Uint8Array[] => {
  const out: Uint8Array[] = []
  const onUpdate = (u: Uint8Array) => out.push(u)
  doc.on('update', onUpdate)
  edit()
  doc.off('update', onUpdate)
  return out
}

/** Yjs accepts hooks in fragments at runtime, but its typings do not say so. */
const xmlHook = (name: string): Y.XmlElement => new Y.XmlHook(name) as unknown as Y.XmlElement

/** A document that uses every kind of content Yjs encodes (except the legacy ContentJSON). */
const richDoc = (): Y.Doc => {
  const doc = new Y.Doc()
  const text = doc.getText('text')
  text.insert(0, 'Hello world, with emoji 😀 and ü')
  text.format(0, 5, { bold: true, link: { href: 'https://example.com' } })
  text.insertEmbed(6, { image: 'cat.png', size: [1, 2] })
  text.delete(7, 3)
  const map = doc.getMap('map')
  map.set('string', 'value')
  map.set('number', 42)
  map.set('negative', -7)
  map.set('float', 0.1)
  map.set('big', 2 ** 40)
  map.set('true', true)
  map.set('false', false)
  map.set('null', null)
  map.set('undefined', undefined)
  map.set('object', { a: [1, 'two', { three: null }], b: { c: true } })
  map.set('array', [1, [2, [3]], { x: 'y' }])
  map.set('binary', new Uint8Array([0, 1, 2, 255]))
  map.set('anyWithBinary', { bytes: new Uint8Array([9, 9]) })
  const nested = new Y.Map<unknown>()
  map.set('nestedMap', nested)
  nested.set('k', 'v')
  const arr = new Y.Array<unknown>()
  map.set('nestedArray', arr)
  arr.insert(0, [1, 'a', new Y.Map(), new Y.Array(), new Y.Text('inner')])
  arr.delete(1, 1)
  map.set('sub', new Y.Doc({ autoLoad: true, meta: { title: 'sub' } }))
  map.set('subNoGc', new Y.Doc({ gc: false }))
  map.delete('string')
  const frag = doc.getXmlFragment('xml')
  const p = new Y.XmlElement('p')
  p.setAttribute('class', 'lead')
  const xmlText = new Y.XmlText()
  p.insert(0, [xmlText])
  xmlText.insert(0, 'formatted', { italic: true })
  xmlText.insertEmbed(3, { mention: 'bob' })
  frag.insert(0, [p, xmlHook('hook'), new Y.XmlText('plain')])
  return doc
}

// ---------------------------------------------------------------------------------------------
// Real updates pass
// ---------------------------------------------------------------------------------------------

describe('real updates pass, with the counts Yjs reports', () => {
  test('empty update', () => {
    const update = Y.encodeStateAsUpdate(new Y.Doc())
    assert.deepEqual([...update], [0, 0])
    assert.deepEqual(checkUpdateStructure(update), {
      ok: true,
      structs: 0,
      clients: 0,
      deleteRanges: 0,
      roots: new Set(),
      unkeyedRoots: new Set(),
      createsTypes: false,
      dependencies: { brought: new Map(), skips: false, gcs: [], refs: [], deletes: [], keyedRootItems: false, neighbours: [] },
    })
  })

  test('createsTypes: set by a shared type in the update (what can nest deeper), not by text or fields', () => {
    const doc = new Y.Doc()
    const updates: Uint8Array[] = []
    doc.on('update', (update: Uint8Array) => updates.push(update))
    doc.getXmlFragment('body').insert(0, [new Y.XmlElement('paragraph')])
    doc.getMap('meta').set('title', 'T')
    ;(doc.getXmlFragment('body').get(0) as Y.XmlElement).insert(0, [new Y.XmlText('x')])
    ;((doc.getXmlFragment('body').get(0) as Y.XmlElement).get(0) as Y.XmlText).insert(1, 'y')
    const flags = updates.map((update) => {
      const check = checkUpdateStructure(update)
      assert.ok(check.ok, 'check.ok')
      return check.createsTypes
    })
    assert.deepEqual(flags, [true, false, true, false])
  })

  test('text inserts, one update per keystroke and as a whole', () => {
    const doc = new Y.Doc()
    const text = doc.getText('t')
    const updates = updatesOf(doc, () => {
      for (const [i, ch] of [...'hello, wörld 👋'].entries()) text.insert(i === 0 ? 0 : text.length, ch)
      text.insert(0, 'prefix ')
    })
    for (const u of updates) assert.equal(expectOk(u).structs, 1)
    expectOk(Y.encodeStateAsUpdate(doc))
  })

  test('Y.Map with every value kind', () => {
    const doc = new Y.Doc()
    const map = doc.getMap('m')
    const values: unknown[] = ['s', '', 0, -1, 2 ** 31, 2 ** 53 - 1, 0.5, Math.PI, -0, true, false, null, undefined,
      { nested: { deeper: [1, { x: [] }] } }, [[], {}, [null]], new Uint8Array([1, 2, 3]), new Uint8Array(0)]
    const updates = updatesOf(doc, () => values.forEach((v, i) => map.set(`k${i}`, v)))
    for (const u of updates) expectOk(u)
    const check = expectOk(Y.encodeStateAsUpdate(doc))
    assert.equal(check.structs, values.length)
    const copy = new Y.Doc()
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc))
    assert.deepEqual(copy.getMap('m').toJSON(), map.toJSON())
  })

  test('XmlFragment with elements, attributes, formatted text, embeds and hooks', () => {
    const doc = new Y.Doc()
    const updates = updatesOf(doc, () => {
      const frag = doc.getXmlFragment('x')
      const el = new Y.XmlElement('paragraph')
      el.setAttribute('align', 'left')
      frag.insert(0, [el, xmlHook('hook')])
      const t = new Y.XmlText()
      el.insert(0, [t])
      t.insert(0, 'bold and plain', { bold: true })
      t.format(5, 3, { bold: null, color: '#f00' })
      t.insertEmbed(4, { image: 'x.png' }, { width: 3 })
    })
    for (const u of updates) expectOk(u)
    expectOk(Y.encodeStateAsUpdate(doc))
  })

  test('nested types, deletions, subdocs and a rich document', () => {
    const doc = richDoc()
    const check = expectOk(Y.encodeStateAsUpdate(doc))
    assert.ok(check.deleteRanges > 0, 'has a delete set')
    const del = updatesOf(doc, () => doc.getText('text').delete(0, 3))
    assert.equal(expectOk(del[0] as Uint8Array).structs, 0, 'a pure deletion carries no structs')
  })

  test('GC structs after deleting a nested type with gc on', () => {
    const doc = new Y.Doc({ gc: true })
    const map = doc.getMap('m')
    const inner = new Y.Map<string>()
    map.set('inner', inner)
    for (let i = 0; i < 20; i++) inner.set(`k${i}`, 'x'.repeat(i))
    map.delete('inner')
    const update = Y.encodeStateAsUpdate(doc)
    assert.ok(Y.decodeUpdate(update).structs.some((s) => s instanceof Y.GC), 'update holds GC structs')
    expectOk(update)
  })

  test('Y.mergeUpdates output, including Skip structs for gaps', () => {
    const doc = richDoc()
    const updates = updatesOf(doc, () => {
      doc.getText('text').insert(0, 'a')
      doc.getText('text').insert(0, 'b')
      doc.getText('text').insert(0, 'c')
      doc.getText('text').delete(0, 2)
    })
    expectOk(Y.mergeUpdates(updates))
    const withGap = Y.mergeUpdates([updates[0] as Uint8Array, updates[2] as Uint8Array])
    assert.ok(Y.decodeUpdate(withGap).structs.some((s) => s instanceof Y.Skip), 'merge produced a Skip')
    expectOk(withGap)
    expectOk(Y.mergeUpdates([Y.encodeStateAsUpdate(doc), ...updates]))
    expectOk(Y.diffUpdate(Y.encodeStateAsUpdate(doc), Y.encodeStateVector(new Y.Doc())))
  })

  test('legacy ContentJSON (no longer written by Yjs, still read by it)', () => {
    const update = v1Frame(1, 1, 7, 0, ...rootItem(2), 3, '{"a":[1,2]}', 'undefined', '"s"', 0)
    assert.equal(expectOk(update).structs, 1)
    const doc = new Y.Doc()
    Y.applyUpdate(doc, update)
    assert.deepEqual(doc.getArray('t').toArray(), [{ a: [1, 2] }, undefined, 's'])
  })

  test('Any values of every type, including bigint and float32, and nesting up to the limit', () => {
    const values: encoding.AnyEncodable[] = [undefined, null, -5, 1.5, 0.1, 12345678901234n, true, false, 'é',
      { k: [1] }, [new Uint8Array([7])]]
    const flat = v1Frame(1, 1, 7, 0, ...rootItem(8), values.length, ...values.map((any) => ({ any })), 0)
    assert.equal(expectOk(flat).structs, 1)
    expectOk(attackFrames.nestedAny(MAX_VALUE_DEPTH), 'Any nested exactly to the limit')
    expectOk(attackFrames.nestedJsonEmbed(MAX_VALUE_DEPTH), 'JSON nested exactly to the limit')
  })

  test('seeded random documents and edits (500 docs)', () => {
    const rng = prng(0x5eed)
    for (let n = 0; n < 500; n++) {
      const updates = randomSession(rng)
      updates.forEach((u, i) => expectOk(u, `doc ${n} update ${i}`))
      if (updates.length > 0) expectOk(Y.mergeUpdates(updates), `doc ${n} merged`)
    }
  })

  test('the real-update tests above covered every struct kind and content type', () => {
    for (const kind of ['GC', 'Skip', 'ContentDeleted', 'ContentJSON', 'ContentBinary', 'ContentString',
      'ContentEmbed', 'ContentFormat', 'ContentType', 'ContentAny', 'ContentDoc']) {
      assert.ok(seenKinds.has(kind), `no real update contained ${kind}`)
    }
  })
})

/** Two or three peers making random edits, syncing now and then; returns every update emitted. */
const randomSession = (rng: Rng): Uint8Array[] => {
  const peers = Array.from({ length: 1 + rng.int(3) }, () => new Y.Doc({ gc: rng.next() < 0.7 }))
  const updates: Uint8Array[] = []
  // Updates re-emitted while applying a sync are real Yjs output too, so they are kept.
  for (const doc of peers) doc.on('update', (u: Uint8Array) => updates.push(u))
  const steps = 1 + rng.int(25)
  for (let s = 0; s < steps; s++) {
    const doc = rng.pick(peers)
    doc.transact(() => randomEdit(rng, doc))
    if (rng.next() < 0.2) {
      const [a, b] = [rng.pick(peers), rng.pick(peers)]
      if (a !== b) Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)), 'sync')
    }
  }
  for (const doc of peers) updates.push(Y.encodeStateAsUpdate(doc))
  return updates
}

const randomString = (rng: Rng): string =>
  Array.from({ length: 1 + rng.int(6) }, () => rng.pick(['a', 'b', ' ', 'ß', '€', '😀', '\n', '"', '\\', '\u{10FFFF}'])).join('')

const randomValue = (rng: Rng, depth = 0): unknown => {
  switch (rng.int(depth > 2 ? 6 : 9)) {
    case 0: return randomString(rng)
    case 1: return rng.int(2000) - 1000
    case 2: return rng.pick([0.25, Math.E, -1e300, 2 ** 45, Number.MAX_SAFE_INTEGER])
    case 3: return rng.next() < 0.5
    case 4: return null
    case 5: return rng.bytes(rng.int(4))
    case 6: return Array.from({ length: rng.int(4) }, () => randomValue(rng, depth + 1))
    case 7: return Object.fromEntries(Array.from({ length: rng.int(4) }, (_, i) => [`k${i}`, randomValue(rng, depth + 1)]))
    default: return { deep: [randomValue(rng, depth + 1)] }
  }
}

const randomEdit = (rng: Rng, doc: Y.Doc): void => {
  const text = doc.getText('text')
  const map = doc.getMap<unknown>('map')
  const array = doc.getArray<unknown>('array')
  const xml = doc.getXmlFragment('xml')
  switch (rng.int(10)) {
    case 0:
      text.insert(rng.int(text.length + 1), randomString(rng), rng.next() < 0.3 ? { bold: true } : undefined)
      break
    case 1:
      if (text.length > 0) { const i = rng.int(text.length); text.delete(i, 1 + rng.int(text.length - i)) }
      break
    case 2:
      if (text.length > 0) text.format(rng.int(text.length), 1 + rng.int(3), { italic: rng.next() < 0.5 ? true : null, size: rng.int(5) })
      else text.insertEmbed(0, { embed: randomValue(rng) })
      break
    case 3:
      map.set(`k${rng.int(5)}`, randomValue(rng))
      break
    case 4:
      if (rng.next() < 0.5) map.delete(`k${rng.int(5)}`)
      else {
        const inner = new Y.Map<unknown>()
        map.set(`k${rng.int(5)}`, inner)
        inner.set('x', randomValue(rng))
      }
      break
    case 5:
      array.insert(rng.int(array.length + 1), Array.from({ length: 1 + rng.int(3) }, () => randomValue(rng)))
      break
    case 6:
      if (array.length > 0) { const i = rng.int(array.length); array.delete(i, 1 + rng.int(array.length - i)) }
      else array.insert(0, [new Y.Array(), new Y.Text('t')])
      break
    case 7: {
      const el = new Y.XmlElement(rng.pick(['p', 'h1', 'li']))
      xml.insert(rng.int(xml.length + 1), [el])
      el.setAttribute('id', randomString(rng))
      const t = new Y.XmlText()
      el.insert(0, [t])
      t.insert(0, randomString(rng), { em: true })
      break
    }
    case 8:
      if (xml.length > 0) xml.delete(rng.int(xml.length), 1)
      break
    default:
      if (rng.next() < 0.2) map.set('sub', new Y.Doc({ meta: randomValue(rng) }))
      else map.set('bin', rng.bytes(rng.int(8)))
  }
}

// ---------------------------------------------------------------------------------------------
// Attacks are refused
// ---------------------------------------------------------------------------------------------

describe('hostile updates are refused before Yjs sees them', () => {
  test('a 38-byte frame claiming 2^31 (or 2^25) structs: counts out of range, no allocation', () => {
    for (const claimed of [2 ** 31, 2 ** 25, 2 ** 32 - 1]) {
      const frame = attackFrames.hugeStructCount(claimed)
      assert.equal(frame.length, 38)
      const before = process.memoryUsage()
      const message = expectRefused(frame, ErrorCode.UpdateCountsOutOfRange, /number of structs at byte 1 claims \d+/)
      const after = process.memoryUsage()
      assert.ok(after.heapUsed - before.heapUsed < 10 * 1024 * 1024, `heap grew ${after.heapUsed - before.heapUsed}`)
      assert.ok(after.arrayBuffers - before.arrayBuffers < 10 * 1024 * 1024, 'arrayBuffers grew')
      assert.ok(message.includes(String(claimed)), 'message.includes(String(claimed))')
    }
  })

  test('absurd client count', () => {
    expectRefused(attackFrames.hugeClientCount(), ErrorCode.UpdateCountsOutOfRange, /number of clients at byte 0/)
    expectRefused(attackFrames.hugeClientCount(7), ErrorCode.UpdateCountsOutOfRange, /claims 7 element\(s\) but only 6 byte\(s\) remain/)
  })

  test('absurd delete-set counts', () => {
    expectRefused(attackFrames.hugeDeleteClientCount(), ErrorCode.UpdateCountsOutOfRange, /delete set: number of clients/)
    expectRefused(attackFrames.hugeDeleteRangeCount(), ErrorCode.UpdateCountsOutOfRange, /number of ranges/)
  })

  test('absurd element counts inside content', () => {
    expectRefused(v1Frame(1, 1, 7, 0, ...rootItem(8), 2 ** 30, { any: 1 }, 0), ErrorCode.UpdateCountsOutOfRange, /ContentAny element count/)
    expectRefused(v1Frame(1, 1, 7, 0, ...rootItem(2), 2 ** 30, '1', 0), ErrorCode.UpdateCountsOutOfRange, /ContentJSON element count/)
    expectRefused(v1Frame(1, 1, 7, 0, ...rootItem(8), 1, { u8: 117 }, 2 ** 30, 0), ErrorCode.UpdateCountsOutOfRange, /array length/)
    expectRefused(v1Frame(1, 1, 7, 0, ...rootItem(8), 1, { u8: 118 }, 2 ** 30, 0), ErrorCode.UpdateCountsOutOfRange, /object size/)
  })

  test('every truncation of real updates is refused with a code, never thrown', () => {
    const samples = [Y.encodeStateAsUpdate(richDoc()), v1Frame(1, 1, 7, 0, ...rootItem(2), 1, '{"a":1}', 0),
      v1Frame(1, 1, 7, 0, ...rootItem(8), 3, { any: 1.5 }, { any: 10n }, { any: { k: 'v' } }, 0)]
    for (const update of samples) {
      for (let end = 0; end < update.length; end++) {
        const check = neverThrows(update.subarray(0, end))
        assert.equal(check.ok, false, `prefix of length ${end}/${update.length} passed`)
      }
      assert.equal(neverThrows(update).ok, true)
    }
  })

  test('seeded random garbage never throws', () => {
    const rng = prng(42)
    let ok = 0
    for (let i = 0; i < 5000; i++) {
      const len = rng.int(i < 2500 ? 16 : 300)
      // Half pure noise; half noise behind a plausible header so the walk gets deeper.
      const bytes = i % 2 === 0 ? rng.bytes(len) : v1Frame(rng.int(3), rng.int(4), rng.int(9), rng.int(9), rng.bytes(len))
      if (neverThrows(bytes).ok) ok++
    }
    assert.ok(ok < 5000, 'ok < 5000')
    neverThrows(prng(7).bytes(1 << 20)) // a megabyte of noise
  })

  test('bit flips and byte edits of real updates never throw', () => {
    const rng = prng(1234)
    const samples = [Y.encodeStateAsUpdate(richDoc()), ...randomSession(rng).slice(-2)]
    for (const update of samples) {
      for (let bit = 0; bit < update.length * 8; bit++) {
        const flipped = Uint8Array.from(update)
        flipped[bit >> 3] = (flipped[bit >> 3] ?? 0) ^ (1 << (bit & 7))
        neverThrows(flipped)
      }
      for (let i = 0; i < 2000; i++) {
        const edited = Uint8Array.from(update)
        for (let k = 1 + rng.int(4); k > 0; k--) edited[rng.int(edited.length)] = rng.pick([0, 1, 0x7f, 0x80, 0xff, rng.int(256)])
        neverThrows(edited)
      }
    }
  })

  test('deeply nested Any (10,000 levels) is refused without recursion; Yjs itself overflows the stack', () => {
    const frame = attackFrames.nestedAny(10_000)
    expectRefused(frame, ErrorCode.MalformedUpdate, /nests deeper than 64 levels/)
    expectRefused(attackFrames.nestedAny(MAX_VALUE_DEPTH + 1), ErrorCode.MalformedUpdate, /nests deeper/)
    assert.throws(() => Y.decodeUpdate(attackFrames.nestedAny(100_000)), RangeError)
  })

  test('deeply nested JSON embed is refused; Yjs would accept it and then fail every re-encode', () => {
    const frame = attackFrames.nestedJsonEmbed(10_000)
    expectRefused(frame, ErrorCode.MalformedUpdate, /ContentEmbed at byte \d+ nests deeper/)
    expectRefused(attackFrames.nestedJsonEmbed(MAX_VALUE_DEPTH + 1), ErrorCode.MalformedUpdate, /nests deeper/)
    const doc = new Y.Doc()
    Y.applyUpdate(doc, frame)
    assert.throws(() => Y.encodeStateAsUpdate(doc), RangeError, 'the document can no longer be persisted')
  })

  test('trailing garbage after a valid update', () => {
    expectRefused(attackFrames.trailingGarbage(), ErrorCode.MalformedUpdate, /3 trailing byte\(s\) after the delete set/)
    const real = Y.encodeStateAsUpdate(richDoc())
    expectRefused(v1Frame(real, { u8: 0 }), ErrorCode.MalformedUpdate, /trailing/)
  })

  test('a broken delete set after valid structs: Yjs half-applies, the guard refuses', () => {
    for (const [frame, pattern] of [
      [attackFrames.truncatedDeleteSet(), /delete range length at byte \d+ needs 1 byte/],
      [attackFrames.zeroLengthDelete(), /delete range length at byte \d+ is 0/],
    ] as const) {
      expectRefused(frame, ErrorCode.MalformedUpdate, pattern)
      const doc = new Y.Doc()
      assert.throws(() => Y.applyUpdate(doc, frame))
      assert.equal(doc.getText('t').toString(), 'hello', 'Yjs integrated the structs before throwing')
    }
  })

  test('an ID pointing at or after its own struct: Yjs half-applies, the guard refuses', () => {
    // Struct 0: 'hello' at clocks 0..4. Struct 1 (clock 5) names origin (7, k): only k < 5 can exist yet.
    const withOrigin = (k: number) => v1Frame(1, 2, 7, 0, ...rootItem(4), 'hello', { u8: 0x80 | 4 }, 7, k, '!', 0)
    const ok = withOrigin(4)
    expectOk(ok)
    const doc = new Y.Doc()
    Y.applyUpdate(doc, ok)
    assert.equal(doc.getText('t').toString(), 'hello!')
    for (const k of [5, 6, 1000]) {
      const frame = withOrigin(k)
      expectRefused(frame, ErrorCode.MalformedUpdate, new RegExp(`origin at byte \\d+ points at clock ${k} of its own client`))
      const victim = new Y.Doc()
      assert.throws(() => Y.applyUpdate(victim, frame))
      assert.equal(victim.getText('t').toString(), 'hello', 'Yjs integrated struct 0 before throwing')
    }
    // The same holds for right origins and explicit parent IDs.
    expectRefused(v1Frame(1, 1, 7, 3, { u8: 0x40 | 4 }, 7, 3, 'x', 0), ErrorCode.MalformedUpdate, /right origin at byte 5 points at clock 3/)
    expectRefused(v1Frame(1, 1, 7, 3, { u8: 4 }, 0, 7, 9, 'x', 0), ErrorCode.MalformedUpdate, /parent at byte 6 points at clock 9/)
    expectOk(v1Frame(1, 1, 7, 3, { u8: 4 }, 0, 8, 9, 'x', 0)) // another client's future clock is just pending
  })

  test('zero lengths and clock overflow', () => {
    expectRefused(v1Frame(1, 1, 7, 0, { u8: 0 }, 0, 0), ErrorCode.MalformedUpdate, /GC length at byte 5 is 0/)
    expectRefused(v1Frame(1, 1, 7, 0, { u8: 10 }, 0, 0), ErrorCode.MalformedUpdate, /Skip length .* is 0/)
    expectRefused(v1Frame(1, 1, 7, 0, ...rootItem(1), 0, 0), ErrorCode.MalformedUpdate, /ContentDeleted length .* is 0/)
    expectRefused(v1Frame(1, 1, 7, 0, ...rootItem(4), '', 0), ErrorCode.MalformedUpdate, /ContentString at byte 4 is empty/)
    expectRefused(v1Frame(1, 1, 7, 0, ...rootItem(8), 0, 0), ErrorCode.MalformedUpdate, /ContentAny .* is empty/)
    expectRefused(v1Frame(1, 2, 7, Number.MAX_SAFE_INTEGER - 1, { u8: 0 }, 1, { u8: 0 }, 1, 0), ErrorCode.MalformedUpdate, /clock overflows/)
    expectRefused(v1Frame(0, 1, 7, 1, Number.MAX_SAFE_INTEGER, 1), ErrorCode.MalformedUpdate, /clock overflows/)
  })

  test('numbers above Number.MAX_SAFE_INTEGER', () => {
    // 8 varUint bytes whose final byte pushes the value to 2^56 - 1: lib0 returns it unchecked.
    const big = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
    expectRefused(v1Frame(1, 1, big, 0), ErrorCode.MalformedUpdate, /client id at byte 2 is above Number.MAX_SAFE_INTEGER/)
    expectRefused(v1Frame(1, 1, 7, new Uint8Array(200).fill(0x80), 0), ErrorCode.MalformedUpdate, /start clock .* above/)
    const bigVarInt = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
    expectRefused(v1Frame(1, 1, 7, 0, ...rootItem(8), 1, { u8: 125 }, bigVarInt, 0), ErrorCode.MalformedUpdate, /safe integer range/)
  })

  test('unknown refs, info bytes and types; invalid strings and JSON', () => {
    expectRefused(v1Frame(1, 1, 7, 0, { u8: 11 }, 0), ErrorCode.MalformedUpdate, /unknown content ref 11 .* at byte 4/)
    expectRefused(v1Frame(1, 1, 7, 0, { u8: 31 }, 0), ErrorCode.MalformedUpdate, /unknown content ref 31/)
    expectRefused(v1Frame(1, 1, 7, 0, { u8: 0x80 }, 1, 0), ErrorCode.MalformedUpdate, /unknown info byte 0x80 at byte 4/)
    expectRefused(v1Frame(1, 1, 7, 0, { u8: 0x4a }, 1, 0), ErrorCode.MalformedUpdate, /unknown info byte 0x4a/)
    expectRefused(v1Frame(1, 1, 7, 0, ...rootItem(7), 7, 0), ErrorCode.MalformedUpdate, /unknown type ref 7/)
    expectRefused(v1Frame(1, 1, 7, 0, ...rootItem(5), '{not json', 0), ErrorCode.MalformedUpdate, /ContentEmbed at byte \d+ is not valid JSON/)
    expectRefused(v1Frame(1, 1, 7, 0, ...rootItem(6), 'bold', 'undefined', 0), ErrorCode.MalformedUpdate, /ContentFormat value .* not valid JSON/)
    expectRefused(v1Frame(1, 1, 7, 0, ...rootItem(2), 1, '[1,', 0), ErrorCode.MalformedUpdate, /ContentJSON element .* not valid JSON/)
    expectRefused(v1Frame(1, 1, 7, 0, ...rootItem(4), 2, new Uint8Array([0xc3, 0x28]), 0), ErrorCode.MalformedUpdate, /ContentString .* not valid UTF-8/)
    expectRefused(v1Frame(1, 1, 7, 0, ...rootItem(4), 50, 'ab', 0), ErrorCode.MalformedUpdate, /ContentString at byte \d+ needs 50 byte/)
    expectRefused(v1Frame(1, 1, 7, 0, ...rootItem(8), 1, { u8: 115 }, 0), ErrorCode.MalformedUpdate, /unknown Any type 115/)
    expectRefused(v1Frame(1, 1, 7, 0, ...rootItem(9), 'guid', { any: null }, 0), ErrorCode.MalformedUpdate, /ContentDoc options .* not an object/)
  })

  test('refusals are cheap: a megabyte-sized hostile update is checked in linear time', () => {
    const count = 200_000
    const gcPairs = new Uint8Array(count * 2).map((_, i) => i % 2) // info 0 (GC), length 1, …
    const manyGc = v1Frame(1, count, 7, 0, gcPairs, 7) // …then a delete set claiming 7 clients
    const started = performance.now()
    expectRefused(manyGc, ErrorCode.UpdateCountsOutOfRange, /delete set: number of clients/)
    assert.ok(performance.now() - started < 2000, 'performance.now() - started < 2000')
  })
})

describe('root names', () => {
  test('the roots an update writes to are reported, so the gate can refuse unknown ones', () => {
    const doc = new Y.Doc()
    doc.getMap('meta').set('title', 'x')
    doc.getXmlFragment('body').insert(0, [new Y.XmlText('hello')])
    doc.getText('stray').insert(0, 'y')
    const check = checkUpdateStructure(Y.encodeStateAsUpdate(doc))
    assert.ok(check.ok, 'check.ok')
    assert.deepEqual([...check.roots].sort(), ['body', 'meta', 'stray'])
    // Map fields carry a key; text and fragment content does not.
    assert.deepEqual([...check.unkeyedRoots].sort(), ['body', 'stray'])
  })

  test('the GC ranges are reported with the delete set that covers them, as Yjs writes them for a deleted subtree', () => {
    const doc = new Y.Doc()
    doc.clientID = 42
    const nested = new Y.Map<unknown>()
    doc.getMap('meta').set('draft', nested)
    nested.set('a', 'hello')
    nested.set('b', 'world')
    doc.getMap('meta').delete('draft')
    const check = checkUpdateStructure(Y.encodeStateAsUpdate(doc))
    assert.ok(check.ok, 'check.ok')
    assert.deepEqual(check.dependencies.gcs, [42, 1, 2])
    assert.deepEqual(check.dependencies.deletes, [42, 0, 3])
    assert.deepEqual(check.dependencies.brought, new Map([[42, { from: 0, to: 3 }]]))
  })
})
