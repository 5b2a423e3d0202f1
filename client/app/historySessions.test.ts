import assert from 'node:assert/strict'
import { test } from 'node:test'
import { editingSessions, SESSION_GAP_MS } from './historySessions.ts'

const minute = 60_000

test('one person\'s changes with short pauses are one session; another person or a long pause starts a new one', () => {
  const events = [
    { seq: 6, at: 100 * minute, userId: 'alice', userName: 'Alice' },
    { seq: 5, at: 98 * minute, userId: 'alice' },
    { seq: 4, at: 94 * minute, userId: 'alice', userName: 'Alice' },
    { seq: 3, at: 80 * minute, userId: 'alice', userName: 'Alice' },
    { seq: 2, at: 79 * minute, userId: 'bob', userName: 'Bob' },
    { seq: 1, at: 78 * minute, userId: 'alice', userName: 'Alice' },
  ]
  const sessions = editingSessions(events)
  assert.deepEqual(
    sessions.map((session) => [session.userName, session.events.map((event) => event.seq), session.from, session.to]),
    [
      ['Alice', [6, 5, 4], 94 * minute, 100 * minute],
      ['Alice', [3], 80 * minute, 80 * minute],
      ['Bob', [2], 79 * minute, 79 * minute],
      ['Alice', [1], 78 * minute, 78 * minute],
    ],
  )
  assert.deepEqual(editingSessions([]), [])
  // Exactly the gap apart: a new session.
  assert.equal(editingSessions([{ seq: 2, at: SESSION_GAP_MS, userId: 'a' }, { seq: 1, at: 0, userId: 'a' }]).length, 2)
})
