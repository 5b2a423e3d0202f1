import type * as decoding from 'lib0/decoding'
import * as Y from 'yjs'
import { MESSAGE_EXTENSION, readExtensionMessage } from '../../shared/extensionProtocol.ts'
import type { TestUser } from '../../shared/testing/devTokens.ts'
import type { StockClient } from '../../shared/testing/stockClient.ts'

/** What a client that opted in to acks was told: every durable state vector, and every close. */
export interface AckRecord {
  /** The durable state vector of every ack, in order. */
  readonly acks: Uint8Array[]
  /** Close codes the provider saw, in order. */
  readonly closes: number[]
  /** The highest clock of the client's own id any ack said is durable (0: none yet). */
  ackedClock(): number
}

export type AckedClient = StockClient & AckRecord

/** The clock of `client` in a state vector (0 when absent). */
export const clockOf = (stateVector: Uint8Array | undefined, client: number): number =>
  stateVector ? (Y.decodeStateVector(stateVector).get(client) ?? 0) : 0

/** Records the acks and closes of a stock provider connected with `ext=1`. */
export const recordAcks = (client: StockClient): AckRecord => {
  const acks: Uint8Array[] = []
  let acked = 0
  client.provider.messageHandlers[MESSAGE_EXTENSION] = (_encoder, decoder: decoding.Decoder) => {
    const message = readExtensionMessage(decoder)
    if (message?.kind !== 'ack') return
    acks.push(message.durableStateVector)
    acked = Math.max(acked, clockOf(message.durableStateVector, client.doc.clientID))
  }
  const closes: number[] = []
  client.provider.on('connection-close', (event: CloseEvent | null) => event && closes.push(event.code))
  return { acks, closes, ackedClock: () => acked }
}

/**
 * A stock provider that opted in to acks (`ext=1`) on an in-process test server or a server
 * process, synced, with its acks and closes recorded.
 */
export const connectAckedClient = async (
  server: { connect(room: string, options: TestUser & { ext: boolean }): Promise<StockClient> },
  room: string,
  user: TestUser = {},
): Promise<AckedClient> => {
  const client = await server.connect(room, { ...user, ext: true })
  const record = recordAcks(client)
  await client.whenSynced()
  return Object.assign(client, record)
}
