import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as encoding from 'lib0/encoding'
import { decodeEvent, encodeEvent, type EventRecord } from './eventLog.ts'

describe('event records on disk', () => {
  test('are lib0 varString(JSON) · varUint8Array(update), byte for byte, and decode back', () => {
    for (const size of [0, 1, 127, 128, 300, 20_000]) {
      const record: EventRecord = {
        seq: 7,
        at: 1_795_000_000_000,
        userId: 'zoë@acme', // multi-byte UTF-8: lengths are bytes, not characters
        device: null,
        outcome: 'review',
        applied: true,
        ruleIds: ['financial-review'],
        paths: ['financial.value', 'é'.repeat(80)],
        update: Uint8Array.from({ length: size }, (_, index) => index % 251),
        reviewId: 'r-1',
      }
      const { update, ...meta } = record
      const expected = encoding.createEncoder()
      encoding.writeVarString(expected, JSON.stringify(meta))
      encoding.writeVarUint8Array(expected, update)
      assert.deepEqual(new Uint8Array(encodeEvent(record)), encoding.toUint8Array(expected), `update of ${size} bytes`)
      assert.deepEqual(decodeEvent(encodeEvent(record)), record)
    }
  })
})
