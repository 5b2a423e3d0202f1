import type { Migration } from './migrations.ts'

/**
 * The PostgreSQL schema of cluster mode: one table per concept the LevelDB store keeps today
 * (documentStore.ts and the key formats beside the types), keyed for the reads that store does.
 * Documents are named by storage name, `<tenant>/<type>/<id>`, as in LevelDB.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'documents, updates, epochs, event log, reviews, conflicts, client owners',
    sql: `
      -- The fence: the highest epoch (lease fencing token) that has written or claimed each
      -- document. Every write locks this row first and is refused when its epoch is lower. Every
      -- other table of a document refers to it: its row is the first thing any write creates.
      CREATE TABLE document_epochs (
        document text PRIMARY KEY,
        epoch bigint NOT NULL CHECK (epoch >= 0),
        since timestamptz NOT NULL DEFAULT now()
      );

      -- Which documents exist: those with content, from their first stored update on (the
      -- document index, which rules ask whether a referenced customer exists, and the tenant's
      -- list). A document only claimed, or with only a viewer's refused write, is not one.
      CREATE TABLE documents (
        name text PRIMARY KEY REFERENCES document_epochs (document),
        tenant text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX documents_by_tenant ON documents (tenant, name);

      -- The Yjs updates of a document, in the order they were stored (y-leveldb's update clock);
      -- a cold load reads them in key order. epoch: the owner that wrote it.
      CREATE TABLE document_updates (
        document text NOT NULL REFERENCES document_epochs (document),
        clock bigint NOT NULL CHECK (clock >= 0),
        "update" bytea NOT NULL,
        epoch bigint NOT NULL,
        PRIMARY KEY (document, clock)
      );

      -- The document's state vector as of update \`clock\` (current when it is the last update's):
      -- answering a peer after a cold load needs no decode of the updates.
      CREATE TABLE document_state_vectors (
        document text PRIMARY KEY REFERENCES document_epochs (document),
        clock bigint NOT NULL,
        state_vector bytea NOT NULL
      );

      -- The event log (audit trail and time travel), gap-free per document. at: ms since the epoch,
      -- as the records carry it. refused_*: size and hash of a refused update whose bytes are not kept.
      CREATE TABLE events (
        document text NOT NULL REFERENCES document_epochs (document),
        seq bigint NOT NULL CHECK (seq >= 1),
        at bigint NOT NULL,
        user_id text NOT NULL,
        device text,
        outcome text NOT NULL CHECK (outcome IN ('accepted', 'rejected', 'review', 'compensation', 'admin')),
        applied boolean NOT NULL,
        rule_ids text[] NOT NULL,
        paths text[] NOT NULL,
        "update" bytea NOT NULL,
        refused_bytes integer,
        refused_sha256 text,
        review_id text,
        PRIMARY KEY (document, seq)
      );
      -- Retention prunes a document's events older than a cutoff.
      CREATE INDEX events_by_time ON events (document, at);

      -- What retention pruned: the document as of the last pruned event.
      CREATE TABLE event_bases (
        document text PRIMARY KEY REFERENCES document_epochs (document),
        seq bigint NOT NULL,
        "update" bytea NOT NULL
      );

      -- Changes held for review. item: the review item as the server keeps it (JSON).
      CREATE TABLE reviews (
        tenant text NOT NULL,
        id text NOT NULL,
        document text NOT NULL REFERENCES document_epochs (document),
        status text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'stale')),
        event_seq bigint NOT NULL,
        item jsonb NOT NULL,
        PRIMARY KEY (tenant, id)
      );
      -- The pending reviews of one document (shown to its peers).
      CREATE INDEX reviews_pending_by_document ON reviews (document) WHERE status = 'pending';

      -- Concurrent overwrites of a field, by the event that found them.
      CREATE TABLE conflicts (
        document text NOT NULL REFERENCES document_epochs (document),
        event_seq bigint NOT NULL,
        position integer NOT NULL,
        conflict jsonb NOT NULL,
        PRIMARY KEY (document, event_seq, position)
      );

      -- The user that first wrote under each Yjs client id of a document (null: the server).
      CREATE TABLE client_owners (
        document text NOT NULL REFERENCES document_epochs (document),
        client bigint NOT NULL,
        user_id text,
        PRIMARY KEY (document, client)
      );
    `,
  },
  {
    version: 2,
    name: 'lasting notifications',
    sql: `
      -- A user's lasting notifications (notifications/notification.ts), newest last by id (ids
      -- sort by time). A decided review's notification is written in the decision's transaction.
      CREATE TABLE notifications (
        tenant text NOT NULL,
        user_id text NOT NULL,
        id text NOT NULL,
        notification jsonb NOT NULL,
        PRIMARY KEY (tenant, user_id, id)
      );
    `,
  },
  {
    version: 3,
    name: 'keyring for encryption at rest',
    sql: `
      -- Encryption at rest (server/crypto/): the keyring — a canary and each tenant's data keys,
      -- wrapped by the master key, never readable without it. One row; version: every save
      -- raises it, and a save expects the version it read (nodes sharing the database never
      -- overwrite each other's keys: the loser reloads and seals again).
      CREATE TABLE crypto_keyring (
        id smallint PRIMARY KEY CHECK (id = 1),
        version bigint NOT NULL,
        state jsonb NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'integrity events',
    sql: `
      -- An event may record a replica found damaged (outcome 'integrity', nothing applied): a
      -- client's document digest differed from the server's at the same state vector.
      ALTER TABLE events DROP CONSTRAINT events_outcome_check;
      ALTER TABLE events ADD CONSTRAINT events_outcome_check
        CHECK (outcome IN ('accepted', 'rejected', 'review', 'compensation', 'admin', 'integrity'));
    `,
  },
  {
    version: 5,
    name: 'display names in the event log',
    sql: `
      -- Who made each change as people read it (the token's display name when it was made), for
      -- a document's history; null on events from before and on the server's own.
      ALTER TABLE events ADD COLUMN user_name text;
    `,
  },
  {
    version: 6,
    name: 'document summaries',
    sql: `
      -- What the document list shows of each document (server/summaries/), kept current as the
      -- document changes, so listing never loads a document. summary: JSON (sealed at rest).
      CREATE TABLE document_summaries (
        tenant text NOT NULL,
        document text NOT NULL,
        summary jsonb NOT NULL,
        PRIMARY KEY (tenant, document)
      );
    `,
  },
  {
    version: 7,
    name: 'access audit records',
    sql: `
      -- The access audit (server/audit/): one row per access decision or admin action. id sorts by
      -- time (\`<15-digit ms>-<random>\`), so a tenant's range is one index range; at is the same
      -- time as a number, for retention across tenants. record: the whole record (user, address,
      -- document …), sealed like every other value when encryption at rest is on.
      CREATE TABLE audit_records (
        tenant text NOT NULL,
        id text NOT NULL,
        at bigint NOT NULL,
        record jsonb NOT NULL,
        PRIMARY KEY (tenant, id)
      );
      CREATE INDEX audit_records_by_time ON audit_records (at);
    `,
  },
  {
    version: 8,
    name: 'key generation and re-encryption cursors',
    sql: `
      -- Raised by a key rotation or retirement only (not by a reservation): every sealing write
      -- reads it under a share lock and reloads the keyring when it changed (sharedKeyring.ts).
      ALTER TABLE crypto_keyring ADD COLUMN key_generation bigint NOT NULL DEFAULT 0;

      -- Where a stopped re-encryption pass resumes (reencryption.ts), per scope: a tenant, or ''
      -- for a pass over every tenant. cursor: its targets, position and counts (JSON).
      CREATE TABLE reencryption_cursors (
        scope text PRIMARY KEY,
        cursor jsonb NOT NULL
      );
    `,
  },
  {
    version: 9,
    name: 'a refused one-statement write',
    sql: `
      -- A document's write is one statement (batchStatement.ts): a check inside it that fails (a
      -- stale epoch, rotated data keys, a clock taken meanwhile) calls this, which aborts the
      -- whole statement, nothing of it stored, with \`code\` as its SQLSTATE: the store maps it
      -- back to the typed error (ERR_STALE_EPOCH) or reloads and writes again. boolean: it stands
      -- where the check's CASE expects a value; it never returns one.
      CREATE FUNCTION posalpro_refuse(code text, message text) RETURNS boolean
      LANGUAGE plpgsql VOLATILE AS $$
      BEGIN
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message;
      END
      $$;
    `,
  },
]
