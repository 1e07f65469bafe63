/**
 * A node's Prometheus metrics, on a registry of its own: the process-wide default registry would
 * mix the metrics of every node (and every test) living in one process, and a second node would
 * fail to register the same names.
 *
 * Two kinds of source feed it:
 *  - the client API (client-api.ts) records every request it answers (`observeRequest`) and, when
 *    scraped, samples the node's status (`observeStatus`);
 *  - the node process calls the `observe*` methods from the places only it sees: the fsync of a
 *    batch (`observeFsync`), an election it starts (`observeElection`), entries applied
 *    (`observeCommit`).
 *
 * Names follow Prometheus' conventions (units last, `_total` on counters), which match the house
 * style's "units last".
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets } from 'prom-client';
import type { NodeStatus } from '../core/raft-node.ts';

/**
 * How a client request ended, as counted by `figure2_client_requests_total{outcome}`. Error
 * outcomes are the `error` field of the JSON body the client received (client-api.ts).
 */
export const REQUEST_OUTCOMES = [
  'ok',
  'duplicate',
  'not-found',
  'cas-mismatch',
  'stale-seq',
  'not-leader',
  'no-leader',
  'unavailable',
  'outcome-unknown',
  'invalid-json',
  'invalid-request',
  'too-large',
  'internal',
] as const;
export type RequestOutcome = (typeof REQUEST_OUTCOMES)[number];

export interface ServerMetricsOptions {
  /** Labels put on every metric, e.g. `{ node: 'n1' }`, so one Prometheus can scrape a whole cluster. */
  readonly defaultLabels?: Readonly<Record<string, string>> | undefined;
  /**
   * Also export prom-client's process metrics (CPU, memory, event-loop lag, GC). Off by default:
   * they start timers and a GC observer that live as long as the process, which a node process
   * wants once and a test suite creating many APIs does not.
   */
  readonly processMetrics?: boolean | undefined;
}

/** One fsync'd batch, as the storage reports it to the node process. */
export interface FsyncObservation {
  readonly durationSeconds: number;
  readonly bytes: number;
  /** Log entries in the batch (its size for group commit). */
  readonly entries: number;
}

/** One answered client request. */
export interface RequestObservation {
  readonly method: string;
  /** The route pattern (`/kv/:key`), never the raw URL: one series per route, not per key. */
  readonly route: string;
  readonly statusCode: number;
  readonly outcome: RequestOutcome;
  readonly durationSeconds: number;
}

/** Request latencies span a local stale read (~100 µs) to a commit behind a slow fsync (seconds). */
const LATENCY_BUCKETS_SECONDS = exponentialBuckets(0.0001, 4, 10);
const FSYNC_BUCKETS_SECONDS = exponentialBuckets(0.0001, 4, 9);
const BATCH_BUCKETS_ENTRIES = exponentialBuckets(1, 4, 8);
const BATCH_BUCKETS_BYTES = exponentialBuckets(64, 4, 10);

export class ServerMetrics {
  /** The registry `/metrics` renders; a node process may register its own metrics on it too. */
  readonly registry = new Registry();

  private readonly currentTerm: Gauge;
  private readonly isLeader: Gauge;
  private readonly leaderChanges: Counter;
  private readonly elections: Counter;
  private readonly commitIndex: Gauge;
  private readonly lastApplied: Gauge;
  private readonly appliedEntries: Counter;
  private readonly lastIndex: Gauge;
  private readonly snapshotIndex: Gauge;
  private readonly fsyncDuration: Histogram;
  private readonly fsyncBytes: Counter;
  private readonly batchEntries: Histogram;
  private readonly batchBytes: Histogram;
  private readonly requestDuration: Histogram<'method' | 'route' | 'status'>;
  private readonly requests: Counter<'outcome'>;

  /** What the last `observeStatus`/`observeCommit` saw, to turn samples into change counts. */
  private seenLeader: string | null | undefined = undefined;
  private seenApplied: number | undefined = undefined;

  constructor(options: ServerMetricsOptions = {}) {
    if (options.defaultLabels !== undefined) this.registry.setDefaultLabels({ ...options.defaultLabels });
    if (options.processMetrics === true) collectDefaultMetrics({ register: this.registry, prefix: 'figure2_' });
    const registers = [this.registry];
    const gauge = (name: string, help: string): Gauge => new Gauge({ name, help, registers });
    const counter = (name: string, help: string): Counter => new Counter({ name, help, registers });

    this.currentTerm = gauge('figure2_raft_current_term', "The node's currentTerm.");
    this.isLeader = gauge('figure2_raft_is_leader', '1 while this node is the leader, else 0.');
    this.leaderChanges = counter('figure2_raft_leader_changes_total', 'Changes of the leader this node knows (including to "none"), as sampled.');
    this.elections = counter('figure2_raft_elections_total', 'Elections this node started (it became candidate).');
    this.commitIndex = gauge('figure2_raft_commit_index', "The node's commitIndex.");
    this.lastApplied = gauge('figure2_raft_last_applied', "The node's lastApplied.");
    this.appliedEntries = counter('figure2_raft_applied_entries_total', 'Log entries applied to the state machine (commits seen by this node).');
    this.lastIndex = gauge('figure2_raft_last_index', 'Index of the last entry in the log.');
    this.snapshotIndex = gauge('figure2_raft_snapshot_index', 'Last index covered by the snapshot.');
    this.fsyncDuration = new Histogram({ name: 'figure2_storage_fsync_duration_seconds', help: 'Time to make one batch durable.', buckets: FSYNC_BUCKETS_SECONDS, registers });
    this.fsyncBytes = counter('figure2_storage_fsync_bytes_total', 'Bytes made durable by fsyncs.');
    this.batchEntries = new Histogram({ name: 'figure2_storage_batch_entries', help: 'Log entries per fsync (group commit batch size).', buckets: BATCH_BUCKETS_ENTRIES, registers });
    this.batchBytes = new Histogram({ name: 'figure2_storage_batch_bytes', help: 'Bytes per fsync.', buckets: BATCH_BUCKETS_BYTES, registers });
    this.requestDuration = new Histogram({
      name: 'figure2_http_request_duration_seconds',
      help: 'Client API request latency, by route and status code.',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    this.requests = new Counter({ name: 'figure2_client_requests_total', help: 'Client API requests, by outcome.', labelNames: ['outcome'] as const, registers });
    // Every outcome appears from the start, at 0, so that rate() and alerts see the series before the first event.
    for (const outcome of REQUEST_OUTCOMES) this.requests.inc({ outcome }, 0);
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type of `render()`'s output. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Samples the node's status. The leader-change counter counts the changes seen between samples,
   * so it is exact when the host calls this after every Ready and a lower bound when only scrapes do.
   */
  observeStatus(status: NodeStatus): void {
    this.currentTerm.set(status.currentTerm);
    this.isLeader.set(status.role === 'leader' ? 1 : 0);
    if (this.seenLeader !== undefined && this.seenLeader !== status.leader) this.leaderChanges.inc();
    this.seenLeader = status.leader;
    this.commitIndex.set(status.commitIndex);
    this.lastIndex.set(status.lastIndex);
    this.snapshotIndex.set(status.snapshotIndex);
    this.observeCommit(status.lastApplied);
  }

  /** This node started an election for `term` (it became candidate). */
  observeElection(term: number): void {
    this.elections.inc();
    this.currentTerm.set(term);
  }

  /** The state machine has applied everything up to `lastApplied`; counts the entries since the last call. */
  observeCommit(lastApplied: number): void {
    // The first sample is a baseline, not progress: a restarted node resumes from its snapshot,
    // whose entries its previous process already counted. lastApplied never moves backwards.
    const seen = this.seenApplied ?? lastApplied;
    if (lastApplied > seen) this.appliedEntries.inc(lastApplied - seen);
    this.seenApplied = Math.max(seen, lastApplied);
    this.lastApplied.set(lastApplied);
  }

  /** One batch was made durable (the storage's `save` or `compact` resolved). */
  observeFsync(observation: FsyncObservation): void {
    this.fsyncDuration.observe(observation.durationSeconds);
    this.fsyncBytes.inc(observation.bytes);
    this.batchEntries.observe(observation.entries);
    this.batchBytes.observe(observation.bytes);
  }

  /** One client request was answered (called by the client API). */
  observeRequest(observation: RequestObservation): void {
    const labels = { method: observation.method, route: observation.route, status: String(observation.statusCode) };
    this.requestDuration.observe(labels, observation.durationSeconds);
    this.requests.inc({ outcome: observation.outcome });
  }
}
