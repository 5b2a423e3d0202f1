import type pg from 'pg'
import { CollabError, ErrorCode } from '../../../shared/errors.ts'

/**
 * The fencing check every write to a document makes first, inside its own transaction: the
 * document's epoch row is locked (`SELECT … FOR UPDATE`) until the transaction ends, so a
 * document's writers take turns, and
 * - a lower epoch than the row's is refused (ERR_STALE_EPOCH; the caller's transaction rolls back,
 *   so nothing of the write is stored): another node has taken the document over;
 * - a higher one takes over: the row records it, and from the commit on every lower epoch is
 *   refused, whatever its holder believes about its lease;
 * - the same one writes.
 * The row is created by the document's first write or claim. A batch's write (appendBatch,
 * importDocument) makes the same check inside its one statement instead (batchStatement.ts
 * `fencePart`); claims, compaction and retention call this.
 */
export const fenceDocument = async (client: pg.PoolClient, document: string, epoch: number): Promise<{ tookOver: boolean }> => {
  checkEpoch(epoch)
  await client.query('INSERT INTO document_epochs (document, epoch) VALUES ($1, 0) ON CONFLICT DO NOTHING', [document])
  const { rows } = await client.query<{ epoch: string }>('SELECT epoch FROM document_epochs WHERE document = $1 FOR UPDATE', [document])
  const current = Number(rows[0]!.epoch)
  if (epoch < current) throw staleEpoch(document, epoch, current)
  if (epoch === current) return { tookOver: false }
  await client.query('UPDATE document_epochs SET epoch = $2, since = now() WHERE document = $1', [document, epoch])
  return { tookOver: true }
}

/** An epoch is a positive integer; anything else is refused like a stale one, before any statement. */
export const checkEpoch = (epoch: number): void => {
  if (!Number.isSafeInteger(epoch) || epoch < 1) throw new CollabError(ErrorCode.StaleEpoch, `epoch must be a positive integer, got ${epoch}`)
}

/** The refusal of a write (or claim) by `epoch` below `current`, the document's fence. */
export const staleEpoch = (document: string, epoch: number, current: number | null): CollabError =>
  new CollabError(ErrorCode.StaleEpoch, `${document}: epoch ${epoch} is stale, ${current === null ? 'a higher one' : `epoch ${current}`} has written it (another node owns it now)`)
