import { CollabError, ErrorCode } from '../../shared/errors.ts'
import type { DocumentName } from '../../shared/documentName.ts'
import { hasRole, type Identity } from '../auth/index.ts'
import type { DocumentSource } from '../admin/documentSource.ts'
import type { EventRecord } from '../persistence/eventLog.ts'
import type { Summary } from './summary.ts'
import { ARCHIVE_RULE, UNARCHIVE_RULE, type SummaryKeeper } from './summaryKeeper.ts'

/**
 * Archives a document (or brings it back), for managers and admins. Reversible and audited: an
 * `admin` event (rule `archive` or `unarchive`, the user, the time) goes into the document's own
 * event log through its room, and the summary carries the flag — an archived document leaves the
 * default list, nothing of its content or history changes. Archiving what is archived already
 * changes nothing (and records nothing).
 */
export const setArchived = async (
  { source, keeper }: { source: DocumentSource; keeper: SummaryKeeper },
  identity: Identity,
  document: DocumentName,
  archive: boolean,
): Promise<Summary> => {
  if (!hasRole(identity, 'manager')) throw new CollabError(ErrorCode.ManagerOnly, 'archiving documents needs the manager or admin role')
  const summary = keeper.index.get(identity.tenant, document.name)
  if (!summary) throw new CollabError(ErrorCode.DocumentNotFound, `no document ${document.name}`)
  if ((summary.archived !== null) === archive) return summary
  const at = Date.now()
  let seq = 0
  await source.change(
    identity.tenant,
    document,
    () => undefined,
    ({ update, nextSeq }) => {
      seq = nextSeq()
      const event: EventRecord = {
        seq,
        at,
        userId: identity.userId,
        device: identity.device,
        outcome: 'admin',
        ruleIds: [archive ? ARCHIVE_RULE : UNARCHIVE_RULE],
        paths: [],
        update,
        applied: true,
      }
      return { events: [event], reviews: [] }
    },
  )
  return keeper.setArchived(identity.tenant, document.name, archive ? { at, by: identity.userId } : null, seq)
}
