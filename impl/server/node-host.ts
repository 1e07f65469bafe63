/**
 * A Raft node in a real process: the reference core, the KV state machine, and a `Storage` (the
 * file WAL, or its in-memory twin), driven by the Ready contract (impl/core/types.ts) with real,
 * asynchronous durability:
 *
 *   1. `await storage.save(…)` — resolves only once the batch is synced (group commit);
 *   2. `advance`, which emits the Ready's trace events (persist, send, apply), then `beforeSend`
 *      (a trace writer flushes there);
 *   3. send the Ready's messages — only now, each may depend on what step 1 made durable (P-1);
 *   4. install the snapshot, apply the committed entries, answer the clients waiting on them; then
 *      take a local snapshot when the log has grown past the threshold.
 *
 * Steps 2–4 run without an await between them, so the core cannot tell that `advance` came before
 * the sending and applying it acknowledges; a trace, though, is then on disk before any peer can
 * receive a message it records as sent — even when the process is killed at any instant.
 *
 * Inputs (`tick`, `step`, `propose`, `read`) reach the core at once, also while a Ready is being
 * persisted — the core allows that between `ready()` and `advance()` — and one loop at a time
 * drains the Readies they cause. The host is fail-stop: a storage error (disk full, I/O error)
 * stops it, rejects every waiting client, and is reported through `onFatal`; it never goes on with
 * a state it could not persist.
 *
 * Transport, timers and the client API are the caller's (impl/server's process, or a test).
 */
import { RaftNode, type NodeStatus } from '../core/raft-node.ts';
import type { Config, Entry, Envelope, RandomSource, Snapshot, TraceSink } from '../core/types.ts';
import type { ClientOperation } from '../../spec/schemas/client.ts';
import { encodeCommand } from '../kv/command.ts';
import { KvStore, type KvOutcome } from '../kv/store.ts';
import type { Storage } from '../storage/storage.ts';

export interface NodeHostOptions {
  readonly config: Config;
  readonly storage: Storage;
  readonly rng: RandomSource;
  /** Hands a message to the transport (fire and forget: Raft tolerates loss). */
  readonly send: (envelope: Envelope) => void;
  readonly sink?: TraceSink | undefined;
  /** Durable log entries the core keeps in memory; older ones are read back from storage. */
  readonly memoryEntriesMax?: number | undefined;
  /** Take a local snapshot when lastApplied − snapshotIndex reaches this (default 10,000). */
  readonly snapshotThresholdEntries?: number | undefined;
  /** Called after each Ready's trace events are emitted and before its messages leave. */
  readonly beforeSend?: (() => void) | undefined;
  /** Called once if the host stops on a storage error. */
  readonly onFatal?: ((error: unknown) => void) | undefined;
}

/** Why a client request was not carried out here: another node leads (maybe), or the host stopped. */
export class NotLeaderError extends Error {
  override readonly name = 'NotLeaderError';
  constructor(readonly leaderHint: string | null) {
    super(leaderHint === null ? 'not the leader, and no leader is known' : `not the leader; try ${leaderHint}`);
  }
}

/** The outcome of a write is unknown: leadership was lost before the entry was applied here, or the host stopped. */
export class OutcomeUnknownError extends Error {
  override readonly name = 'OutcomeUnknownError';
}

export const DEFAULT_SNAPSHOT_THRESHOLD_ENTRIES = 10_000;

interface PendingWrite {
  readonly term: number;
  readonly resolve: (outcome: KvOutcome) => void;
  readonly reject: (error: Error) => void;
}

interface PendingRead {
  readonly key: string;
  /** Set once the ReadState arrives: the read is answered when the state machine reaches it. */
  index: number | undefined;
  readonly resolve: (value: string | null) => void;
  readonly reject: (error: Error) => void;
}

export class NodeHost {
  readonly id: string;
  private readonly node: RaftNode;
  private readonly storage: Storage;
  private readonly options: NodeHostOptions;
  private kv: KvStore;
  private snapshotIndex: number;
  /** Term of the entry at kv.lastAppliedIndex (for local snapshots). */
  private appliedTerm: number;
  private readonly writes = new Map<number, PendingWrite>();
  private readonly reads = new Map<string, PendingRead>();
  private readCounter = 0;
  private draining: Promise<void> | null = null;
  private fatal: unknown = undefined;
  private closed = false;

  constructor(options: NodeHostOptions) {
    this.options = options;
    this.id = options.config.id;
    this.storage = options.storage;
    const snapshot = options.storage.snapshot();
    this.kv = snapshot === null ? new KvStore() : KvStore.restore(snapshot.data);
    this.snapshotIndex = snapshot?.lastIncludedIndex ?? 0;
    this.appliedTerm = snapshot?.lastIncludedTerm ?? 0;
    this.node = new RaftNode(options.config, {
      rng: options.rng,
      sink: options.sink,
      durable: { hardState: options.storage.hardState(), snapshot, entries: [] },
      storage: options.storage,
      memoryEntriesMax: options.memoryEntriesMax,
    });
  }

  status(): NodeStatus {
    return this.node.status();
  }

  /** The value of `key` in this node's state machine, without any consistency guarantee (tests, diagnostics). */
  localGet(key: string): string | null {
    return this.kv.get(key);
  }

  get stopped(): boolean {
    return this.closed || this.fatal !== undefined;
  }

  tick(): void {
    if (this.stopped) return;
    this.node.tick();
    this.kick();
  }

  step(envelope: Envelope): void {
    if (this.stopped) return;
    this.node.step(envelope);
    this.kick();
  }

  /**
   * A client write (put, delete, cas — or a get logged like a write), with the client's session
   * (`clientId`, `seq`: a retry reuses `seq`, CL-ONCE). Resolves with its outcome once applied here.
   */
  propose(command: { readonly clientId: string; readonly seq: number; readonly op: ClientOperation }): Promise<KvOutcome> {
    if (this.stopped) return Promise.reject(new OutcomeUnknownError(`${this.id} has stopped`));
    const result = this.node.propose(encodeCommand(command));
    if (!result.ok) return Promise.reject(new NotLeaderError(result.leaderHint));
    const promise = new Promise<KvOutcome>((resolve, reject) => this.writes.set(result.index, { term: result.term, resolve, reject }));
    this.kick();
    return promise;
  }

  /** A linearizable read through ReadIndex (§8): answered once this leader has confirmed it still leads. */
  read(key: string): Promise<string | null> {
    if (this.stopped) return Promise.reject(new OutcomeUnknownError(`${this.id} has stopped`));
    const ctx = `${this.id}:r${++this.readCounter}`;
    const result = this.node.readIndex(ctx);
    if (!result.ok) return Promise.reject(new NotLeaderError(result.leaderHint));
    const promise = new Promise<string | null>((resolve, reject) => this.reads.set(ctx, { key, index: undefined, resolve, reject }));
    this.kick();
    return promise;
  }

  /** Resolves once no Ready is being handled (tests: the host is quiet until its next input). */
  async idle(): Promise<void> {
    while (this.draining !== null) await this.draining;
  }

  /** Stops taking input, finishes the Ready in hand, and closes the storage. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.idle();
    this.failWaiting(new OutcomeUnknownError(`${this.id} is closing`));
    await this.storage.close();
  }

  private kick(): void {
    if (this.draining !== null || this.stopped || !this.node.hasReady()) return;
    this.draining = this.drain()
      .catch((error: unknown) => this.stop(error))
      .finally(() => {
        this.draining = null;
        // Input that arrived during the last await may have made a new Ready.
        this.kick();
      });
  }

  /** The Ready loop (see the file comment). */
  private async drain(): Promise<void> {
    const node = this.node;
    while (node.hasReady() && this.fatal === undefined) {
      const ready = node.ready();
      // 1. Persist; synced before anything leaves this node (P-1).
      if (ready.hardState !== undefined || ready.entries.length > 0 || ready.snapshot !== undefined) {
        await this.storage.save({ hardState: ready.hardState, entries: ready.entries, snapshot: ready.snapshot });
      }
      // 2. Acknowledge (the trace events), and let the trace reach the disk.
      node.advance(ready.number);
      this.options.beforeSend?.();
      // 3. Send.
      for (const m of ready.messages) this.options.send(m);
      // 4. Install, apply, answer.
      if (ready.snapshot !== undefined) this.installSnapshot(ready.snapshot);
      for (const entry of ready.committedEntries) this.apply(entry);
      for (const rs of ready.readStates) {
        const read = this.reads.get(rs.ctx);
        if (read !== undefined) read.index = rs.index;
      }
      this.answerReads();
      if (ready.role !== 'leader') this.failOnLostLeadership();
      await this.maybeSnapshot();
    }
  }

  private apply(entry: Entry): void {
    let outcome: KvOutcome | undefined;
    if (entry.kind === 'command' && entry.data !== '') outcome = this.kv.apply(entry.index, entry.data);
    else this.kv.skip(entry.index); // the leader's no-op (§8) or a configuration entry
    this.appliedTerm = entry.term;
    const write = this.writes.get(entry.index);
    if (write === undefined) return;
    this.writes.delete(entry.index);
    // Another leader's entry took the index: this client's write was never committed (L-5's flip side).
    if (write.term !== entry.term || outcome === undefined) write.reject(new OutcomeUnknownError(`entry ${entry.index} of term ${write.term} was replaced by term ${entry.term}`));
    else write.resolve(outcome);
  }

  private installSnapshot(snapshot: Snapshot): void {
    this.kv = KvStore.restore(snapshot.data);
    this.snapshotIndex = snapshot.lastIncludedIndex;
    this.appliedTerm = snapshot.lastIncludedTerm;
    // Writes inside the snapshot were applied elsewhere; this node cannot tell their outcome.
    for (const [index, write] of this.writes) {
      if (index > snapshot.lastIncludedIndex) continue;
      this.writes.delete(index);
      write.reject(new OutcomeUnknownError(`entry ${index} was covered by a snapshot from the leader`));
    }
  }

  private answerReads(): void {
    for (const [ctx, read] of this.reads) {
      if (read.index === undefined || read.index > this.kv.lastAppliedIndex) continue;
      this.reads.delete(ctx);
      read.resolve(this.kv.get(read.key));
    }
  }

  /** A deposed leader's pending reads are never released (the core drops them); their clients must retry elsewhere. */
  private failOnLostLeadership(): void {
    for (const [ctx, read] of this.reads) {
      this.reads.delete(ctx);
      read.reject(new NotLeaderError(this.node.status().leader));
    }
  }

  /** Local compaction (§7, SN-1): the core lets go of its prefix first, then storage makes the snapshot durable and frees the WAL. */
  private async maybeSnapshot(): Promise<void> {
    const threshold = this.options.snapshotThresholdEntries ?? DEFAULT_SNAPSHOT_THRESHOLD_ENTRIES;
    const index = this.kv.lastAppliedIndex;
    if (index - this.snapshotIndex < threshold || index !== this.node.status().lastApplied) return;
    const data = this.kv.snapshot();
    const snapshot: Snapshot = { lastIncludedIndex: index, lastIncludedTerm: this.appliedTerm, voters: [...this.options.config.voters], data };
    this.node.compact(index, data);
    this.snapshotIndex = index;
    await this.storage.compact(snapshot);
  }

  private stop(error: unknown): void {
    if (this.fatal !== undefined) return;
    this.fatal = error;
    this.failWaiting(new OutcomeUnknownError(`${this.id} stopped: ${error instanceof Error ? error.message : String(error)}`));
    this.options.onFatal?.(error);
  }

  private failWaiting(error: Error): void {
    for (const w of this.writes.values()) w.reject(error);
    this.writes.clear();
    for (const r of this.reads.values()) r.reject(error);
    this.reads.clear();
  }
}
