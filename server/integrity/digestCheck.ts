import * as Y from 'yjs'
import { sameBytes } from '../../shared/documentDigest.ts'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { DigestResult, encodeDigestResult } from '../../shared/extensionProtocol.ts'
import type { Peer } from '../connection/peer.ts'
import type { EventRecord } from '../persistence/eventLog.ts'
import type { Room } from '../rooms/room.ts'
import { digestOf } from './digestCache.ts'

/** The rule id an integrity event carries in the event log. */
export const DIGEST_MISMATCH = 'digest-mismatch'

/**
 * A peer's checks are answered at most this often; one sooner is told `unsettled`. A digest reads
 * the whole document, so a client asking in a loop must not make the server do that in a loop
 * (the server's own digest is cached until the document changes, which bounds it further).
 */
export const MIN_CHECK_INTERVAL_MS = 2_000

const DIGEST_BYTES = 32

const lastCheckAt = new WeakMap<Peer, number>()

/**
 * Answers a client's digest check (extension subtype 4): whether the server's document, at the
 * same state vector, holds the same content. A mismatch means one of the two copies was damaged
 * outside Yjs (the server's is the one every other replica converged to): it is counted, logged
 * with the document and the client, and recorded in the document's event log (outcome `integrity`,
 * nothing applied); the client then discards its copy and loads the server's.
 * Returns an error (closing the peer) only for a malformed check.
 */
export const answerDigestCheck = (room: Room, peer: Peer, stateVector: Uint8Array, digest: Uint8Array, now = Date.now()): CollabError | null => {
  if (digest.byteLength !== DIGEST_BYTES) return new CollabError(ErrorCode.MalformedMessage, `a document digest has ${DIGEST_BYTES} bytes, not ${digest.byteLength}`)
  let clientClocks: Map<number, number>
  try {
    clientClocks = Y.decodeStateVector(stateVector)
  } catch (error) {
    return new CollabError(ErrorCode.MalformedMessage, `bad state vector: ${(error as Error).message}`)
  }
  const result = judge(room, peer, clientClocks, digest, now)
  room.metrics.digestChecks.inc({ result: RESULT_LABELS[result] })
  peer.sendExtension(encodeDigestResult(result))
  return null
}

const RESULT_LABELS: Record<DigestResult, string> = { [DigestResult.Match]: 'match', [DigestResult.Mismatch]: 'mismatch', [DigestResult.Unsettled]: 'unsettled' }

const judge = (room: Room, peer: Peer, clientClocks: Map<number, number>, digest: Uint8Array, now: number): DigestResult => {
  const last = lastCheckAt.get(peer)
  if (last !== undefined && now - last < MIN_CHECK_INTERVAL_MS) return DigestResult.Unsettled
  lastCheckAt.set(peer, now)
  const doc = room.doc
  if (!sameClocks(Y.decodeStateVector(Y.encodeStateVector(doc)), clientClocks)) return DigestResult.Unsettled
  const ours = digestOf(doc, now)
  if (ours === null) return DigestResult.Unsettled
  if (sameBytes(ours, digest)) return DigestResult.Match
  recordMismatch(room, peer, now)
  return DigestResult.Mismatch
}

const sameClocks = (a: Map<number, number>, b: Map<number, number>): boolean => {
  if (a.size !== b.size) return false
  for (const [client, clock] of a) if (b.get(client) !== clock) return false
  return true
}

const recordMismatch = (room: Room, peer: Peer, now: number): void => {
  const { userId, device } = peer.identity
  room.metrics.integrityProblems.inc({ source: 'digest' })
  room.logger.warn({ peer: peer.id, user: userId, device }, "digest mismatch: the client's copy differs from the server's at the same state vector; the client reloads it")
  const event: EventRecord = {
    seq: room.nextEventSeq(),
    at: now,
    userId,
    device,
    outcome: 'integrity',
    applied: false,
    ruleIds: [DIGEST_MISMATCH],
    paths: [],
    update: new Uint8Array(),
  }
  room.persist({ update: null, source: null, events: [event] })
}
