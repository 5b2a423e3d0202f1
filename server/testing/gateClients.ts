import type * as decoding from 'lib0/decoding'
import type * as Y from 'yjs'
import { MESSAGE_EXTENSION, readExtensionMessage, type Notice, type PendingReview } from '../../shared/extensionProtocol.ts'
import type { ConflictRecord } from '../../shared/conflictRecord.ts'
import type { TestUser } from '../../shared/testing/devTokens.ts'
import type { StockClient } from '../../shared/testing/stockClient.ts'
import type { TestServer } from './startServer.ts'

export interface GateClient extends StockClient {
  /** Every notice the server sent this client, in order. */
  readonly notices: Notice[]
  /** Every list of pending reviews the server sent this client (extension subtype 2), in order. */
  readonly pendingReviews: Array<readonly PendingReview[]>
  /** How many of this client's messages the latest ack says are durable. */
  durableMessages(): number
  map(root: string): Y.Map<unknown>
  /** The latest list of this user's open conflicts the server sent (null: none sent yet). */
  openConflicts(): readonly ConflictRecord[] | null
}

/** A stock provider that opted in to extension messages and records notices and acks. */
export const connectGateClient = async (server: TestServer, room: string, user: TestUser & { doc?: Y.Doc } = {}): Promise<GateClient> => {
  const client = await server.connect(room, { ...user, ext: true })
  const notices: Notice[] = []
  const pendingReviews: Array<readonly PendingReview[]> = []
  let durable = 0
  let openConflicts: readonly ConflictRecord[] | null = null
  client.provider.messageHandlers[MESSAGE_EXTENSION] = (_encoder, decoder: decoding.Decoder) => {
    const message = readExtensionMessage(decoder)
    if (message?.kind === 'notice') notices.push(message.notice)
    if (message?.kind === 'ack') durable = message.durableMessages
    if (message?.kind === 'pending-reviews') pendingReviews.push(message.reviews)
    if (message?.kind === 'open-conflicts') openConflicts = message.conflicts
  }
  await client.whenSynced()
  return { ...client, notices, pendingReviews, durableMessages: () => durable, map: (root) => client.doc.getMap(root), openConflicts: () => openConflicts }
}

/**
 * The clients a test file opened, so its `after` hook can release them all (a failing test must not
 * leave providers reconnecting and keep the process alive).
 */
export const gateClientPool = () => {
  const clients: GateClient[] = []
  return {
    open: async (server: TestServer, room: string, user: TestUser & { doc?: Y.Doc } = {}): Promise<GateClient> => {
      const client = await connectGateClient(server, room, user)
      clients.push(client)
      return client
    },
    destroyAll: (): void => {
      for (const client of clients.splice(0)) client.destroy()
    },
  }
}
