import type { Peer } from '../connection/peer.ts'
import type { AwarenessRelay } from '../protocol/awarenessRelay.ts'
import { encodeAwareness } from '../protocol/protocol.ts'
import { hasRole } from '../auth/index.ts'
import type { ClientOwners } from '../gate/clientOwnership.ts'

/**
 * Applies a peer's awareness update (checked by the frame handler) and returns the client ids it
 * changed. An editor's client shows its id here before its sync step 2 brings its offline edits:
 * the id is kept for that user (clientOwners.announce), also once the connection is gone.
 */
export const applyPeerAwareness = (awareness: AwarenessRelay<Peer>, owners: ClientOwners, peer: Peer, update: Uint8Array): readonly number[] => {
  const changed = awareness.apply(update, peer)
  if (hasRole(peer.identity, 'editor')) {
    for (const client of changed) if (awareness.ownerOf(client) === peer) owners.announce(client, peer)
  }
  return changed
}

/** The message telling every peer what changed (null: nothing did). */
export const awarenessChangeMessage = (awareness: AwarenessRelay<Peer>, changed: readonly number[]): Uint8Array | null =>
  changed.length > 0 ? encodeAwareness(awareness.encode(changed)) : null
