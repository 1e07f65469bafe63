/**
 * A minimal host for the reference core in tests: nodes with a memory disk that follows the Ready
 * contract (persist, send, apply, advance), and a network the test controls message by message —
 * enough to script the paper's scenarios exactly. The seeded simulator (conformance/sim) is the
 * full host; this one stays small so that a failing core test points at the core.
 */
import { createPrng } from '../../conformance/prng.ts';
import type { TraceEvent } from '../../spec/schemas/trace-events.ts';
import { RaftNode } from '../../impl/core/raft-node.ts';
import { DEFAULT_CONFIG, type Config, type DurableState, type Entry, type Envelope, type HardState, type ReadState, type Snapshot } from '../../impl/core/types.ts';

export interface Disk {
  hardState: HardState;
  snapshot: Snapshot | null;
  entries: Entry[];
}

export interface HostedNode {
  node: RaftNode;
  readonly disk: Disk;
  up: boolean;
  /** Entries applied to the state machine, in order, across restarts (a restart restores from the snapshot). */
  applied: Entry[];
  readStates: ReadState[];
}

export interface CoreClusterOptions {
  readonly ids: readonly string[];
  readonly seed?: number;
  readonly config?: Partial<Omit<Config, 'id' | 'voters'>>;
  readonly sink?: (event: TraceEvent) => void;
  /** Take a snapshot when this many applied entries are not yet in one (§7); off by default. */
  readonly snapshotThresholdEntries?: number;
}

/** The harness's state machine is the list of applied entries; a snapshot serializes it. */
const serialize = (applied: readonly Entry[]): string => JSON.stringify(applied);
const restore = (data: string): Entry[] => JSON.parse(data) as Entry[];

export class CoreCluster {
  readonly hosts = new Map<string, HostedNode>();
  /** Messages in flight, in send order. */
  network: Envelope[] = [];
  private readonly ids: readonly string[];
  private readonly config: Omit<Config, 'id' | 'voters'>;
  private readonly prng;
  private readonly sink: ((event: TraceEvent) => void) | undefined;
  private readonly snapshotThresholdEntries: number;
  /** Snapshots taken locally, per node (tests assert compaction happened). */
  readonly compactions = new Map<string, number>();

  constructor(options: CoreClusterOptions) {
    this.ids = options.ids;
    this.snapshotThresholdEntries = options.snapshotThresholdEntries ?? Infinity;
    this.config = { ...DEFAULT_CONFIG, ...options.config };
    this.prng = createPrng(options.seed ?? 1);
    this.sink = options.sink;
    for (const id of this.ids) {
      const disk: Disk = { hardState: { currentTerm: 0, votedFor: null, commitIndex: 0 }, snapshot: null, entries: [] };
      this.hosts.set(id, { node: this.boot(id, disk), disk, up: true, applied: [], readStates: [] });
    }
  }

  host(id: string): HostedNode {
    const h = this.hosts.get(id);
    if (h === undefined) throw new Error(`no node ${id}`);
    return h;
  }

  node(id: string): RaftNode {
    return this.host(id).node;
  }

  private boot(id: string, disk: Disk): RaftNode {
    const durable: DurableState = { hardState: disk.hardState, snapshot: disk.snapshot, entries: [...disk.entries] };
    return new RaftNode({ ...this.config, id, voters: this.ids }, { rng: this.prng, sink: this.sink, durable });
  }

  /** Run every pending Ready of `id` through the contract: persist, send, apply, advance. */
  process(id: string): void {
    const h = this.host(id);
    if (!h.up) return;
    while (h.node.hasReady()) {
      const rd = h.node.ready();
      if (rd.hardState !== undefined) h.disk.hardState = rd.hardState;
      if (rd.snapshot !== undefined) {
        const s = rd.snapshot;
        // IS-6 / IS-7 on disk: keep the stored suffix only if it holds the snapshot's last entry.
        const keep = h.disk.entries.some((e) => e.index === s.lastIncludedIndex && e.term === s.lastIncludedTerm);
        h.disk.entries = keep ? h.disk.entries.filter((e) => e.index > s.lastIncludedIndex) : [];
        h.disk.snapshot = s;
        h.applied = restore(s.data);
      }
      const first = rd.entries[0];
      if (first !== undefined) {
        h.disk.entries = h.disk.entries.filter((e) => e.index < first.index).concat(rd.entries);
      }
      this.network.push(...rd.messages);
      h.readStates.push(...rd.readStates);
      for (const e of rd.committedEntries) {
        const last = h.applied[h.applied.length - 1];
        if (last !== undefined && e.index !== last.index + 1 && e.index > (h.disk.snapshot?.lastIncludedIndex ?? 0) + 1) {
          throw new Error(`${id} applies ${e.index} after ${last.index}`);
        }
        h.applied.push(e);
      }
      h.node.advance(rd.number);
      this.maybeCompact(id, h);
    }
  }

  /** §7: snapshot the state machine when enough applied entries are outside the last snapshot. */
  private maybeCompact(id: string, h: HostedNode): void {
    const status = h.node.status();
    if (status.lastApplied - status.snapshotIndex < this.snapshotThresholdEntries) return;
    const index = status.lastApplied;
    const upTo = h.applied.filter((e) => e.index <= index);
    const term = upTo[upTo.length - 1]?.term ?? status.snapshotTerm;
    const snapshot: Snapshot = { lastIncludedIndex: index, lastIncludedTerm: term, voters: [...this.ids], data: serialize(upTo) };
    // Persist the snapshot first, then drop the entries it covers, then tell the core.
    h.disk.snapshot = snapshot;
    h.disk.entries = h.disk.entries.filter((e) => e.index > index);
    h.node.compact(index, snapshot.data);
    this.compactions.set(id, (this.compactions.get(id) ?? 0) + 1);
  }

  processAll(): void {
    for (const id of this.ids) this.process(id);
  }

  /** Deliver in-flight messages (those `filter` accepts; the rest stay in flight) until none is left or `limit` is reached. */
  deliver(filter: (m: Envelope) => boolean = () => true, limit = 100_000): number {
    this.processAll();
    let delivered = 0;
    for (;;) {
      const k = this.network.findIndex(filter);
      if (k < 0 || delivered >= limit) return delivered;
      const [m] = this.network.splice(k, 1);
      if (m === undefined) return delivered;
      const to = this.host(m.to);
      if (to.up) {
        to.node.step(m);
        this.process(m.to);
      }
      delivered++;
    }
  }

  /** Drop in-flight messages that `filter` accepts (all by default). */
  drop(filter: (m: Envelope) => boolean = () => true): void {
    this.network = this.network.filter((m) => !filter(m));
  }

  tick(id: string, ticks = 1): void {
    const h = this.host(id);
    for (let i = 0; i < ticks && h.up; i++) {
      h.node.tick();
      this.process(id);
    }
  }

  /** Tick `id` until it starts an election (its election timeout elapses). */
  campaign(id: string): void {
    const start = this.node(id).status().currentTerm;
    for (let i = 0; i < 1000 && this.node(id).status().currentTerm === start; i++) this.tick(id);
  }

  /**
   * `id` campaigns and everything (through `filter`) is delivered, until it leads — a node behind
   * the cluster's term loses its first campaign and only adopts the term (ALL-2) — at most 5 times.
   */
  elect(id: string, filter?: (m: Envelope) => boolean): void {
    for (let attempt = 0; attempt < 5 && this.node(id).status().role !== 'leader'; attempt++) {
      this.campaign(id);
      this.deliver(filter);
    }
  }

  crash(id: string): void {
    const h = this.host(id);
    h.up = false;
    this.network = this.network.filter((m) => m.to !== id && m.from !== id);
  }

  restart(id: string): void {
    const h = this.host(id);
    h.node = this.boot(id, h.disk);
    h.up = true;
    // The state machine restarts from the snapshot; the core re-hands the committed entries after it.
    h.applied = h.disk.snapshot === null ? [] : restore(h.disk.snapshot.data);
    this.process(id);
  }

  leaders(): string[] {
    return this.ids.filter((id) => this.host(id).up && this.node(id).status().role === 'leader');
  }

  /** Heartbeat from `leader` and deliver everything, `rounds` times. */
  heartbeat(leader: string, rounds = 1, filter?: (m: Envelope) => boolean): void {
    for (let r = 0; r < rounds; r++) {
      this.tick(leader, this.config.heartbeatIntervalTicks);
      this.deliver(filter);
    }
  }

  appliedData(id: string): string[] {
    return this.host(id).applied.filter((e) => e.kind === 'command').map((e) => e.data);
  }
}

/** Messages between nodes of the same side of a partition only. */
export function within(groups: readonly (readonly string[])[]): (m: Envelope) => boolean {
  return (m) => groups.some((g) => g.includes(m.from) && g.includes(m.to));
}
