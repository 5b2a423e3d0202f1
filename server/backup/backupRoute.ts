import type { ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { CollabError, ErrorCode } from '../../shared/errors.ts'

export type TenantBackup = (tenant: string) => Readable

/**
 * `GET /admin/backup`: the admin's tenant, as of the request, streamed as a backup file. Like
 * every admin route it is scoped to the token's tenant: a whole-store backup (every tenant) is
 * for the operator, on the host (scheduled backups, or the CLI on a stopped data directory). Once
 * the answer has started an error can only cut it short; the file then lacks its checksum and the
 * CLI refuses it.
 */
export const sendBackup = async (response: ServerResponse, tenant: string, backup: TenantBackup | undefined): Promise<void> => {
  if (!backup) throw new CollabError(ErrorCode.BackupUnsupported, 'this server stores in PostgreSQL: back it up with pg_dump or point-in-time recovery (README, Operations)')
  const stream = backup(tenant)
  response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-disposition': `attachment; filename="posalpro-backup-${tenant}.ppbak"` })
  await pipeline(stream, response).catch(() => response.destroy())
}
