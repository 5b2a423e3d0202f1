import * as Y from 'yjs'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import type { Peer } from '../connection/peer.ts'
import { screenAwarenessUpdate, tellAwarenessRefused } from './awarenessStates.ts'
import { decodeMessage, encodeAwareness } from './protocol.ts'
import type { Room } from '../rooms/room.ts'
import { acceptUpdate } from '../gate/writePath.ts'
import { answerDigestCheck } from '../integrity/digestCheck.ts'

/**
 * Handles one frame of a peer in a ready room: decodes it and routes it by message type. Any frame
 * that cannot be handled closes its peer with a stable code; the room and its other peers go on.
 */
export const handleFrame = (room: Room, peer: Peer, frame: Uint8Array): void => {
  const error = routeFrame(room, peer, frame)
  if (error) {
    room.logger.warn({ peer: peer.id, code: error.code, reason: error.message }, 'closing peer')
    peer.closeWithError(error)
    room.leave(peer)
  }
}

const routeFrame = (room: Room, peer: Peer, frame: Uint8Array): CollabError | null => {
  let message
  try {
    message = decodeMessage(frame)
  } catch (error) {
    return error as CollabError
  }
  switch (message.kind) {
    case 'sync-step-1': {
      // Checked now, so a bad state vector closes the peer; the reply is made when it is sent
      // (at once, or later when this peer's reply budget allows).
      const { stateVector } = message
      try {
        Y.decodeStateVector(stateVector)
      } catch (error) {
        return new CollabError(ErrorCode.MalformedMessage, `bad state vector: ${(error as Error).message}`)
      }
      peer.reply('sync-step-2', () => room.syncStep2For(stateVector))
      return null
    }
    case 'update':
      return acceptUpdate(room, peer, message.update, message.step)
    case 'awareness': {
      if (message.update.byteLength > peer.limits.maxAwarenessBytes) {
        return new CollabError(
          ErrorCode.AwarenessTooLarge,
          `awareness update of ${message.update.byteLength} bytes; at most ${peer.limits.maxAwarenessBytes} for your role`,
        )
      }
      let screened
      try {
        const isNewer = (client: number, clock: number) => room.awareness.isNewer(client, clock)
        const ownedByAnotherUser = (client: number) => {
          const owner = room.awareness.ownerOf(client)
          return owner !== null && owner.identity.userId !== peer.identity.userId
        }
        screened = screenAwarenessUpdate(message.update, peer.identity, peer.limits.maxAwarenessStateBytes, isNewer, ownedByAnotherUser)
      } catch (error) {
        return error as CollabError
      }
      // Refused states are not relayed; the connection stays (see tellAwarenessRefused).
      for (const refusal of screened.refusals) tellAwarenessRefused(peer, refusal, room.logger)
      if (screened.update !== null) room.receiveAwareness(peer, screened.update)
      return null
    }
    case 'query-awareness':
      // A one-byte question whose answer is every peer's presence: answered at most so often and
      // within the peer's reply budget, with the presence of the moment it is sent.
      peer.reply('awareness', () => encodeAwareness(room.awareness.encode(room.awareness.clients())))
      return null
    case 'auth':
      return null
    case 'digest-check':
      // Only a client that opted in to extension messages can take the answer.
      if (!peer.wantsExtensions) return new CollabError(ErrorCode.UnknownMessageType, 'extension messages need ?ext=1')
      return answerDigestCheck(room, peer, message.stateVector, message.digest)
  }
}
