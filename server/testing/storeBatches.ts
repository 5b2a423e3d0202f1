import * as Y from 'yjs'
import type { EventRecord } from '../persistence/eventLog.ts'

/** A writer's document: each edit (a meta field) returns the update it made and the state vector after it. */
export const editor = () => {
  const doc = new Y.Doc()
  return {
    doc,
    edit(key: string, value: unknown): { update: Uint8Array; stateVector: Uint8Array } {
      let update: Uint8Array | null = null
      doc.once('update', (bytes: Uint8Array) => (update = bytes))
      doc.getMap('meta').set(key, value)
      return { update: update!, stateVector: Y.encodeStateVector(doc) }
    },
  }
}

/** An accepted event record of alice's, for `update`, as a store keeps it. */
export const event = (seq: number, update: Uint8Array, extra: Partial<EventRecord> = {}): EventRecord => ({
  seq,
  at: 1_790_000_000_000 + seq,
  userId: 'alice',
  device: 'laptop',
  outcome: 'accepted',
  applied: true,
  ruleIds: [],
  paths: ['meta.title'],
  update,
  ...extra,
})
