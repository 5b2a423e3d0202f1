import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/**
 * Prometheus metrics (prom-client), served at `/metrics`. One registry per server, so several
 * servers in one process (tests) do not share counters. Node's default metrics include the
 * event-loop lag.
 */
export class CollabMetrics {
  readonly registry = new Registry()
  readonly connections = new Gauge({ name: 'collab_connections', help: 'Open WebSocket connections', registers: [this.registry] })
  readonly rooms = new Gauge({ name: 'collab_rooms_loaded', help: 'Documents loaded in memory', registers: [this.registry] })
  readonly updates = new Counter({
    name: 'collab_updates_total',
    help: 'Updates handled, by outcome (accepted, rejected, review, read-only)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })
  readonly violations = new Counter({
    name: 'collab_rule_violations_total',
    help: 'Changes rejected or held for review, by rule',
    labelNames: ['rule', 'outcome'] as const,
    registers: [this.registry],
  })
  readonly conflicts = new Counter({ name: 'collab_conflicts_total', help: 'Concurrent overwrites recorded', registers: [this.registry] })
  readonly syncLatency = new Histogram({
    name: 'collab_update_durable_seconds',
    help: 'From receiving an update to it being durable (and broadcast)',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  })
  readonly writeSeconds = new Histogram({
    name: 'collab_store_write_seconds',
    help: 'Durable write latency of one group commit (the write-ahead log append)',
    buckets: [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [this.registry],
  })
  readonly storeBacklogWrites = new Gauge({
    name: 'collab_store_backlog_writes',
    help: 'Writes durable in the write-ahead log and not yet in LevelDB, all documents (bounded by maxStoreBacklogWrites)',
    registers: [this.registry],
  })
  readonly storeBacklogBytes = new Gauge({
    name: 'collab_store_backlog_bytes',
    help: 'Bytes of those writes, held in memory until LevelDB has them (bounded by maxStoreBacklogBytes)',
    registers: [this.registry],
  })
  readonly readPauses = new Counter({
    name: 'collab_read_pauses_total',
    help: "Times a room stopped reading from its sockets because the store's backlog was full",
    registers: [this.registry],
  })

  readonly digestChecks = new Counter({
    name: 'collab_digest_checks_total',
    help: "Clients' document digest checks after a sync, by result (match, mismatch, unsettled: changes in flight or asked too soon)",
    labelNames: ['result'] as const,
    registers: [this.registry],
  })
  readonly integrityProblems = new Counter({
    name: 'collab_integrity_problems_total',
    help: "Integrity problems found, by source: digest (a client's copy differed from the server's at the same state vector), verifier (the background verifier), admin-verify (docs verify found a damaged update, an event log that does not rebuild the state, or an invalid field)",
    labelNames: ['source'] as const,
    registers: [this.registry],
  })

  readonly verifiedDocuments = new Counter({
    name: 'collab_verified_documents_total',
    help: 'Stored documents the background verifier checked, by result (sound, problem)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  })
  readonly documentsWithProblems = new Gauge({
    name: 'collab_documents_with_problems',
    help: 'Stored documents whose last background verification found a problem',
    registers: [this.registry],
  })
  readonly persistenceErrors = new Counter({
    name: 'collab_persistence_errors_total',
    help: 'Store writes that failed (the room closed its peers with 4500; nothing of the write was acknowledged)',
    registers: [this.registry],
  })

  constructor() {
    collectDefaultMetrics({ register: this.registry })
  }
}
