import { join } from 'node:path'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { parseDocumentName } from '../../shared/documentName.ts'
import { verifyDocument, type VerificationReport } from '../admin/documentVerification.ts'
import { DocumentStore } from '../persistence/documentStore.ts'
import type { BackupHeader, BackupSummary } from './backupFormat.ts'
import { restoreBackup, type RestoreOptions } from './backupRestore.ts'

export interface BackupVerification {
  readonly header: BackupHeader
  readonly summary: BackupSummary
  /** One report per document: its stored updates decode, the event log rebuilds it, its fields hold. */
  readonly documents: readonly VerificationReport[]
  readonly ok: boolean
}

/**
 * Checks a backup as a restore would use it: the checksum, every frame, then a restore into a
 * scratch directory and `docs verify` on every document there (the same check as the admin
 * command: updates decode, the event log rebuilds the state, every field satisfies its schema).
 * A sealed backup needs its master key: its documents cannot be read without it.
 */
export const verifyBackup = async (
  file: string,
  options: RestoreOptions & { readonly onDocument?: (done: number, total: number, name: string) => void },
): Promise<BackupVerification> => {
  const scratch = await mkdtemp(join(tmpdir(), 'posalpro-backup-verify-'))
  try {
    const directory = join(scratch, 'data')
    const { header, summary } = await restoreBackup(file, directory, options)
    const store = await DocumentStore.open(directory, { atRest: { masterKey: header.encrypted ? options.masterKey : null } })
    const documents: VerificationReport[] = []
    try {
      const names = await store.documentNames()
      for (const [index, storageName] of names.entries()) {
        const slash = storageName.indexOf('/')
        const tenant = storageName.slice(0, slash)
        const document = parseDocumentName(storageName.slice(slash + 1))
        documents.push({ ...(await verifyDocument(store, tenant, document.type, document.name)), name: storageName })
        options.onDocument?.(index + 1, names.length, storageName)
      }
    } finally {
      await store.close()
    }
    return { header, summary, documents, ok: documents.every((report) => report.ok) }
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}
