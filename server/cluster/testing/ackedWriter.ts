import type * as decoding from 'lib0/decoding'
import * as Y from 'yjs'
import { MESSAGE_EXTENSION, readExtensionMessage } from '../../../shared/extensionProtocol.ts'
import type { TestUser } from '../../../shared/testing/devTokens.ts'
import type { ServerProcess } from '../../../shared/testing/serverProcess.ts'
import type { StockClient } from '../../../shared/testing/stockClient.ts'

export interface AckedWriter extends StockClient {
  /** The highest clock of this client's own id any ack said is durable (0: none yet). */
  ackedClock(): number
  /** Close codes the provider saw, in order. */
  readonly closes: number[]
}

/** A stock provider with `ext=1` that records the durable state vector of every ack it is sent. */
export const connectAckedWriter = async (node: ServerProcess, room: string, user: TestUser = {}): Promise<AckedWriter> => {
  const client = await node.connect(room, { ...user, ext: true })
  let acked = 0
  client.provider.messageHandlers[MESSAGE_EXTENSION] = (_encoder, decoder: decoding.Decoder) => {
    const message = readExtensionMessage(decoder)
    if (message?.kind !== 'ack') return
    const clock = Y.decodeStateVector(message.durableStateVector).get(client.doc.clientID) ?? 0
    acked = Math.max(acked, clock)
  }
  const closes: number[] = []
  client.provider.on('connection-close', (event: CloseEvent | null) => event && closes.push(event.code))
  await client.whenSynced()
  return { ...client, ackedClock: () => acked, closes }
}
