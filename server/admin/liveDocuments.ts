import type * as Y from 'yjs'
import type { DocumentName } from '../../shared/documentName.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import type { RoomRegistry } from '../rooms/roomRegistry.ts'
import type { DocumentSource, LiveClient } from './documentSource.ts'

/**
 * The running server's documents: changes go through the document's room (loaded for the change
 * if nobody has it open), in the room's order, so every connected client receives them live.
 */
export const liveDocuments = (store: DocumentStorage, rooms: RoomRegistry): DocumentSource => ({
  store,
  read: async <T>(tenant: string, document: DocumentName, read: (doc: Y.Doc) => T): Promise<T> => {
    const live = rooms.find(tenant, document.name)
    if (live && live.state === 'ready') return read(live.doc)
    const { doc } = await store.loadDoc(`${tenant}/${document.name}`)
    try {
      return read(doc)
    } finally {
      doc.destroy()
    }
  },
  change: async (tenant, document, edit, describe) => {
    const room = await rooms.open(tenant, document)
    try {
      let result: ReturnType<typeof edit> | undefined
      await room.applyServerChange(
        (doc) => {
          result = edit(doc, room.reviews)
        },
        (update) => describe({ update, nextSeq: () => room.nextEventSeq() }, result!),
      )
      return result!
    } finally {
      rooms.release(room)
    }
  },
  // Through the room, as a change: in cluster mode opening it takes the document's lease (a
  // document another node owns is forwarded there first), so only the owner compacts.
  compact: async (tenant, document) => {
    const room = await rooms.open(tenant, document)
    try {
      await room.compactNow()
    } finally {
      rooms.release(room)
    }
  },
  connections: (tenant, name) => rooms.find(tenant, name)?.peers.size ?? 0,
  clients: (tenant) => {
    const clients: LiveClient[] = []
    for (const room of rooms.all()) {
      if (room.tenant !== tenant) continue
      for (const peer of room.peers) {
        const { userId, role, device } = peer.identity
        clients.push({ user: userId, role, device, tenant, document: room.document.name, since: peer.connectedAt, bytesIn: peer.bytesIn, bytesOut: peer.bytesOut })
      }
    }
    return clients
  },
  tell: (tenant, name, userId, message) => {
    const room = rooms.find(tenant, name)
    if (!room) return
    for (const peer of room.peers) if (peer.identity.userId === userId) peer.sendExtension(message)
  },
})
