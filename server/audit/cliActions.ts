import { hostname } from 'node:os'
import { isCollabError } from '../../shared/errors.ts'
import type { DocumentStorage } from '../persistence/documentStorage.ts'
import { auditRecord } from './auditRecord.ts'
import { auditLogFor } from './auditStorage.ts'

export interface CliAction {
  readonly tenant: string
  /** Who offline changes are recorded as (`posalpro-admin:<login>`). */
  readonly admin: string
  /** `review approve`, `docs revert` … */
  readonly command: string
  /** `<type>/<id>` the action changed, if one. */
  readonly document: string | null
}

/**
 * Runs a changing CLI action on a stopped server's store and records it in the access audit, in
 * the store itself (there is no server to do it): action `cli`, the command, the admin it runs as
 * and this machine's name as the address; a failed action is recorded with its error code, then
 * rethrown. The record is written before the action's result is returned: the store closes next.
 */
export const auditedCliAction = async <T>(store: DocumentStorage, action: CliAction, run: () => Promise<T>): Promise<T> => {
  let result: T
  try {
    result = await run()
  } catch (error) {
    // The action's own error is what the admin needs to see; a record that cannot be written then is not.
    await record(store, action, isCollabError(error) ? error.code : 'ERR_INTERNAL').catch(() => {})
    throw error
  }
  // Done but not recorded is a failure to report (exit 1): the audit must not silently miss it.
  await record(store, action, null)
  return result
}

const record = (store: DocumentStorage, action: CliAction, code: string | null): Promise<void> =>
  auditLogFor(store).append([
    auditRecord({
      tenant: action.tenant,
      userId: action.admin,
      role: 'admin',
      device: null,
      address: `local:${hostname()}`,
      document: action.document,
      action: 'cli',
      route: null,
      command: action.command,
      outcome: 'admitted',
      code,
    }),
  ])
