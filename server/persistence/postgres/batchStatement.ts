import { encodeEvent, type EventBase, type EventRecord } from '../eventLog.ts'
import type { DocumentBatch } from '../documentStorage.ts'
import { parseConflictId } from '../../../shared/conflictRecord.ts'
import { decisionNotification } from '../../reviews/reviewStorage.ts'
import type { Notification } from '../../notifications/notification.ts'
import type { RowSealer } from './sealedRows.ts'
import { baseLocation, conflictLocation, eventLocation, notificationLocation, ownerLocation, reviewLocation, stateVectorLocation, updateLocation } from './rowLocations.ts'

/**
 * A document's write — the fence, the key-generation check and everything a batch holds — as ONE
 * statement of data-modifying CTEs: one round trip through the driver instead of 6–9 (each a parse,
 * a bind, result rows and promise hops: ~2 ms of the node's CPU for a new document's first write
 * in a connection storm). The store sends it with a BEGIN ahead in the same round trip, then a
 * COMMIT: a statement sent alone would commit itself even when it ran after the node gave up
 * waiting (PostgreSQL paused past the query timeout: the node reports the write failed, and it
 * would be stored after all); within a transaction, it commits only on the COMMIT the node sends
 * once it has the statement's answer in time.
 *
 * Every part that stores rows selects FROM `checked`, the one-row CTE that runs the checks: a check
 * that fails raises (`posalpro_refuse`, migration 9) and the whole statement aborts, nothing of it
 * stored. Raising, not a `WHERE` that makes each insert select nothing: a refused write must fail
 * (the caller must not acknowledge it); an abort undoes every part whatever order PostgreSQL ran
 * the CTEs in (it does not promise one); and a raise carries a SQLSTATE of its own (REFUSED), which
 * the store maps to the typed error it threw before — a division by zero would do the aborting
 * too, but its code could not be told from a real one.
 *
 * The checks' order is the CASE's: the fence first (a stale writer is told so whatever else is
 * wrong), then the key generation, then the clock.
 */

/** The SQLSTATE each check raises with (class PX: no PostgreSQL error uses it). */
export const REFUSED = {
  /** A higher epoch has claimed or written the document: ERR_STALE_EPOCH. */
  staleEpoch: 'PX001',
  /** The data keys were rotated or retired since this node loaded its keyring: reload, seal again. */
  keyGeneration: 'PX002',
  /** The clock the update was sealed at is not the document's next one any more: read it, seal again. */
  clockTaken: 'PX003',
} as const

export interface BatchWrite {
  readonly document: string
  readonly epoch: number
  /** The key generation the rows are sealed under, checked against the keyring row; null: not encrypted. */
  readonly keyGeneration: number | null
  /**
   * The clock the update is stored at, known before the statement because a sealed update is bound
   * to it (its associated data); checked to be the document's next one. Null when there is no update.
   */
  readonly clock: number | null
  /** The document's `documents` row is known to be committed already: not inserted again. */
  readonly listed: boolean
  readonly batch: DocumentBatch
  /** A document copied in from another store: its event log's retention base. */
  readonly eventBase?: EventBase | null
}

/** The statement's text and values, for `pg`'s `query`. */
export interface Statement {
  readonly text: string
  readonly values: unknown[]
}

/** The statement that stores `write`, its values sealed by `sealer`. */
export const batchStatement = (sealer: RowSealer, write: BatchWrite): Statement => {
  const parameters = new Parameters()
  const document = parameters.add(write.document, 'text')
  const epoch = parameters.add(write.epoch, 'bigint')
  const { update, stateVector, events = [], reviews = [], conflicts = [], owners = [] } = write.batch
  const parts = [
    fencePart(document, epoch),
    ...(write.keyGeneration === null ? [] : [keyringPart()]),
    checksPart(parameters, document, write),
    ...(update && !write.listed ? [documentRowPart(parameters, document, write.document)] : []),
    ...(update && write.clock !== null ? [updatePart(parameters, sealer, document, epoch, write.document, write.clock, update)] : []),
    ...(update && write.clock !== null && stateVector ? [stateVectorPart(parameters, sealer, document, write.document, write.clock, stateVector)] : []),
    ...(write.eventBase ? [eventBasePart(parameters, sealer, document, write.document, write.eventBase)] : []),
    ...(events.length > 0 ? [eventsPart(parameters, sealer, document, write.document, events)] : []),
    ...(reviews.length > 0 ? reviewsParts(parameters, sealer, document, reviews) : []),
    ...(conflicts.length > 0 ? [conflictsPart(parameters, sealer, document, write.document, conflicts)] : []),
    ...(owners.length > 0 ? [ownersPart(parameters, sealer, document, write.document, owners)] : []),
  ]
  // The primary query reads `checked` so the checks run even when no part stores anything of
  // its own (every part reads it too; a CTE is evaluated once).
  return { text: `WITH ${parts.join(',\n')}\nSELECT passed FROM checked`, values: parameters.values }
}

/** Numbered, typed parameters: each cast where it is used, so PostgreSQL never has to guess a type. */
class Parameters {
  readonly values: unknown[] = []

  add(value: unknown, type: string): string {
    this.values.push(value)
    return `$${this.values.length}::${type}`
  }
}

/**
 * The epoch fence (as `fenceDocument` in epochFence.ts, in one statement): the document's epoch row
 * created or locked — ON CONFLICT DO UPDATE always locks the row it conflicts with, and it sees
 * that row's newest committed version, whatever this statement's snapshot — and raised to `epoch`
 * when that is higher. A lower epoch updates nothing and returns no row: refused. The same epoch
 * rewrites the row as it is (a row version more than a lock alone, the price of one statement).
 */
const fencePart = (document: string, epoch: string) => `fence AS (
  INSERT INTO document_epochs (document, epoch) VALUES (${document}, ${epoch})
  ON CONFLICT (document) DO UPDATE
    SET epoch = EXCLUDED.epoch,
        since = CASE WHEN document_epochs.epoch < EXCLUDED.epoch THEN now() ELSE document_epochs.since END
    WHERE document_epochs.epoch <= EXCLUDED.epoch
  RETURNING epoch
)`

/**
 * Encrypted: the keyring row's key generation, under the share lock every sealing write holds to
 * its commit (sharedKeyring.ts): a rotation or retirement waits for this write, or this write for
 * it — a locking read returns the row's newest version, so a rotation committed after this
 * statement began is seen.
 */
const keyringPart = () => `keyring AS (
  SELECT key_generation FROM crypto_keyring WHERE id = 1 FOR KEY SHARE
)`

/**
 * The checks, one row or an error. MATERIALIZED: evaluated once, before any part stores a row.
 * The clock is read in this statement's snapshot: a writer that committed the same clock since
 * makes the update's insert fail on the primary key instead (also retried by the store).
 */
const checksPart = (parameters: Parameters, document: string, write: BatchWrite) => {
  const checks = [`WHEN NOT EXISTS (SELECT FROM fence) THEN posalpro_refuse('${REFUSED.staleEpoch}', 'stale epoch')`]
  if (write.keyGeneration !== null) {
    checks.push(
      `WHEN coalesce((SELECT key_generation FROM keyring), 0) <> ${parameters.add(write.keyGeneration, 'bigint')}
        THEN posalpro_refuse('${REFUSED.keyGeneration}', 'the data keys were rotated or retired')`,
    )
  }
  if (write.clock !== null) {
    checks.push(
      `WHEN (SELECT coalesce(max(clock) + 1, 0) FROM document_updates WHERE document = ${document}) <> ${parameters.add(write.clock, 'bigint')}
        THEN posalpro_refuse('${REFUSED.clockTaken}', 'the clock was taken')`,
    )
  }
  return `checked AS MATERIALIZED (
  SELECT CASE
    ${checks.join('\n    ')}
    ELSE true
  END AS passed
)`
}

/** Its first update makes the document exist (the index, the tenant's list). */
const documentRowPart = (parameters: Parameters, document: string, name: string) => `listed AS (
  INSERT INTO documents (name, tenant) SELECT ${document}, ${parameters.add(tenantOf(name), 'text')} FROM checked
  ON CONFLICT DO NOTHING
)`

const updatePart = (parameters: Parameters, sealer: RowSealer, document: string, epoch: string, name: string, clock: number, update: Uint8Array) => `stored_update AS (
  INSERT INTO document_updates (document, clock, "update", epoch)
  SELECT ${document}, ${parameters.add(clock, 'bigint')}, ${parameters.add(sealer.sealBytes(updateLocation(name, clock), update), 'bytea')}, ${epoch} FROM checked
)`

/** Stored with the update's clock: a cold load uses it only while that update is the last. */
const stateVectorPart = (parameters: Parameters, sealer: RowSealer, document: string, name: string, clock: number, stateVector: Uint8Array) => `stored_state_vector AS (
  INSERT INTO document_state_vectors (document, clock, state_vector)
  SELECT ${document}, ${parameters.add(clock, 'bigint')}, ${parameters.add(sealer.sealBytes(stateVectorLocation(name, clock), stateVector), 'bytea')} FROM checked
  ON CONFLICT (document) DO UPDATE SET clock = EXCLUDED.clock, state_vector = EXCLUDED.state_vector
)`

const eventBasePart = (parameters: Parameters, sealer: RowSealer, document: string, name: string, { seq, update }: EventBase) => `stored_base AS (
  INSERT INTO event_bases (document, seq, "update")
  SELECT ${document}, ${parameters.add(seq, 'bigint')}, ${parameters.add(sealer.sealBytes(baseLocation(name, seq), update), 'bytea')} FROM checked
)`

/**
 * The events as one array per column (`unnest`): any number in one statement, with a fixed number
 * of parameters (PostgreSQL takes at most 65,535). A text[] column travels as JSON per event: an
 * array of arrays must be rectangular in PostgreSQL, these are not.
 * Sealed, the whole record (who, where, which rules, the update) is in the update column; seq,
 * time and outcome stay readable for retention and the schema's checks.
 */
const eventsPart = (parameters: Parameters, sealer: RowSealer, document: string, name: string, events: readonly EventRecord[]) => {
  const sealed = sealer.encrypted
  const column = <T>(type: string, value: (event: EventRecord) => T) => parameters.add(events.map(value), `${type}[]`)
  const columns = [
    column('bigint', (event) => event.seq),
    column('bigint', (event) => event.at),
    column('text', (event) => (sealed ? '' : event.userId)),
    column('text', (event) => (sealed ? null : event.device)),
    column('text', (event) => event.outcome),
    column('boolean', (event) => event.applied),
    column('jsonb', (event) => JSON.stringify(sealed ? [] : event.ruleIds)),
    column('jsonb', (event) => JSON.stringify(sealed ? [] : event.paths)),
    column('bytea', (event) => (sealed ? sealer.sealBytes(eventLocation(name, event.seq), encodeEvent(event)) : event.update)),
    column('integer', (event) => (sealed ? null : (event.refused?.bytes ?? null))),
    column('text', (event) => (sealed ? null : (event.refused?.sha256 ?? null))),
    column('text', (event) => (sealed ? null : (event.reviewId ?? null))),
    column('text', (event) => (sealed ? null : (event.userName ?? null))),
  ]
  return `stored_events AS (
  INSERT INTO events (document, seq, at, user_id, device, outcome, applied, rule_ids, paths, "update", refused_bytes, refused_sha256, review_id, user_name)
  SELECT ${document}, e.seq, e.at, e.user_id, e.device, e.outcome, e.applied, ${textArray('e.rule_ids')}, ${textArray('e.paths')},
         e."update", e.refused_bytes, e.refused_sha256, e.review_id, e.user_name
  FROM checked, unnest(${columns.join(', ')})
    AS e (seq, at, user_id, device, outcome, applied, rule_ids, paths, "update", refused_bytes, refused_sha256, review_id, user_name)
)`
}

/** A JSON array of strings as text[], in its order. */
const textArray = (json: string) => `ARRAY(SELECT t.value FROM jsonb_array_elements_text(${json}) WITH ORDINALITY AS t (value, n) ORDER BY t.n)`

/**
 * Review items (replaced by id: a decision puts the item again, changed) and, for each decided
 * one, the proposer's lasting notification — in the decision's statement, as in LevelDB.
 * One row per id: an INSERT … ON CONFLICT may not touch a row twice, so an id the batch holds
 * more than once is folded first, to what putting them in turn would leave (the first's document
 * and event, the last's status and item; the last notification).
 */
const reviewsParts = (parameters: Parameters, sealer: RowSealer, document: string, reviews: NonNullable<DocumentBatch['reviews']>) => {
  const byId = new Map<string, { first: (typeof reviews)[number]; last: (typeof reviews)[number] }>()
  for (const review of reviews) {
    const key = JSON.stringify([review.tenant, review.id])
    byId.set(key, { first: byId.get(key)?.first ?? review, last: review })
  }
  const items = [...byId.values()]
  const notifications = new Map<string, Notification>()
  for (const review of reviews) {
    const notification = decisionNotification(review)
    if (notification) notifications.set(JSON.stringify([notification.tenant, notification.userId, notification.id]), notification)
  }
  const parts = [
    `stored_reviews AS (
  INSERT INTO reviews (tenant, id, document, status, event_seq, item)
  SELECT r.tenant, r.id, ${document}, r.status, r.event_seq, r.item
  FROM checked, unnest(${parameters.add(
    items.map(({ first }) => first.tenant),
    'text[]',
  )}, ${parameters.add(
    items.map(({ first }) => first.id),
    'text[]',
  )}, ${parameters.add(
    items.map(({ last }) => last.status),
    'text[]',
  )}, ${parameters.add(
    items.map(({ first }) => first.eventSeq),
    'bigint[]',
  )}, ${parameters.add(
    items.map(({ last }) => sealer.sealJson(reviewLocation(last.tenant, last.id), last)),
    'jsonb[]',
  )}) AS r (tenant, id, status, event_seq, item)
  ON CONFLICT (tenant, id) DO UPDATE SET status = EXCLUDED.status, item = EXCLUDED.item
)`,
  ]
  if (notifications.size > 0) parts.push(notificationsPart(parameters, sealer, [...notifications.values()]))
  return parts
}

const notificationsPart = (parameters: Parameters, sealer: RowSealer, notifications: readonly Notification[]) => `stored_notifications AS (
  INSERT INTO notifications (tenant, user_id, id, notification)
  SELECT n.tenant, n.user_id, n.id, n.notification
  FROM checked, unnest(${parameters.add(
    notifications.map((notification) => notification.tenant),
    'text[]',
  )}, ${parameters.add(
    notifications.map((notification) => notification.userId),
    'text[]',
  )}, ${parameters.add(
    notifications.map((notification) => notification.id),
    'text[]',
  )}, ${parameters.add(
    notifications.map((notification) => sealer.sealJson(notificationLocation(notification.tenant, notification.userId, notification.id), notification)),
    'jsonb[]',
  )}) AS n (tenant, user_id, id, notification)
  ON CONFLICT (tenant, user_id, id) DO UPDATE SET notification = EXCLUDED.notification
)`

/** Keyed by the conflict's id (event, index): a dismissal puts the record again, changed. */
const conflictsPart = (parameters: Parameters, sealer: RowSealer, document: string, name: string, conflicts: NonNullable<DocumentBatch['conflicts']>) => {
  const positions = conflicts.map((conflict, index) => parseConflictId(conflict.id)?.index ?? index)
  return `stored_conflicts AS (
  INSERT INTO conflicts (document, event_seq, position, conflict)
  SELECT ${document}, c.event_seq, c.position, c.conflict
  FROM checked, unnest(${parameters.add(
    conflicts.map((conflict) => conflict.eventSeq ?? 0),
    'bigint[]',
  )}, ${parameters.add(positions, 'integer[]')}, ${parameters.add(
    conflicts.map((conflict, index) => sealer.sealJson(conflictLocation(name, conflict.eventSeq ?? 0, positions[index]!), conflict)),
    'jsonb[]',
  )}) AS c (event_seq, position, conflict)
  ON CONFLICT (document, event_seq, position) DO UPDATE SET conflict = EXCLUDED.conflict
)`
}

/** The first writer of a client id owns it: a claim already stored stays. */
const ownersPart = (parameters: Parameters, sealer: RowSealer, document: string, name: string, owners: NonNullable<DocumentBatch['owners']>) => `stored_owners AS (
  INSERT INTO client_owners (document, client, user_id)
  SELECT ${document}, o.client, o.user_id
  FROM checked, unnest(${parameters.add(
    owners.map((owner) => owner.client),
    'bigint[]',
  )}, ${parameters.add(
    owners.map((owner) => sealer.sealText(ownerLocation(name, owner.client), owner.userId)),
    'text[]',
  )}) AS o (client, user_id)
  ON CONFLICT DO NOTHING
)`

/** `<tenant>/<type>/<id>` → tenant. */
export const tenantOf = (document: string): string => document.slice(0, Math.max(0, document.indexOf('/')))
