/**
 * A document owner in a process of its own, for the test of an owner paused past its lease
 * (fencing.test.ts stops it with SIGSTOP). It takes the lease, then writes to the document every
 * 20 ms under its epoch and prints each outcome as a JSON line, until the store refuses it as
 * stale. It deliberately never looks at its lease's validUntil: the worst case, a node that
 * checked its lease just before it was paused and writes as soon as it runs again.
 *
 * Arguments: <redis url> <postgres url> <document> <lease ms>
 */
import * as Y from 'yjs'
import { isCollabError } from '../../../shared/errors.ts'
import { PostgresDocumentStore } from '../../persistence/postgres/postgresDocumentStore.ts'
import { DocumentLeases } from '../documentLease.ts'

const [redisUrl = '', postgresUrl = '', document = '', leaseMs = '500'] = process.argv.slice(2)
const print = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`)

const leases = new DocumentLeases(redisUrl, { nodeId: 'paused-node', leaseMs: Number(leaseMs) })
const store = await PostgresDocumentStore.open(postgresUrl, { idleInTransactionTimeoutMs: 1_000 })
let acquired = null
while (acquired === null) {
  const attempt = await leases.acquire(document, { after: await store.highestEpoch(document) }).catch(() => null)
  if (attempt?.acquired) acquired = attempt.lease
  else await new Promise((resolve) => setTimeout(resolve, 20))
}
const { epoch } = acquired
print({ acquired: epoch })

const doc = new Y.Doc()
for (let write = 1; ; write++) {
  let update: Uint8Array | null = null
  doc.once('update', (bytes: Uint8Array) => (update = bytes))
  doc.getMap('meta').set(`paused-${write}`, write)
  try {
    await store.appendBatch(document, epoch, { update: update! })
    print({ wrote: write, epoch })
  } catch (error) {
    const code = isCollabError(error) ? error.code : String(error)
    print({ refused: code, write, epoch })
    if (code === 'ERR_STALE_EPOCH') break
  }
  await new Promise((resolve) => setTimeout(resolve, 20))
}
await store.close()
leases.close()
