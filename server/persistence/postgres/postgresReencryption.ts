import type pg from 'pg'
import { tenantOf, type RecordCodec, type RecordLocation } from '../../crypto/recordCodec.ts'
import { needsRewrite, type ReencryptionCursor } from '../reencryption.ts'
import { persistenceFailed } from './transaction.ts'
import type { RowSealer } from './sealedRows.ts'

/**
 * Re-encryption on PostgreSQL: every table with a sealed column, walked in primary-key order
 * (keyset pages, so a page costs the same at the end of a table as at its start), each row sealed
 * under an older data key rewritten under its tenant's current one. The cursor's `after` is the
 * table's name and the last row's key: `['events', document, seq]`.
 *
 * A page is read without locks; the rows it must rewrite are read again `FOR UPDATE` in a sealing
 * transaction (sharedKeyring.ts: pinned keyring, key generation checked) and rewritten only when
 * still under an old key, so a row another node wrote meanwhile (already under the current key)
 * is never put back to an older value, and a writer of that row waits for the rewrite (one page)
 * instead of racing it.
 */
interface SealedTable {
  readonly name: string
  /** The primary key, in order, with each column's SQL type (for `unnest`). */
  readonly keys: ReadonlyArray<readonly [column: string, type: string]>
  /** Columns besides the key that the row's location needs. */
  readonly extra?: readonly string[]
  readonly column: string
  readonly kind: 'bytes' | 'json' | 'text'
  /** How the rows of one tenant are found. */
  readonly tenant: 'document' | 'tenant'
  /** The row's location: the associated data it is sealed with (as postgresDocumentStore.ts seals it). */
  location(row: Row): RecordLocation
}

type Row = Record<string, unknown>

const n = (value: unknown): number => Number(value)
const t = (value: unknown): string => String(value)

/** Every sealed table of schema.ts; a table added there with a sealed column belongs here too (a test scans them all). */
export const SEALED_TABLES: readonly SealedTable[] = [
  { name: 'document_updates', keys: [['document', 'text'], ['clock', 'bigint']], column: 'update', kind: 'bytes', tenant: 'document', location: (r) => ['v1', t(r.document), 'update', n(r.clock)] },
  { name: 'document_state_vectors', keys: [['document', 'text']], extra: ['clock'], column: 'state_vector', kind: 'bytes', tenant: 'document', location: (r) => ['v1_sv', t(r.document), n(r.clock)] },
  { name: 'events', keys: [['document', 'text'], ['seq', 'bigint']], column: 'update', kind: 'bytes', tenant: 'document', location: (r) => ['posalpro_events', t(r.document), n(r.seq)] },
  { name: 'event_bases', keys: [['document', 'text']], extra: ['seq'], column: 'update', kind: 'bytes', tenant: 'document', location: (r) => ['posalpro_events_base', t(r.document), n(r.seq)] },
  { name: 'reviews', keys: [['tenant', 'text'], ['id', 'text']], column: 'item', kind: 'json', tenant: 'tenant', location: (r) => ['posalpro_reviews', t(r.tenant), t(r.id)] },
  {
    name: 'conflicts',
    keys: [['document', 'text'], ['event_seq', 'bigint'], ['position', 'integer']],
    column: 'conflict',
    kind: 'json',
    tenant: 'document',
    location: (r) => ['posalpro_conflicts', t(r.document), n(r.event_seq), n(r.position)],
  },
  { name: 'client_owners', keys: [['document', 'text'], ['client', 'bigint']], column: 'user_id', kind: 'text', tenant: 'document', location: (r) => ['posalpro_owners', t(r.document), n(r.client)] },
  {
    name: 'notifications',
    keys: [['tenant', 'text'], ['user_id', 'text'], ['id', 'text']],
    column: 'notification',
    kind: 'json',
    tenant: 'tenant',
    location: (r) => ['posalpro_notifications', t(r.tenant), t(r.user_id), t(r.id)],
  },
  { name: 'document_summaries', keys: [['tenant', 'text'], ['document', 'text']], column: 'summary', kind: 'json', tenant: 'tenant', location: (r) => ['posalpro_summaries', t(r.tenant), t(r.document)] },
  // As server/audit/postgresAuditLog.ts seals its rows.
  { name: 'audit_records', keys: [['tenant', 'text'], ['id', 'text']], column: 'record', kind: 'json', tenant: 'tenant', location: (r) => ['posalpro_audit', t(r.tenant), t(r.id)] },
]

/** A row's sealed value as bytes (the record header names its key), whatever the column's kind. */
const sealedBytes = (table: SealedTable, value: unknown): Uint8Array | null => {
  if (value === null || value === undefined) return null
  if (table.kind === 'bytes') return value as Buffer
  if (table.kind === 'text') return Buffer.from(String(value), 'base64')
  const sealed = (value as { sealed?: unknown }).sealed
  return typeof sealed === 'string' ? Buffer.from(sealed, 'base64') : null
}

const reseal = (table: SealedTable, sealer: RowSealer, location: RecordLocation, value: unknown): unknown => {
  if (table.kind === 'bytes') return sealer.sealBytes(location, sealer.openBytes(location, value as Buffer))
  if (table.kind === 'text') return sealer.sealText(location, sealer.openText(location, value as string))
  return sealer.sealJson(location, sealer.openJson(location, value))
}

const quoted = (column: string) => `"${column}"`

/** `WHERE` for the rows of one tenant (null: all), and the keyset condition after `after`. */
const conditions = (table: SealedTable, tenant: string | null, after: readonly unknown[] | null, values: unknown[]): string => {
  const parts: string[] = []
  if (tenant !== null) {
    values.push(tenant)
    parts.push(table.tenant === 'tenant' ? `tenant = $${values.length}` : `starts_with(document, $${values.length} || '/')`)
  }
  if (after && after.length === table.keys.length) {
    const placeholders = after.map((value) => (values.push(value), `$${values.length}`))
    parts.push(`(${table.keys.map(([column]) => quoted(column)).join(', ')}) > (${placeholders.join(', ')})`)
  }
  return parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : ''
}

export interface ResealContext {
  readonly pool: pg.Pool
  readonly codec: () => RecordCodec
  /** A sealing transaction of the store (its keyring pinned and checked). */
  transaction<T>(label: string, work: (client: pg.PoolClient, sealer: RowSealer) => Promise<T>): Promise<T>
}

/** One chunk of a pass: at most `limit` rows of the pass's scope after the cursor, those under an old key rewritten. */
export const resealRows = async (context: ResealContext, cursor: ReencryptionCursor, limit: number): Promise<{ last: RecordLocation | null; scanned: number; rewritten: number }> => {
  let index = cursor.after ? SEALED_TABLES.findIndex((table) => table.name === cursor.after![0]) : 0
  let after: readonly unknown[] | null = cursor.after ? cursor.after.slice(1) : null
  if (index < 0) index = 0
  for (; index < SEALED_TABLES.length; index++, after = null) {
    const table = SEALED_TABLES[index]!
    const columns = [...table.keys.map(([column]) => column), ...(table.extra ?? []), table.column].map(quoted).join(', ')
    const values: unknown[] = []
    const where = conditions(table, cursor.tenant, after, values)
    values.push(limit)
    const order = table.keys.map(([column]) => quoted(column)).join(', ')
    let rows: Row[]
    try {
      ;({ rows } = await context.pool.query<Row>(`SELECT ${columns} FROM ${table.name} ${where} ORDER BY ${order} LIMIT $${values.length}`, values))
    } catch (error) {
      throw persistenceFailed(`re-encrypt ${table.name}`, error)
    }
    if (rows.length === 0) continue
    const codec = context.codec()
    const stale = rows.filter((row) => needsRewrite(cursor, tenantOf(table.location(row)), keyIdOf(codec, sealedBytes(table, row[table.column]))))
    const rewritten = stale.length === 0 ? 0 : await rewrite(context, table, cursor, stale)
    const last = rows.at(-1)!
    return { last: [table.name, ...table.keys.map(([column]) => last[column] as string | number)], scanned: rows.length, rewritten }
  }
  return { last: null, scanned: 0, rewritten: 0 }
}

const keyIdOf = (codec: RecordCodec, bytes: Uint8Array | null): number | null => (bytes ? codec.keyIdOf(bytes) : null)

/** Locks the rows, reads them again, rewrites those still under an old key; returns how many. */
const rewrite = (context: ResealContext, table: SealedTable, cursor: ReencryptionCursor, rows: readonly Row[]): Promise<number> =>
  context.transaction(`re-encrypt ${table.name}`, async (client, sealer) => {
    const keyColumns = table.keys.map(([column]) => quoted(column)).join(', ')
    const keyArrays = table.keys.map(([column]) => rows.map((row) => row[column]))
    const unnest = table.keys.map(([, type], position) => `$${position + 1}::${type}[]`).join(', ')
    const columns = [...table.keys.map(([column]) => column), ...(table.extra ?? []), table.column].map(quoted).join(', ')
    const { rows: locked } = await client.query<Row>(
      `SELECT ${columns} FROM ${table.name} WHERE (${keyColumns}) IN (SELECT * FROM unnest(${unnest})) ORDER BY ${keyColumns} FOR UPDATE`,
      keyArrays,
    )
    const codec = context.codec()
    const changed = locked.filter((row) => needsRewrite(cursor, tenantOf(table.location(row)), keyIdOf(codec, sealedBytes(table, row[table.column]))))
    if (changed.length === 0) return 0
    const valueType = table.kind === 'bytes' ? 'bytea' : table.kind === 'json' ? 'jsonb' : 'text'
    const sealed = changed.map((row) => reseal(table, sealer, table.location(row), row[table.column]))
    const alias = table.keys.map((_, position) => `k${position}`)
    await client.query(
      `UPDATE ${table.name} AS t SET ${quoted(table.column)} = x.v
       FROM unnest(${[...table.keys.map(([, type], position) => `$${position + 1}::${type}[]`), `$${table.keys.length + 1}::${valueType}[]`].join(', ')}) AS x (${[...alias, 'v'].join(', ')})
       WHERE ${table.keys.map(([column], position) => `t.${quoted(column)} = x.${alias[position]}`).join(' AND ')}`,
      [...table.keys.map(([column]) => changed.map((row) => row[column])), sealed],
    )
    return changed.length
  })

/** The rows a pass of `tenant` (null: every tenant) goes through, for its progress. */
export const countSealedRows = async (pool: pg.Pool, tenant: string | null): Promise<number> => {
  const values: unknown[] = tenant === null ? [] : [tenant]
  const counts = SEALED_TABLES.map((table) => {
    const where = tenant === null ? '' : table.tenant === 'tenant' ? 'WHERE tenant = $1' : "WHERE starts_with(document, $1 || '/')"
    return `(SELECT count(*) FROM ${table.name} ${where})`
  })
  const { rows } = await pool.query<{ total: string }>(`SELECT ${counts.join(' + ')} AS total`, values)
  return Number(rows[0]?.total ?? 0)
}

const scopeOf = (tenant: string | null): string => tenant ?? ''

export const loadCursor = async (pool: pg.Pool, tenant: string | null): Promise<ReencryptionCursor | null> => {
  const { rows } = await pool.query<{ cursor: ReencryptionCursor }>('SELECT cursor FROM reencryption_cursors WHERE scope = $1', [scopeOf(tenant)])
  return rows[0]?.cursor ?? null
}

export const saveCursor = async (pool: pg.Pool, tenant: string | null, cursor: ReencryptionCursor | null): Promise<void> => {
  if (cursor === null) {
    await pool.query('DELETE FROM reencryption_cursors WHERE scope = $1', [scopeOf(tenant)])
    return
  }
  await pool.query('INSERT INTO reencryption_cursors (scope, cursor) VALUES ($1, $2) ON CONFLICT (scope) DO UPDATE SET cursor = EXCLUDED.cursor', [scopeOf(tenant), JSON.stringify(cursor)])
}
