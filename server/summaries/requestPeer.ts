import type { WebSocket } from 'ws'
import * as decoding from 'lib0/decoding'
import { MESSAGE_EXTENSION, readExtensionMessage, type Notice } from '../../shared/extensionProtocol.ts'
import type { Identity } from '../auth/index.ts'
import { Peer } from '../connection/peer.ts'

/**
 * A peer for a change an HTTP request makes as its user (a duplicate): its update takes the write
 * path exactly like one off a socket — the user's role, the rules, compensation, the audit record
 * under their name — and what the server would have told a connection (notices of refused or held
 * fields) is collected for the HTTP answer instead. It has no socket: what it is sent is kept.
 */
export const requestPeer = (identity: Identity): { peer: Peer; notices: () => Notice[] } => {
  const sent: Uint8Array[] = []
  const socket = {
    OPEN: 1,
    readyState: 1,
    bufferedAmount: 0,
    on: () => socket,
    send: (message: Uint8Array) => void sent.push(message),
    close: () => {},
    terminate: () => {},
    pause: () => {},
    resume: () => {},
    ping: () => {},
  }
  const peer = new Peer(socket as unknown as WebSocket, identity, true)
  const notices = (): Notice[] =>
    sent.flatMap((message) => {
      const decoder = decoding.createDecoder(message)
      if (decoding.readVarUint(decoder) !== MESSAGE_EXTENSION) return []
      const extension = readExtensionMessage(decoder)
      return extension?.kind === 'notice' ? [extension.notice] : []
    })
  return { peer, notices }
}
