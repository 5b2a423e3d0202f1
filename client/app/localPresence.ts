import type { DocumentHandle } from '../documentHandle.ts'
import type { Disposables } from './dom.ts'
import type { PresenceUser } from './presenceList.ts'

/**
 * Puts this user in the document's awareness and keeps them there across reconnects.
 *
 * When a connection ends, the server and the other clients remove this client's state at the
 * clock it had, and refuse that clock from then on (a replay). The provider re-sends the state at
 * that same clock when it reconnects, so without a new clock this user stayed invisible to the
 * others until the next periodic renewal (up to 15 s) or a caret move. Setting the state again
 * on every new connection bumps the clock, which every peer accepts.
 */
export const announcePresence = (handle: DocumentHandle, user: PresenceUser, disposables: Disposables): void => {
  const awareness = handle.awareness
  awareness.setLocalStateField('user', user)
  let connected = handle.status === 'synced'
  const onStatus = (status: string) => {
    const wasConnected = connected
    connected = status === 'synced'
    if (!connected || wasConnected) return
    const state = awareness.getLocalState()
    if (state !== null) awareness.setLocalState({ ...state })
  }
  handle.on('status', onStatus)
  disposables.add(() => handle.off('status', onStatus))
}
