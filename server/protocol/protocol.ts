import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { CollabError, ErrorCode } from '../../shared/errors.ts'
import { ExtensionSubtype, MESSAGE_EXTENSION } from '../../shared/extensionProtocol.ts'

/**
 * The y-websocket wire protocol as the stock provider speaks it (y-protocols): a varUint message
 * type, then its body. Decoding turns a frame into a typed value or a CollabError; nothing here
 * touches a document, so a frame can be refused before it reaches one.
 */
export const MessageType = { Sync: 0, Awareness: 1, Auth: 2, QueryAwareness: 3 } as const
export const SyncStep = { Step1: 0, Step2: 1, Update: 2 } as const

export type IncomingMessage =
  | { kind: 'sync-step-1'; stateVector: Uint8Array }
  /** Sync step 2 and update messages both carry an update the server must validate and apply. */
  | { kind: 'update'; update: Uint8Array; step: 'sync-step-2' | 'update' }
  | { kind: 'awareness'; update: Uint8Array }
  | { kind: 'query-awareness' }
  | { kind: 'auth' }
  | { kind: 'digest-check'; stateVector: Uint8Array; digest: Uint8Array }

const malformed = (message: string) => new CollabError(ErrorCode.MalformedMessage, message)

export const decodeMessage = (frame: Uint8Array): IncomingMessage => {
  const decoder = decoding.createDecoder(frame)
  let message: IncomingMessage
  try {
    const type = decoding.readVarUint(decoder)
    switch (type) {
      case MessageType.Sync: {
        const step = decoding.readVarUint(decoder)
        const payload = decoding.readVarUint8Array(decoder)
        if (step === SyncStep.Step1) message = { kind: 'sync-step-1', stateVector: payload }
        else if (step === SyncStep.Step2) message = { kind: 'update', update: payload, step: 'sync-step-2' }
        else if (step === SyncStep.Update) message = { kind: 'update', update: payload, step: 'update' }
        else throw malformed(`unknown sync message step ${step}`)
        break
      }
      case MessageType.Awareness:
        message = { kind: 'awareness', update: decoding.readVarUint8Array(decoder) }
        break
      case MessageType.QueryAwareness:
        message = { kind: 'query-awareness' }
        break
      case MessageType.Auth:
        // Auth messages flow server → client; one from a client is tolerated and ignored.
        return { kind: 'auth' }
      case MESSAGE_EXTENSION: {
        // The one extension message a client sends; every other subtype flows server → client.
        const subtype = decoding.readVarUint(decoder)
        if (subtype !== ExtensionSubtype.DigestCheck) throw new CollabError(ErrorCode.UnknownMessageType, `unknown extension message subtype ${subtype}`)
        message = { kind: 'digest-check', stateVector: decoding.readVarUint8Array(decoder), digest: decoding.readVarUint8Array(decoder) }
        break
      }
      default:
        throw new CollabError(ErrorCode.UnknownMessageType, `unknown message type ${type}`)
    }
  } catch (error) {
    if (error instanceof CollabError) throw error
    throw malformed(`frame of ${frame.length} bytes is not a y-protocols message (${(error as Error).message})`)
  }
  // lib0's readVarUint8Array does not check that the declared length was really there.
  if (decoder.pos > frame.length) throw malformed('frame is truncated')
  return message
}

/** One client's entry in an awareness update: its state still as the UTF-8 JSON bytes it arrived in. */
export interface AwarenessEntry {
  readonly client: number
  readonly clock: number
  readonly state: Uint8Array
}

/**
 * The entries of an awareness update, structure only (the states are not decoded: what a state
 * may hold is `awarenessStates.ts`'s business). Fails closed on a count its bytes cannot hold, a
 * length past the end, or trailing bytes.
 */
export const decodeAwarenessUpdate = (update: Uint8Array): AwarenessEntry[] => {
  const decoder = decoding.createDecoder(update)
  const entries: AwarenessEntry[] = []
  try {
    const count = decoding.readVarUint(decoder)
    // Each entry takes at least 3 bytes (client, clock, state length).
    if (count * 3 > update.length) throw new Error(`claims ${count} states in ${update.length} bytes`)
    for (let i = 0; i < count; i++) {
      const client = decoding.readVarUint(decoder)
      const clock = decoding.readVarUint(decoder)
      const state = decoding.readVarUint8Array(decoder)
      // lib0's readVarUint8Array does not check that the declared length was really there.
      if (decoder.pos > update.length) throw new Error('truncated')
      entries.push({ client, clock, state })
    }
    if (decoder.pos !== update.length) throw new Error('trailing bytes')
  } catch (error) {
    throw malformed(`bad awareness update: ${(error as Error).message}`)
  }
  return entries
}

/** An awareness update of these entries, as y-protocols' `encodeAwarenessUpdate` writes it. */
export const encodeAwarenessUpdate = (entries: readonly AwarenessEntry[]): Uint8Array =>
  message((encoder) => {
    encoding.writeVarUint(encoder, entries.length)
    for (const { client, clock, state } of entries) {
      encoding.writeVarUint(encoder, client)
      encoding.writeVarUint(encoder, clock)
      // A varString is its UTF-8 bytes behind their length: the same bytes as this.
      encoding.writeVarUint8Array(encoder, state)
    }
  })

const message = (write: (encoder: encoding.Encoder) => void): Uint8Array => {
  const encoder = encoding.createEncoder()
  write(encoder)
  return encoding.toUint8Array(encoder)
}

export const encodeSyncStep1 = (doc: Y.Doc): Uint8Array => encodeSyncStep1FromStateVector(Y.encodeStateVector(doc))

export const encodeSyncStep1FromStateVector = (stateVector: Uint8Array): Uint8Array =>
  message((encoder) => {
    encoding.writeVarUint(encoder, MessageType.Sync)
    encoding.writeVarUint(encoder, SyncStep.Step1)
    encoding.writeVarUint8Array(encoder, stateVector)
  })

export const encodeSyncStep2 = (doc: Y.Doc, stateVector: Uint8Array): Uint8Array =>
  message((encoder) => {
    encoding.writeVarUint(encoder, MessageType.Sync)
    encoding.writeVarUint(encoder, SyncStep.Step2)
    encoding.writeVarUint8Array(encoder, Y.encodeStateAsUpdate(doc, stateVector))
  })

/** Sync step 2 carrying an update that is already encoded (the stored state of a document). */
export const encodeSyncStep2FromUpdate = (update: Uint8Array): Uint8Array =>
  message((encoder) => {
    encoding.writeVarUint(encoder, MessageType.Sync)
    encoding.writeVarUint(encoder, SyncStep.Step2)
    encoding.writeVarUint8Array(encoder, update)
  })

export const encodeUpdate = (update: Uint8Array): Uint8Array =>
  message((encoder) => {
    encoding.writeVarUint(encoder, MessageType.Sync)
    encoding.writeVarUint(encoder, SyncStep.Update)
    encoding.writeVarUint8Array(encoder, update)
  })

export const encodeAwareness = (update: Uint8Array): Uint8Array =>
  message((encoder) => {
    encoding.writeVarUint(encoder, MessageType.Awareness)
    encoding.writeVarUint8Array(encoder, update)
  })

/** y-protocols auth message "permission denied": the stock provider logs the reason and stays connected. */
export const encodePermissionDenied = (reason: string): Uint8Array =>
  message((encoder) => {
    encoding.writeVarUint(encoder, MessageType.Auth)
    encoding.writeVarUint(encoder, 0) // y-protocols/auth messagePermissionDenied
    encoding.writeVarString(encoder, reason)
  })
