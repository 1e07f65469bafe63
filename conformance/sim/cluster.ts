/**
 * The simulated cluster: N node hosts — each a RaftNode, a KvStore and a SimDisk — on a SimNetwork,
 * driven by a virtual clock in ticks, with faults and a client workload, all from one seed.
 *
 * Every tick, in this order:
 *   1. faults: scheduled restarts and heals, then maybe a new partition or crash (from the seed);
 *   2. delivery: every message due by now is stepped into its node (or lost, see network.ts);
 *   3. each up node ticks (election and heartbeat timers);
 *   4. clients act (invoke, retry, time out, answer reads);
 *   5. each up node's Readys are handled, exactly per the contract in impl/core/types.ts:
 *      persist (sync when mustSync) → send → install snapshot, apply → advance; then the events
 *      that must follow the core's own (drops of refused sends, client answers), then a local
 *      snapshot if the log has grown past the threshold.
 *
 * The cluster asserts cheap invariants as it goes and throws a SimViolation (with the rule ID)
 * when one breaks: at most one leader per term (S-ES), every host applies the same entry at the
 * same index (S-SMS), and the state machines' digests agree at sampled indices. The full safety
 * check is the trace checker's job.
 */
import type { RuleId } from '../../spec/rules.ts';
import type { NodeId, Role } from '../../spec/schemas/primitives.ts';
import type { TraceEvent } from '../../spec/schemas/trace-events.ts';
import { RaftNode, type RaftNodeOptions } from '../../impl/core/raft-node.ts';
import { memoizeDigest, type TraceDigest } from '../../impl/core/trace.ts';
import { DEFAULT_CONFIG, type Config, type Entry, type Envelope, type Snapshot, type TraceSink } from '../../impl/core/types.ts';
import { fnv1a64 } from '../../impl/kv/digest.ts';
import { KvStore } from '../../impl/kv/store.ts';
import { MemoryStorage } from '../../impl/storage/memory-storage.ts';
import type { Prng } from '../prng.ts';
import { assert } from './assert.ts';
import { ClientWorkload, DEFAULT_CLIENT_OPTIONS, type ClientHostView, type ClientOptions } from './clients.ts';
import { SimDisk } from './disk.ts';
import { NO_FAULTS, type FaultOptions } from './faults.ts';
import { DEFAULT_NETWORK_OPTIONS, SimNetwork, type NetworkOptions } from './network.ts';
import { STREAM, streamPrng } from './seeds.ts';

/** Where trace events go: a sink, and a clock the cluster sets so the writer can stamp `ts`. */
export interface TraceTarget {
  readonly sink: TraceSink;
  ts: number | undefined;
}

/** Raft timing and batching knobs (Config without the identity). */
export type RaftOptions = Omit<Config, 'id' | 'voters'>;
/** Network knobs that are not faults (delays, reorder window, bound). */
export type NetworkShape = Pick<NetworkOptions, 'delayTicksMin' | 'delayTicksMax' | 'reorderDelayTicksMax' | 'maxInFlightMessages'>;

export interface ClusterOptions {
  readonly seed: number;
  /** Number of nodes, 1 to 9; ids are n1 … nN. */
  readonly nodes: number;
  readonly raft?: Partial<RaftOptions> | undefined;
  readonly network?: Partial<NetworkShape> | undefined;
  /** Concrete fault rates (see faults.ts for drawing them from the seed). Default: none. */
  readonly faults?: FaultOptions | undefined;
  readonly clients?: Partial<ClientOptions> | undefined;
  /** Take a local snapshot when lastApplied − snapshotIndex reaches this (default 10,000). */
  readonly snapshotThresholdEntries?: number | undefined;
  /**
   * Compare state machine digests across hosts at every index divisible by this (default 1024),
   * besides every snapshot install and boot. Sampled because a digest hashes the whole state
   * machine; the per-entry S-SMS check (same term and data at each index) runs on every apply.
   */
  readonly digestEveryEntries?: number | undefined;
  readonly trace?: TraceTarget | undefined;
  /** Extra header fields (`meta`), e.g. the command line that replays the run. */
  readonly traceMeta?: Readonly<Record<string, unknown>> | undefined;
  /**
   * How trace events name a command (`digest`): FNV-1a 64 of it by default, which keeps traces a
   * fraction of the size; pass `IDENTITY_DIGEST` to see the commands themselves in the trace.
   */
  readonly traceDigest?: TraceDigest | undefined;
  /**
   * Durable log entries each core keeps in memory (default 4096); older ones it reads back from
   * its host's storage (impl/storage's MemoryStorage, the in-memory twin of the file WAL). Small
   * values exercise the read-back path: catch-up of lagging followers, long applies.
   */
  readonly memoryEntriesMax?: number | undefined;
  /** Builds each node (the reference core by default); tests hand in a deliberately broken twin. */
  readonly nodeFactory?: ((config: Config, options: RaftNodeOptions) => RaftNode) | undefined;
}

/** A broken invariant of the system under test, with the tick and the rule it breaks. */
export class SimViolation extends Error {
  override readonly name = 'SimViolation';
  constructor(
    readonly rule: RuleId | 'liveness',
    readonly tick: number,
    message: string,
  ) {
    super(`${rule} at tick ${tick}: ${message}`);
  }
}

/** Counters of what the cluster did; the network's and the clients' are kept by them. */
export interface ClusterStats {
  /** Terms in which some host was seen leading. */
  leadersByTerm: number;
  maxTerm: number;
  /** Command entries (not no-ops) applied somewhere: each was committed. */
  commandsCommitted: number;
  /** Highest index applied anywhere. */
  entriesCommitted: number;
  readies: number;
  snapshotsTaken: number;
  snapshotsInstalled: number;
  partitions: number;
  oneWayCuts: number;
  crashes: number;
  restarts: number;
}

/** Bound on Readys handled per host per tick; a core that keeps producing them is looping. */
const MAX_READIES_PER_TICK = 64;
/** Window (a power of two) of recent indices whose applied entry is remembered for S-SMS. */
const APPLIED_WINDOW = 1 << 16;
const APPLIED_MASK = APPLIED_WINDOW - 1;
/** Bound on remembered digests. */
const MAX_DIGESTS = 1024;

/** One node's host: what survives a crash (disk, PRNG stream) and what does not (node, KV). */
class Host implements ClientHostView {
  node: RaftNode | null = null;
  kv: KvStore = new KvStore();
  generation = 0;
  /** currentTerm as of the last Ready (every term change shows in a Ready's hardState). */
  term = 0;
  /** Term for which this host's leadership was last checked against S-ES. */
  checkedLeaderTerm = -1;
  /** Term of the entry at kv.lastAppliedIndex (for local snapshots). */
  appliedTerm = 0;
  snapshotIndex = 0;
  /**
   * The log the core reads back (the in-memory twin of the file WAL): everything written, synced
   * or not, as a running process's storage sees it. Rebuilt from the disk at every boot.
   */
  storage: MemoryStorage = new MemoryStorage();
  /** Tick at which a crashed host restarts; -1: not scheduled. */
  restartAtTick = -1;
  /**
   * Last tick at which Figure 2 made this node reset its election timer, as far as the host sees:
   * it granted a vote, or it stepped an AppendEntries or InstallSnapshot of its term or a later one
   * (F-2). Resets it cannot see (a restart, a campaign) are not tracked, which only loosens the bound.
   */
  timerResetTick = -1;

  constructor(
    readonly id: NodeId,
    readonly index: number,
    readonly config: Config,
    readonly rng: Prng,
    readonly disk: SimDisk,
  ) {}
}

export class SimCluster {
  readonly ids: readonly NodeId[];
  private readonly memoryEntriesMax: number | undefined;
  readonly network: SimNetwork;
  readonly workload: ClientWorkload;
  readonly stats: ClusterStats = {
    leadersByTerm: 0,
    maxTerm: 0,
    commandsCommitted: 0,
    entriesCommitted: 0,
    readies: 0,
    snapshotsTaken: 0,
    snapshotsInstalled: 0,
    partitions: 0,
    oneWayCuts: 0,
    crashes: 0,
    restarts: 0,
  };
  /** Leader of each term seen so far (S-ES), for the summary too. */
  readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly hosts: Host[] = [];
  private readonly hostById = new Map<NodeId, Host>();
  private readonly trace: TraceTarget | undefined;
  private readonly sink: TraceSink | undefined;
  private faults: FaultOptions;
  private readonly faultRng: Prng;
  private readonly diskRng: Prng;
  private readonly snapshotThresholdEntries: number;
  private readonly digestEveryEntries: number;
  private nowTick = 0;
  private faultsActive = true;
  private healAtTick = -1;
  // S-SMS memory: term, data and index of the entry first applied at each recent index (a ring).
  private readonly appliedIndexRing = new Float64Array(APPLIED_WINDOW).fill(-1);
  private readonly appliedTermRing = new Float64Array(APPLIED_WINDOW);
  private readonly appliedDataRing: string[] = new Array<string>(APPLIED_WINDOW).fill('');
  private readonly digestAt = new Map<number, string>();
  private readonly nodeFactory: (config: Config, options: RaftNodeOptions) => RaftNode;
  private readonly traceDigest: TraceDigest;

  constructor(options: ClusterOptions) {
    assert(Number.isInteger(options.nodes) && options.nodes >= 1 && options.nodes <= 9, 'nodes must be an integer from 1 to 9');
    const seed = options.seed;
    this.ids = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
    this.trace = options.trace;
    this.nodeFactory = options.nodeFactory ?? ((config, nodeOptions) => new RaftNode(config, nodeOptions));
    this.sink = options.trace?.sink;
    this.faults = options.faults ?? NO_FAULTS;
    this.faultRng = streamPrng(seed, STREAM.faults);
    this.diskRng = streamPrng(seed, STREAM.disk);
    this.traceDigest = memoizeDigest(options.traceDigest ?? fnv1a64);
    this.snapshotThresholdEntries = options.snapshotThresholdEntries ?? 10_000;
    this.digestEveryEntries = options.digestEveryEntries ?? 1024;
    assert(this.snapshotThresholdEntries >= 1, 'snapshotThresholdEntries must be ≥ 1');
    assert(this.digestEveryEntries >= 1, 'digestEveryEntries must be ≥ 1');
    this.network = new SimNetwork(
      {
        ...DEFAULT_NETWORK_OPTIONS,
        ...options.network,
        nodes: this.ids,
        lossProbability: this.faults.lossProbability,
        duplicateProbability: this.faults.duplicateProbability,
        reorderProbability: this.faults.reorderProbability,
      },
      { rng: streamPrng(seed, STREAM.network), sink: this.sink, traceDigest: this.traceDigest },
    );
    if (this.sink !== undefined) {
      this.sink({
        ev: 'header',
        format: 'raft-trace',
        version: 1,
        cluster: [...this.ids],
        source: 'figure2 simulator',
        meta: { seed: options.seed, ...options.traceMeta },
      });
    }
    this.memoryEntriesMax = options.memoryEntriesMax;
    const raft: RaftOptions = { ...DEFAULT_CONFIG, ...options.raft };
    this.ids.forEach((id, i) => {
      const config: Config = { ...raft, id, voters: this.ids };
      const host = new Host(id, i, config, streamPrng(seed, STREAM.node + i), new SimDisk());
      this.hosts.push(host);
      this.hostById.set(id, host);
    });
    if (this.trace !== undefined) this.trace.ts = 0;
    for (const host of this.hosts) this.boot(host);
    this.workload = new ClientWorkload(
      { ...DEFAULT_CLIENT_OPTIONS, ...options.clients },
      { hosts: this.hosts, rng: streamPrng(seed, STREAM.clients), sink: this.sink },
    );
  }

  /** The current tick (0 before the first). */
  get now(): number {
    return this.nowTick;
  }

  /** Advances the clock one tick (see the file comment for what happens in it). */
  tick(): void {
    const now = ++this.nowTick;
    if (this.trace !== undefined) this.trace.ts = now;
    if (this.faultsActive) this.injectFaults(now);
    const network = this.network;
    for (let envelope = network.popDue(now); envelope !== undefined; envelope = network.popDue(now)) {
      const node = (this.hostById.get(envelope.to) as Host).node;
      if (node === null) {
        network.dropAtDownNode(envelope);
        continue;
      }
      const type = envelope.msg.type;
      if ((type === 'AppendEntries' || type === 'InstallSnapshot') && envelope.msg.term >= node.status().currentTerm) {
        (this.hostById.get(envelope.to) as Host).timerResetTick = now; // F-2: it hears from a leader
      }
      node.step(envelope);
    }
    const hosts = this.hosts;
    for (let i = 0; i < hosts.length; i++) (hosts[i] as Host).node?.tick();
    this.workload.tick(now);
    for (let i = 0; i < hosts.length; i++) this.handleReadies(hosts[i] as Host);
  }

  /** Runs `ticks` ticks. */
  run(ticks: number): void {
    for (let i = 0; i < ticks; i++) this.tick();
  }

  /** What a host looks like now (tests, the summary, convergence). */
  host(id: NodeId): {
    readonly up: boolean;
    readonly role: Role | 'down';
    readonly kv: KvStore;
    readonly node: RaftNode | null;
    readonly disk: SimDisk;
  } {
    const host = this.hostOf(id);
    return { up: host.node !== null, role: host.node?.status().role ?? 'down', kv: host.kv, node: host.node, disk: host.disk };
  }

  /** Crashes a node now: its volatile state is gone, its disk loses what was not synced. */
  crash(id: NodeId, options: { readonly restartAfterTicks?: number | undefined } = {}): void {
    const host = this.hostOf(id);
    assert(host.node !== null, () => `crash: ${id} is already down`);
    host.node = null;
    host.generation++;
    this.sink?.({ ev: 'crash', node: id });
    host.disk.crash({ rng: this.diskRng, tornWriteProbability: this.faults.tornWriteProbability });
    host.restartAtTick = options.restartAfterTicks === undefined ? -1 : this.nowTick + options.restartAfterTicks;
    this.stats.crashes++;
  }

  /** Restarts a crashed node from what its disk kept (the core emits `init`). */
  restart(id: NodeId): void {
    const host = this.hostOf(id);
    assert(host.node === null, () => `restart: ${id} is up`);
    this.boot(host);
    this.stats.restarts++;
  }

  /** Splits the network into groups (see SimNetwork.partition). */
  partition(groups: readonly (readonly NodeId[])[]): void {
    this.network.partition(groups);
    this.stats.partitions++;
  }

  /** Blocks one direction of a link. */
  cutLink(options: { readonly from: NodeId; readonly to: NodeId }): void {
    this.network.cutLink(options);
    this.stats.oneWayCuts++;
  }

  /** Heals every partition and cut now. */
  healNetwork(): void {
    this.network.heal();
    this.healAtTick = -1;
  }

  /**
   * Ends the fault phase (TigerBeetle's liveness phase): no more faults, a perfect network,
   * every crashed node restarted, and clients finish what they have in progress but start no
   * more.
   */
  healAll(): void {
    this.faultsActive = false;
    this.faults = { ...this.faults, tornWriteProbability: 0 };
    this.healNetwork();
    this.network.setFaultProbabilities({ lossProbability: 0, duplicateProbability: 0, reorderProbability: 0 });
    for (const host of this.hosts) if (host.node === null) this.restart(host.id);
    this.workload.drain();
  }

  /**
   * True when the cluster has converged: all nodes up, one leader in the highest term, every log
   * and state machine at the leader's last index, which is committed; no client operation pending;
   * and every state machine's digest equal.
   */
  converged(): boolean {
    if (this.workload.pending() > 0) return false;
    let leader: ReturnType<RaftNode['status']> | undefined;
    for (const host of this.hosts) {
      if (host.node === null) return false;
      const s = host.node.status();
      if (s.role === 'leader') {
        if (leader !== undefined) return false;
        leader = s;
      }
    }
    if (leader === undefined || leader.commitIndex !== leader.lastIndex) return false;
    for (const host of this.hosts) {
      const s = (host.node as RaftNode).status();
      if (s.currentTerm !== leader.currentTerm || s.lastIndex !== leader.lastIndex || s.commitIndex !== leader.lastIndex) return false;
      if (host.kv.lastAppliedIndex !== leader.lastIndex) return false;
    }
    const digest = (this.hosts[0] as Host).kv.digest();
    for (const host of this.hosts) {
      if (host.kv.digest() !== digest) {
        throw new SimViolation('S-SMS', this.nowTick, `converged logs but state machine digests differ (${this.hosts[0]?.id} vs ${host.id})`);
      }
    }
    return true;
  }

  /**
   * The liveness phase: heal everything, then tick until converged, at most `maxTicks`. Returns the
   * ticks it took; throws a SimViolation ('liveness') if the healed cluster does not converge.
   */
  converge(options: { readonly maxTicks: number }): number {
    this.healAll();
    for (let ticks = 0; ticks <= options.maxTicks; ticks++) {
      if (this.converged()) return ticks;
      this.tick();
    }
    throw new SimViolation('liveness', this.nowTick, `the healed cluster did not converge within ${options.maxTicks} ticks (${this.describe()})`);
  }

  /** One line per host, for failure messages. */
  describe(): string {
    return this.hosts
      .map((h) => {
        if (h.node === null) return `${h.id} down`;
        const s = h.node.status();
        return `${h.id} ${s.role} t${s.currentTerm} last ${s.lastIndex} commit ${s.commitIndex} applied ${h.kv.lastAppliedIndex}`;
      })
      .join('; ');
  }

  private hostOf(id: NodeId): Host {
    const host = this.hostById.get(id);
    assert(host !== undefined, () => `no node ${id} (nodes: ${this.ids.join(', ')})`);
    return host;
  }

  /** Starts a node from its disk: a fresh disk is an empty log; the KV comes from the snapshot. */
  private boot(host: Host): void {
    const durable = host.disk.recover();
    const snapshot = durable.snapshot;
    host.kv = snapshot === null ? new KvStore() : KvStore.restore(snapshot.data);
    host.appliedTerm = snapshot?.lastIncludedTerm ?? 0;
    host.snapshotIndex = snapshot?.lastIncludedIndex ?? 0;
    host.term = durable.hardState.currentTerm;
    host.checkedLeaderTerm = -1;
    host.restartAtTick = -1;
    if (snapshot !== null) this.checkDigest(host, snapshot.lastIncludedIndex);
    host.storage = new MemoryStorage(durable);
    host.node = this.nodeFactory(host.config, {
      rng: host.rng,
      sink: this.sink,
      durable: { hardState: durable.hardState, snapshot: durable.snapshot, entries: [] },
      storage: host.storage,
      memoryEntriesMax: this.memoryEntriesMax,
      traceDigest: this.traceDigest,
    });
  }

  /** The Ready loop, per the contract in impl/core/types.ts. */
  private handleReadies(host: Host): void {
    const node = host.node;
    if (node === null) return;
    for (let round = 0; node.hasReady(); round++) {
      assert(round < MAX_READIES_PER_TICK, () => `${host.id} produced ${MAX_READIES_PER_TICK} Readys in one tick`);
      const ready = node.ready();
      this.stats.readies++;
      const termBefore = host.term;
      if (ready.hardState !== undefined) host.term = ready.hardState.currentTerm;
      for (const m of ready.messages) if (m.msg.type === 'RequestVoteResponse' && m.msg.voteGranted) host.timerResetTick = this.nowTick;
      if (ready.role === 'candidate' && host.term > termBefore) this.checkElectionTimeout(host);
      if (ready.role === 'leader' && host.checkedLeaderTerm !== host.term) this.checkLeader(host);
      // 1. Persist: hard state, snapshot and entries as one batch; sync when the Ready says so.
      host.disk.write(ready);
      if (ready.mustSync) host.disk.sync();
      void host.storage.save(ready); // the twin applies at once; its promise carries nothing more
      // 2. Send — only now, since each message may depend on what was just made durable (P-1).
      const messages = ready.messages;
      for (let i = 0; i < messages.length; i++) this.checkVoteSynced(host, messages[i] as Envelope);
      for (let i = 0; i < messages.length; i++) this.network.send(messages[i] as (typeof messages)[number], this.nowTick);
      // 3. Install the snapshot into the state machine, then apply the committed entries in order.
      if (ready.snapshot !== undefined) this.installSnapshot(host, ready.snapshot);
      const committed = ready.committedEntries;
      for (let i = 0; i < committed.length; i++) this.apply(host, committed[i] as Entry);
      for (const readState of ready.readStates) this.workload.onReadState(host.index, readState);
      // 4. Acknowledge.
      node.advance(ready.number);
      // Events that must follow the core's send/apply events: drops of refused sends, client answers.
      if (this.sink !== undefined) this.network.flushDrops();
      this.workload.flushCompletions(this.nowTick);
      if (host.kv.lastAppliedIndex - host.snapshotIndex >= this.snapshotThresholdEntries) this.takeSnapshot(host, node);
    }
  }

  /**
   * F-2: a node that became candidate this tick (its election timeout elapsed) must not have reset
   * its timer — by granting a vote or hearing from a leader — fewer than electionTimeoutTicksMin − 1
   * ticks ago (the reset's own tick is the first tick of the new timeout).
   */
  private checkElectionTimeout(host: Host): void {
    const since = this.nowTick - host.timerResetTick;
    if (host.timerResetTick >= 0 && since < host.config.electionTimeoutTicksMin - 1) {
      throw new SimViolation('F-2', this.nowTick, `${host.id} became candidate ${since} ticks after it granted a vote or heard from a leader; its election timeout is at least ${host.config.electionTimeoutTicksMin} ticks`);
    }
  }

  /**
   * P-1 at the host, which sees the disk: a vote grant, and a candidate's RequestVote, leave only
   * once that vote is synced. The trace cannot show this: its persist event says what the core
   * handed over for writing, synced or not.
   */
  private checkVoteSynced(host: Host, envelope: Envelope): void {
    const msg = envelope.msg;
    let votedFor: NodeId;
    if (msg.type === 'RequestVoteResponse' && msg.voteGranted) votedFor = envelope.to;
    else if (msg.type === 'RequestVote') votedFor = host.id;
    else return;
    const synced = host.disk.durableHardState();
    if (synced.currentTerm > msg.term || (synced.currentTerm === msg.term && synced.votedFor === votedFor)) return;
    throw new SimViolation('P-1', this.nowTick, `${host.id} sent ${msg.type} for ${votedFor} in term ${msg.term} before that vote was synced (synced: term ${synced.currentTerm}, votedFor ${JSON.stringify(synced.votedFor)})`);
  }

  /** S-ES: at most one leader per term. */
  private checkLeader(host: Host): void {
    host.checkedLeaderTerm = host.term;
    const known = this.leaderOfTerm.get(host.term);
    if (known === undefined) {
      this.leaderOfTerm.set(host.term, host.id);
      this.stats.leadersByTerm++;
      if (host.term > this.stats.maxTerm) this.stats.maxTerm = host.term;
    } else if (known !== host.id) {
      throw new SimViolation('S-ES', this.nowTick, `${host.id} and ${known} are both leaders of term ${host.term}`);
    }
  }

  private apply(host: Host, entry: Entry): void {
    const index = entry.index;
    const kv = host.kv;
    assert(index === kv.lastAppliedIndex + 1, () => `${host.id} applies ${index} after ${kv.lastAppliedIndex} (ALL-1)`);
    // S-SMS: the first host to apply an index fixes what every other host must apply there.
    const slot = index & APPLIED_MASK;
    if (this.appliedIndexRing[slot] === index) {
      if (this.appliedTermRing[slot] !== entry.term || this.appliedDataRing[slot] !== entry.data) {
        throw new SimViolation('S-SMS', this.nowTick, `${host.id} applies (index ${index}, term ${entry.term}) where another host applied term ${this.appliedTermRing[slot]}${this.appliedTermRing[slot] === entry.term ? ' with other data' : ''}`);
      }
    } else if (index > this.stats.entriesCommitted) {
      this.appliedIndexRing[slot] = index;
      this.appliedTermRing[slot] = entry.term;
      this.appliedDataRing[slot] = entry.data;
      this.stats.entriesCommitted = index;
      if (entry.kind === 'command') this.stats.commandsCommitted++;
    }
    if (entry.kind === 'command' && entry.data !== '') {
      const outcome = kv.apply(index, entry.data);
      this.workload.onApplied(host.index, entry, outcome, this.nowTick);
    } else {
      kv.skip(index);
    }
    host.appliedTerm = entry.term;
    if (index % this.digestEveryEntries === 0) this.checkDigest(host, index);
  }

  private installSnapshot(host: Host, snapshot: Snapshot): void {
    // IS-8: a snapshot never takes the state machine back.
    assert(snapshot.lastIncludedIndex > host.kv.lastAppliedIndex, () =>
      `${host.id} handed a snapshot at ${snapshot.lastIncludedIndex} but applied ${host.kv.lastAppliedIndex} already`);
    host.kv = KvStore.restore(snapshot.data);
    assert(host.kv.lastAppliedIndex === snapshot.lastIncludedIndex, () =>
      `snapshot at ${snapshot.lastIncludedIndex} holds a state machine at ${host.kv.lastAppliedIndex}`);
    host.appliedTerm = snapshot.lastIncludedTerm;
    host.snapshotIndex = snapshot.lastIncludedIndex;
    this.stats.snapshotsInstalled++;
    this.checkDigest(host, snapshot.lastIncludedIndex);
  }

  /**
   * Local compaction (§7): the snapshot is durable before the core drops its log prefix; the
   * storage the core reads releases the prefix only after the core has let go of it.
   */
  private takeSnapshot(host: Host, node: RaftNode): void {
    const index = host.kv.lastAppliedIndex;
    const data = host.kv.snapshot();
    const snapshot = { lastIncludedIndex: index, lastIncludedTerm: host.appliedTerm, voters: host.config.voters, data };
    host.disk.write({ snapshot });
    host.disk.sync();
    node.compact(index, data);
    void host.storage.compact(snapshot);
    host.snapshotIndex = index;
    this.stats.snapshotsTaken++;
  }

  /**
   * Local compaction of `id` now, at what its state machine has applied (the conformance suite's
   * snapshot command); false when there is nothing new to compact or the node is down.
   */
  snapshotNow(id: NodeId): boolean {
    const host = this.hostOf(id);
    const node = host.node;
    if (node === null) return false;
    const status = node.status();
    if (host.kv.lastAppliedIndex <= status.snapshotIndex || host.kv.lastAppliedIndex !== status.lastApplied) return false;
    this.takeSnapshot(host, node);
    return true;
  }

  /** Every state machine at `index` must have the same digest as the first one seen there. */
  private checkDigest(host: Host, index: number): void {
    const digest = host.kv.digest();
    const known = this.digestAt.get(index);
    if (known === undefined) {
      this.digestAt.set(index, digest);
      if (this.digestAt.size > MAX_DIGESTS) this.digestAt.delete(this.digestAt.keys().next().value as number);
    } else if (known !== digest) {
      throw new SimViolation('S-SMS', this.nowTick, `${host.id}'s state machine at index ${index} has digest ${digest}, another host's had ${known}`);
    }
  }

  /** Draws this tick's faults from the fault stream (see faults.ts). */
  private injectFaults(now: number): void {
    const f = this.faults;
    const rng = this.faultRng;
    for (const host of this.hosts) {
      if (host.node === null && host.restartAtTick >= 0 && now >= host.restartAtTick) this.restart(host.id);
    }
    if (this.network.partitioned) {
      if (this.healAtTick >= 0 && now >= this.healAtTick) this.healNetwork();
    } else if (f.partitionProbabilityPerTick > 0 && this.hosts.length > 1 && rng.chance(f.partitionProbabilityPerTick)) {
      this.startPartition(rng, f);
      this.healAtTick = now + rng.int(f.partitionTicksMin, f.partitionTicksMax);
    }
    if (f.crashProbabilityPerTick > 0 && rng.chance(f.crashProbabilityPerTick)) {
      const up = this.hosts.filter((h) => h.node !== null);
      if (up.length > 0 && this.hosts.length - up.length < f.maxDownNodes) {
        this.crash(rng.pick(up).id, { restartAfterTicks: rng.int(f.downTicksMin, f.downTicksMax) });
      }
    }
  }

  /** A random partition: nodes in 2–3 groups, or some one-way cuts. */
  private startPartition(rng: Prng, f: FaultOptions): void {
    const n = this.ids.length;
    if (f.oneWayCutShare > 0 && rng.chance(f.oneWayCutShare)) {
      const cuts = rng.int(1, n);
      for (let i = 0; i < cuts; i++) {
        const from = rng.int(0, n - 1);
        const to = (from + rng.int(1, n - 1)) % n;
        this.cutLink({ from: this.ids[from] as NodeId, to: this.ids[to] as NodeId });
      }
      return;
    }
    const groupCount = rng.int(2, Math.min(3, n));
    const groupOf = this.ids.map(() => rng.int(0, groupCount - 1));
    // At least two groups must be non-empty, or nothing is partitioned.
    if (groupOf.every((g) => g === groupOf[0])) {
      const moved = rng.int(0, n - 1);
      groupOf[moved] = ((groupOf[moved] as number) + 1) % groupCount;
    }
    const groups = Array.from({ length: groupCount }, (_, g) => this.ids.filter((_, i) => groupOf[i] === g));
    this.partition(groups.filter((g) => g.length > 0));
  }
}

/** A trace target that collects events in memory (tests). */
export function eventCollector(): TraceTarget & { readonly events: TraceEvent[] } {
  const events: TraceEvent[] = [];
  return { sink: (e) => void events.push(e), ts: undefined, events };
}
