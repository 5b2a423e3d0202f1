import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { MessageType, SyncStep } from '../protocol/protocol.ts'
import { frame, syncUpdateFrame } from './attackFrames.ts'
import { appendElementChain } from './deepContent.ts'
import type { SeededRandom } from './seededRandom.ts'

/**
 * Hostile frames for the fuzz test, drawn from a seeded PRNG so a failing run replays from its
 * seed. Half of them are garbage (random bytes, valid frames cut short or bit-flipped) — what a
 * parser must survive; the other half *look valid*: well-formed y-protocols messages carrying
 * updates and awareness states that Yjs itself would accept, built to hurt the server or other
 * clients (deep nesting, structs under someone else's client id, GC/Skip ranges past what the
 * server knows, array content in a map root, oversized or deeply nested awareness states,
 * floods of query-awareness).
 */

/** What the generator needs to know about the room it attacks. */
export interface FuzzTarget {
  /** The document type's map roots and rich-text roots. */
  readonly maps: readonly string[]
  readonly richText: readonly string[]
  /** Client ids honest users write under in this room (targets for theft). */
  readonly victimClientIds: readonly number[]
}

export type HostileKind =
  | 'random-bytes'
  | 'truncated'
  | 'bit-flip'
  | 'deep-rich-text'
  | 'foreign-client-id'
  | 'huge-gc'
  | 'huge-skip'
  | 'unkeyed-map-content'
  | 'deep-awareness'
  | 'big-awareness'
  | 'awareness-garbage-json'
  | 'query-awareness'
  | 'valid-edit'

export interface HostileFrame {
  readonly kind: HostileKind
  readonly bytes: Uint8Array
}

const KINDS: readonly HostileKind[] = [
  'random-bytes',
  'truncated',
  'bit-flip',
  'deep-rich-text',
  'foreign-client-id',
  'huge-gc',
  'huge-skip',
  'unkeyed-map-content',
  'deep-awareness',
  'big-awareness',
  'awareness-garbage-json',
  'query-awareness',
  'valid-edit',
]

/** A fresh client id per generated update, like a new Y.Doc would pick (never 0). */
const clientIdOf = (random: SeededRandom): number => 1 + random.int(2 ** 31 - 2)

/** An update made by Yjs itself: a few characters typed into a rich-text root or a field set. */
const validEditUpdate = (random: SeededRandom, target: FuzzTarget): Uint8Array => {
  const doc = new Y.Doc()
  doc.clientID = clientIdOf(random)
  if (random.chance(0.5) && target.richText.length > 0) {
    const paragraph = new Y.XmlElement('paragraph')
    paragraph.insert(0, [new Y.XmlText('fuzz ' + random.int(1000))])
    doc.getXmlFragment(random.pick(target.richText)).insert(0, [paragraph])
  } else {
    doc.getMap(random.pick(target.maps)).set('title', 'fuzz ' + random.int(1000))
  }
  return Y.encodeStateAsUpdate(doc)
}

/** A chain of XML elements `depth` deep in a rich-text root, as an editor could send it. */
export const deepRichTextUpdate = (root: string, depth: number, clientId = 424242): Uint8Array => {
  const doc = new Y.Doc()
  doc.clientID = clientId
  appendElementChain(doc, root, depth)
  return Y.encodeStateAsUpdate(doc)
}

/** One GC (info 0) or Skip (info 10) struct of `length` clocks under `clientId`, from `clock`. */
export const rangeStructUpdate = (kind: 'gc' | 'skip', clientId: number, clock: number, length: number): Uint8Array =>
  frame((encoder) => {
    encoding.writeVarUint(encoder, 1) // one client
    encoding.writeVarUint(encoder, 1) // one struct
    encoding.writeVarUint(encoder, clientId)
    encoding.writeVarUint(encoder, clock)
    encoding.writeUint8(encoder, kind === 'gc' ? 0 : 10)
    encoding.writeVarUint(encoder, length)
    encoding.writeVarUint(encoder, 0) // empty delete set
  })

/** An item in a map root without a key: array-style content where only keyed fields belong. */
export const unkeyedMapContentUpdate = (root: string, clientId: number): Uint8Array => {
  const doc = new Y.Doc()
  doc.clientID = clientId
  doc.getArray(root).insert(0, ['not a field'])
  return Y.encodeStateAsUpdate(doc)
}

/** An awareness message with one client's state given as raw JSON text (not necessarily valid). */
export const awarenessFrame = (clientId: number, clock: number, stateJson: string): Uint8Array =>
  frame((encoder) => {
    encoding.writeVarUint(encoder, MessageType.Awareness)
    const inner = encoding.createEncoder()
    encoding.writeVarUint(inner, 1)
    encoding.writeVarUint(inner, clientId)
    encoding.writeVarUint(inner, clock)
    encoding.writeVarString(inner, stateJson)
    encoding.writeVarUint8Array(encoder, encoding.toUint8Array(inner))
  })

/** `{"a":{"a":…}}` nested `depth` deep, as text (JSON.stringify of such a value would recurse). */
export const deeplyNestedJson = (depth: number): string => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)

const randomBytes = (random: SeededRandom, length: number): Uint8Array => {
  const bytes = new Uint8Array(length)
  for (let index = 0; index < length; index++) bytes[index] = random.int(256)
  return bytes
}

/** Draws one hostile frame. */
export const hostileFrame = (random: SeededRandom, target: FuzzTarget): HostileFrame => {
  const kind = random.pick(KINDS)
  const victim = () => (target.victimClientIds.length > 0 ? random.pick(target.victimClientIds) : clientIdOf(random))
  const bytes = ((): Uint8Array => {
    switch (kind) {
      case 'random-bytes':
        return randomBytes(random, 1 + random.int(64))
      case 'truncated': {
        const whole = syncUpdateFrame(validEditUpdate(random, target))
        return whole.slice(0, 1 + random.int(whole.length - 1))
      }
      case 'bit-flip': {
        const flipped = syncUpdateFrame(validEditUpdate(random, target)).slice()
        for (let flips = 1 + random.int(3); flips > 0; flips--) flipped[random.int(flipped.length)]! ^= 1 << random.int(8)
        return flipped
      }
      case 'deep-rich-text':
        return syncUpdateFrame(deepRichTextUpdate(random.pick(target.richText), random.pick([100, 1_000, 2_100, 5_000]), clientIdOf(random)))
      case 'foreign-client-id':
        return syncUpdateFrame(random.chance(0.5) ? rangeStructUpdate('gc', victim(), 0, 2 ** 40) : stolenItemUpdate(random, target, victim()))
      case 'huge-gc':
        return syncUpdateFrame(rangeStructUpdate('gc', clientIdOf(random), 0, random.pick([2 ** 20, 2 ** 40, 2 ** 52])))
      case 'huge-skip':
        return syncUpdateFrame(rangeStructUpdate('skip', random.chance(0.5) ? victim() : clientIdOf(random), random.int(10), 2 ** 40))
      case 'unkeyed-map-content':
        return syncUpdateFrame(unkeyedMapContentUpdate(random.pick(target.maps), clientIdOf(random)))
      case 'deep-awareness':
        return awarenessFrame(clientIdOf(random), 1, deeplyNestedJson(random.pick([100, 5_000])))
      case 'big-awareness':
        return awarenessFrame(clientIdOf(random), 1, JSON.stringify({ user: { name: 'x' }, pad: 'p'.repeat(random.pick([20_000, 1_000_000])) }))
      case 'awareness-garbage-json':
        return awarenessFrame(clientIdOf(random), 1, random.pick(['{', '{"user":', 'undefined', '\u0000', '[]]']))
      case 'query-awareness':
        return Uint8Array.of(MessageType.QueryAwareness)
      case 'valid-edit':
        return syncUpdateFrame(validEditUpdate(random, target), random.chance(0.2) ? SyncStep.Step2 : SyncStep.Update)
    }
  })()
  return { kind, bytes }
}

/** A well-formed edit whose structs claim another client's id, at a clock it may not have used yet. */
const stolenItemUpdate = (random: SeededRandom, target: FuzzTarget, clientId: number): Uint8Array => {
  const doc = new Y.Doc()
  doc.clientID = clientId
  doc.getMap(random.pick(target.maps)).set('title', 'stolen ' + random.int(1000))
  return Y.encodeStateAsUpdate(doc)
}
