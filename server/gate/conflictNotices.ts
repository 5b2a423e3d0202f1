import type { ConflictRecord } from '../../shared/conflictRecord.ts'
import { encodeNotice, encodeOpenConflicts } from '../../shared/extensionProtocol.ts'
import type { Peer } from '../connection/peer.ts'
import type { Room } from '../rooms/room.ts'

/**
 * Who is told what about a conflict. The person whose value was replaced sees it on the field
 * (the open conflicts of the document, sent on connect and whenever the list changes) until they
 * dismiss it; the person whose value was kept is told once, if connected. Only clients that asked
 * for extension messages hear of it (stock clients cannot read them).
 */
export const tellConflicts = (room: Room, sender: Peer, conflicts: readonly ConflictRecord[]): void => {
  room.conflictCount += conflicts.length
  if (conflicts.length > 0) room.metrics.conflicts.inc(conflicts.length)
  const peersOf = (userId: string) => (userId === sender.identity.userId ? [sender] : [...room.peers].filter((peer) => peer.identity.userId === userId))
  const losers = new Set<string>()
  for (const conflict of conflicts) {
    const { winner, loser } = conflict
    if (conflict.rule === 'timestamp-wins') {
      const notice = encodeNotice({
        outcome: 'conflict',
        ruleId: conflict.rule,
        path: conflict.path,
        message: `Your ${conflict.path} replaced a value ${loser.name ?? loser.userId} set at the same time`,
      })
      for (const peer of peersOf(winner.userId)) peer.sendExtension(notice)
      losers.add(loser.userId)
      continue
    }
    const notice = encodeNotice({
      outcome: 'conflict',
      ruleId: conflict.rule,
      path: conflict.path,
      message: `${winner.name ?? winner.userId} changed ${conflict.path} at the same time; their value ${JSON.stringify(winner.value)} was kept`,
    })
    for (const peer of peersOf(loser.userId)) peer.sendExtension(notice)
  }
  if (losers.size === 0) return
  // Read back from the store once these conflicts are durable: the list is the stored truth.
  room.commits.drain().then(
    () => {
      for (const userId of losers) void showOpenConflicts(room, peersOf(userId))
    },
    () => {}, // a failed write closes the room's peers; they are shown the list when they reconnect
  )
}

/** Sends each peer (of one user) the open conflicts of its document for its user. */
export const showOpenConflicts = async (room: Room, peers: readonly Peer[]): Promise<void> => {
  const wanting = peers.filter((peer) => peer.wantsExtensions)
  if (wanting.length === 0) return
  try {
    const message = encodeOpenConflicts(await room.openConflicts.of(wanting[0]!.identity.userId))
    for (const peer of wanting) if (room.peers.has(peer)) peer.sendExtension(message)
  } catch (error) {
    room.logger.warn({ err: error }, 'open conflicts could not be read')
  }
}
