import * as encoding from 'lib0/encoding'
import { MessageType, SyncStep } from '../protocol/protocol.ts'

/** Frames built byte by byte for the bad-input tests. */

export const frame = (write: (encoder: encoding.Encoder) => void): Uint8Array => {
  const encoder = encoding.createEncoder()
  write(encoder)
  return encoding.toUint8Array(encoder)
}

/** A sync message (step 2 or update) carrying `update` verbatim. */
export const syncUpdateFrame = (update: Uint8Array, step: number = SyncStep.Update): Uint8Array =>
  frame((encoder) => {
    encoding.writeVarUint(encoder, MessageType.Sync)
    encoding.writeVarUint(encoder, step)
    encoding.writeVarUint8Array(encoder, update)
  })

/**
 * A small update whose header claims 2^31 structs for one client: Y.applyUpdate would preallocate
 * an array for all of them before noticing the bytes are not there.
 */
export const absurdStructCountUpdate = (): Uint8Array =>
  frame((encoder) => {
    encoding.writeVarUint(encoder, 1) // one client
    encoding.writeVarUint(encoder, 2 ** 31) // structs claimed
    encoding.writeVarUint(encoder, 7) // client id
    encoding.writeVarUint(encoder, 0) // first clock
    encoding.writeUint8(encoder, 4) // one ContentString item...
    encoding.writeVarUint(encoder, 1)
    encoding.writeVarString(encoder, 'meta')
    encoding.writeVarString(encoder, 'the rest is missing')
  })

/**
 * Passes the structural check, but throws inside Y.applyUpdate *after* changing the doc: client 10
 * inserts "INJECTED" into the root text `body`; client 5 (integrated later: Yjs goes from the highest
 * client id down) names an origin in its own, non-existent history, and Yjs throws while looking it up.
 */
export const halfApplyingUpdate = (rootText = 'injected'): Uint8Array =>
  frame((encoder) => {
    encoding.writeVarUint(encoder, 2)
    encoding.writeVarUint(encoder, 1)
    encoding.writeVarUint(encoder, 10)
    encoding.writeVarUint(encoder, 0)
    encoding.writeUint8(encoder, 4) // ContentString, parent given as a root name
    encoding.writeVarUint(encoder, 1)
    encoding.writeVarString(encoder, rootText)
    encoding.writeVarString(encoder, 'INJECTED')
    encoding.writeVarUint(encoder, 1)
    encoding.writeVarUint(encoder, 5)
    encoding.writeVarUint(encoder, 0)
    encoding.writeUint8(encoder, 4 | 0x80) // ContentString with a left origin
    encoding.writeVarUint(encoder, 5) // origin client: itself
    encoding.writeVarUint(encoder, 1) // origin clock: never written
    encoding.writeVarString(encoder, 'x')
    encoding.writeVarUint(encoder, 0) // empty delete set
  })
