import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ROLES } from '../schemas.ts'
import { atLeast, isRole, roleRank, withArticle } from './roles.ts'

describe('roles', () => {
  it('ranks viewer < editor < manager < admin', () => {
    assert.deepEqual(ROLES.map(roleRank), [0, 1, 2, 3])
  })

  it('atLeast compares ranks', () => {
    assert.equal(atLeast('manager', 'manager'), true)
    assert.equal(atLeast('admin', 'manager'), true)
    assert.equal(atLeast('editor', 'manager'), false)
  })

  it('isRole accepts only the four role names', () => {
    assert.equal(isRole('editor'), true)
    for (const value of ['owner', 'constructor', '', undefined, 2]) assert.equal(isRole(value), false)
  })

  it('withArticle puts the right article before a role', () => {
    assert.deepEqual(ROLES.map(withArticle), ['a viewer', 'an editor', 'a manager', 'an admin'])
  })
})
