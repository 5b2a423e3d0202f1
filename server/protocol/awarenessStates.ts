import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { encodeNotice } from '../../shared/extensionProtocol.ts'
import type { Identity } from '../auth/index.ts'
import type { Logger } from '../observability/logger.ts'
import type { Peer } from '../connection/peer.ts'
import { decodeAwarenessUpdate, encodeAwarenessUpdate, type AwarenessEntry } from './protocol.ts'

/**
 * Deepest nesting of objects and arrays an awareness state may have. Stock clients re-encode every
 * remote state they receive (y-websocket rebroadcasts each awareness change with JSON.stringify,
 * and y-protocols compares states with a recursive equality): a few thousand levels exceed their
 * stack and kill them, in every tab of the room and every later joiner. Presence needs little:
 * y-prosemirror's cursor (`cursor.anchor.item.client`) is 4 deep; 32 leaves room and stays far
 * below any stack.
 */
export const MAX_AWARENESS_STATE_DEPTH = 32

/** The `user` fields a state may carry, and the token claim each must equal. */
const IDENTITY_FIELDS = [
  ['id', 'userId'],
  ['name', 'name'],
  ['role', 'role'],
] as const satisfies ReadonlyArray<readonly [string, keyof Identity]>

export interface ScreenedAwareness {
  /** The update to relay: the one received when every state passed, else its accepted entries; null if none. */
  readonly update: Uint8Array | null
  /** Why each refused state was refused. */
  readonly refusals: CollabError[]
}

/**
 * Checks each state of an awareness update before it is relayed: at most `maxStateBytes` of JSON,
 * nested at most MAX_AWARENESS_STATE_DEPTH deep, and a `user` that is the token's user (its `id`,
 * `name` and `role`, where present, equal the token's `sub`, `name` and `role`; another shape of
 * `user` is refused). A refused state is left out, the others go on; removals (null) always pass.
 * Only news is checked (`isNewer`: a clock newer than the relay knows): stock providers echo every
 * state they receive back at its clock, and the relay ignores those, so checking them would only
 * refuse an honest client for relaying someone else's presence. Throws ERR_MALFORMED_MESSAGE for
 * what no honest client sends: a broken structure or a new state that is not JSON.
 */
export const screenAwarenessUpdate = (
  update: Uint8Array,
  identity: Identity,
  maxStateBytes: number,
  isNewer: (client: number, clock: number) => boolean,
  ownedByAnotherUser: (client: number) => boolean = () => false,
): ScreenedAwareness => {
  const entries = decodeAwarenessUpdate(update)
  const accepted: AwarenessEntry[] = []
  const refusals: CollabError[] = []
  for (const entry of entries) {
    const news = isNewer(entry.client, entry.clock)
    // Another user's presence is theirs: neither replaced nor removed (a removal at the same clock
    // is one too). Echoes of it change nothing and pass.
    const refusal =
      (news || isNullState(entry.state)) && ownedByAnotherUser(entry.client)
        ? new CollabError(ErrorCode.AwarenessNotYours, `the awareness state of client ${entry.client} is another user's`)
        : news
          ? refusalOf(entry, identity, maxStateBytes)
          : null
    if (refusal === null) accepted.push(entry)
    else refusals.push(refusal)
  }
  if (refusals.length === 0) return { update, refusals }
  return { update: accepted.length === 0 ? null : encodeAwarenessUpdate(accepted), refusals }
}

const utf8 = new TextDecoder()

const refusalOf = ({ client, state }: AwarenessEntry, identity: Identity, maxStateBytes: number): CollabError | null => {
  // Size first: nothing is decoded or scanned beyond the bound.
  if (state.byteLength > maxStateBytes) {
    return new CollabError(
      ErrorCode.AwarenessStateTooLarge,
      `awareness state of client ${client} has ${state.byteLength} bytes; at most ${maxStateBytes}`,
    )
  }
  const text = utf8.decode(state)
  if (jsonDepthExceeds(text, MAX_AWARENESS_STATE_DEPTH)) {
    return new CollabError(ErrorCode.AwarenessStateTooDeep, `awareness state of client ${client} is nested deeper than ${MAX_AWARENESS_STATE_DEPTH}`)
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new CollabError(ErrorCode.MalformedMessage, `bad awareness update: state of client ${client} is not JSON (${(error as Error).message})`)
  }
  if (!isObject(value) || !('user' in value)) return null
  const user = value['user']
  if (!isObject(user)) return new CollabError(ErrorCode.AwarenessIdentityMismatch, 'awareness `user` must be an object describing you')
  for (const [field, claim] of IDENTITY_FIELDS) {
    if (field in user && user[field] !== identity[claim]) {
      return new CollabError(ErrorCode.AwarenessIdentityMismatch, `awareness \`user.${field}\` must be your token's ${claim}`)
    }
  }
  return null
}

const isNullState = (state: Uint8Array): boolean => utf8.decode(state).trim() === 'null'

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * Does the JSON text nest objects/arrays deeper than `maxDepth`? One pass over the characters with
 * a counter (no recursion, no parse): brackets inside strings do not count. Meant to run before
 * JSON.parse, so a state that is not JSON at all is left for the parse to refuse.
 */
export const jsonDepthExceeds = (text: string, maxDepth: number): boolean => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i)
    if (inString) {
      if (char === BACKSLASH) i++ // the escaped character cannot end the string
      else if (char === QUOTE) inString = false
    } else if (char === QUOTE) {
      inString = true
    } else if (char === OPEN_BRACE || char === OPEN_BRACKET) {
      if (++depth > maxDepth) return true
    } else if (char === CLOSE_BRACE || char === CLOSE_BRACKET) {
      depth--
    }
  }
  return false
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d

/** The refusals a connection was already told about: a stock client re-sends its state every 15 s. */
const told = new WeakMap<Peer, Set<string>>()

/**
 * Tells the sender that a state was refused, once per connection and reason (a too-big cursor
 * state is re-sent at every move): a notice for a client that asked for extension messages, a log
 * line for the operator. The connection stays: an honest client whose state grew too big keeps
 * editing; its presence is simply not shown until a state passes.
 */
export const tellAwarenessRefused = (peer: Peer, refusal: CollabError, logger: Logger): void => {
  let codes = told.get(peer)
  if (codes?.has(refusal.code)) return
  if (!codes) told.set(peer, (codes = new Set()))
  codes.add(refusal.code)
  logger.info({ peer: peer.id, user: peer.identity.userId, code: refusal.code, reason: refusal.message }, 'awareness state refused')
  peer.sendExtension(encodeNotice({ outcome: 'rejected', ruleId: refusal.code, path: 'awareness', message: refusal.message }))
}
