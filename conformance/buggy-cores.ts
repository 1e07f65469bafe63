/**
 * Deliberately buggy twins of the reference core (impl/core/raft-node.ts), one real bug each
 * (B-numbers from shared/design/bug-catalog.md), to show that the simulator + trace checker catch
 * what they claim to catch — and to measure how fast (runs and seconds to detection).
 *
 * How a twin is built, type-safely and without touching the reference core: the core's private
 * members are TypeScript-private only (no `#` fields), so at runtime they are ordinary properties.
 * `Internals` re-declares the few private members the bugs need, with their real types; a buggy
 * method is written against it (`this: Internals`), and the prototype is viewed through it once
 * (`REFERENCE`, the one `as unknown as` cast) to fall back on a reference method. A twin is
 * a fresh reference node whose ONE method is replaced by an own property on the instance
 * (`patch`), which shadows the prototype's; the arrow-function role steppers (`stepFollower`, …)
 * call `this.handleX(...)` and so reach the patch. Each buggy body is the reference body with the
 * bug written in, marked `BUG:`. Public methods (`ready`) are overridden by a plain subclass.
 *
 * `detect(core, …)` runs seeded simulations with a core's nodes, feeds each trace to the
 * TraceChecker (with CL-LIN), and stops at the first run where a rule the core is expected to
 * break is reported.
 */
import type { Message, MessageEntry, RequestVote, RequestVoteResponse } from '../spec/schemas/messages.ts';
import type { NodeId, Role } from '../spec/schemas/primitives.ts';
import { RULE_IDS, type RuleId } from '../spec/rules.ts';
import type { TraceEvent } from '../spec/schemas/trace-events.ts';
import { RaftNode, quorum, type RaftNodeOptions } from '../impl/core/raft-node.ts';
import type { Progress } from '../impl/core/progress.ts';
import type { RaftLog } from '../impl/core/raft-log.ts';
import type { Config, Entry, Ready, ReadState, TraceSink } from '../impl/core/types.ts';
import { SimCluster, SimViolation, type ClusterOptions } from './sim/cluster.ts';
import { formatFaultSpec, parseFaultSpec, type FaultSpec } from './sim/faults.ts';
import { faultsForSeed, simulate } from './sim/simulate.ts';
import { TraceChecker } from '../traces/checker/checker.ts';
import { checkClientHistory } from '../traces/linearizability/index.ts';

export type NodeFactory = (config: Config, options: RaftNodeOptions) => RaftNode;

/** A scripted fault schedule: called before every tick of the fault phase (`tick` is the one about to run, from 1). */
export type Schedule = (cluster: SimCluster, tick: number) => void;

/** The simulation settings that make a bug likely (see each core's story for why). */
export interface Scenario {
  readonly nodes: number;
  /** Ticks of the fault phase. */
  readonly ticks: number;
  /** Faults, in the CLI's textual form (faults.ts), e.g. `all` or `crashes=0.01,loss=0.05`. */
  readonly faults: string;
  /** Liveness-phase budget (0: none). A buggy cluster may never converge; detection needs only the fault phase. */
  readonly healTicksMax: number;
  readonly cluster?: Pick<ClusterOptions, 'raft' | 'network' | 'clients' | 'snapshotThresholdEntries'> | undefined;
  /** A scripted schedule on top of (or instead of) the random faults. */
  readonly schedule?: Schedule | undefined;
  /** A one-line account of the targeting, for reports. */
  readonly note: string;
}

export interface BuggyCore {
  readonly id: string;
  /** The rule the bug itself breaks. */
  readonly rule: RuleId;
  /** Rules the checker may report for it (the bug's rule and its consequences); any one is a detection. */
  readonly expectedRules: readonly RuleId[];
  /** One line: what the bug is, and the real bug it reproduces. */
  readonly story: string;
  readonly factory: NodeFactory;
  readonly scenario: Scenario;
}

// ------------------------------------------------------------------------------------------------
// Access to the core's private members

/** The private members of RaftNode the bugs read, write or replace, with their real types. */
interface Internals {
  readonly id: NodeId;
  readonly sink: TraceSink | undefined;
  currentTerm: number;
  votedFor: NodeId | null;
  readonly log: RaftLog;
  commitIndex: number;
  role: Role;
  voters: readonly NodeId[];
  readonly progress: Map<NodeId, Progress>;
  readonly readsAwaitingNoop: string[];
  readonly readStates: ReadState[];
  send(to: NodeId, msg: Message): void;
  resetElectionTimer(): void;
  setCommitIndex(index: number): void;
  startReadRound(ctx: string): void;
  traceEntry(e: Entry): { index: number; term: number; kind: Entry['kind']; digest?: string };
  // The methods the bugs live in.
  handleRequestVote(from: NodeId, msg: RequestVote): void;
  handleVote(from: NodeId, msg: RequestVoteResponse): void;
  answerStale(from: NodeId, msg: Message): void;
  maybeCommit(): void;
  mergeEntries(prevLogIndex: number, incoming: readonly MessageEntry[]): void;
}

/** The reference implementation of a private method (to fall back on). */
const REFERENCE = RaftNode.prototype as unknown as Internals;

/** Replaces one private method of `node` by `impl` (an own property shadowing the prototype's). */
function patch<K extends keyof Internals>(node: RaftNode, name: K, impl: Internals[K] & ((this: Internals, ...args: never[]) => unknown)): RaftNode {
  // A renamed method would leave a twin that is the reference core in disguise: fail loudly.
  if (typeof REFERENCE[name] !== 'function') throw new Error(`RaftNode has no method ${String(name)} to replace`);
  Object.defineProperty(node, name, { value: impl, writable: true, configurable: true, enumerable: false });
  return node;
}

// ------------------------------------------------------------------------------------------------
// The bugs

/** (a) B01/B03: the vote is granted to any up-to-date candidate, whatever votedFor says. */
function handleRequestVoteIgnoringVotedFor(this: Internals, from: NodeId, msg: RequestVote): void {
  const canVote = true; // BUG: should be `this.votedFor === null || this.votedFor === msg.candidateId`
  const upToDate = msg.lastLogTerm > this.log.lastTerm() || (msg.lastLogTerm === this.log.lastTerm() && msg.lastLogIndex >= this.log.lastIndex());
  const grant = canVote && upToDate && this.role === 'follower';
  if (grant) {
    this.votedFor = msg.candidateId;
    this.resetElectionTimer();
  }
  this.send(from, { type: 'RequestVoteResponse', term: this.currentTerm, voteGranted: grant });
}

/** (b) B17: commit the highest index on a majority, whatever its term (Figure 8). */
function maybeCommitByCounting(this: Internals): void {
  const matched: number[] = [this.log.stableIndex];
  for (const pr of this.progress.values()) matched.push(pr.matchIndex);
  for (const voter of this.voters) if (voter !== this.id && !this.progress.has(voter)) matched.push(0);
  matched.sort((a, b) => b - a);
  const n = matched[quorum(this.voters) - 1] ?? 0;
  if (n <= this.commitIndex) return; // BUG: missing `|| this.log.term(n) !== this.currentTerm`
  const hadCommittedInTerm = this.log.term(this.commitIndex) === this.currentTerm;
  this.setCommitIndex(n);
  if (!hadCommittedInTerm && this.log.term(n) === this.currentTerm) {
    for (const ctx of this.readsAwaitingNoop.splice(0)) this.startReadRound(ctx);
  }
}

/** (c) B11: the follower deletes everything after prevLogIndex on every AppendEntries, then appends. */
function mergeEntriesTruncatingAlways(this: Internals, prevLogIndex: number, incoming: readonly MessageEntry[]): void {
  // BUG: truncate whenever the log goes past prevLogIndex, conflict or not (heartbeats included).
  const from = Math.max(prevLogIndex + 1, this.log.snapshotIndex + 1);
  if (from <= this.log.lastIndex()) {
    this.log.truncateFrom(from);
    this.sink?.({ ev: 'truncate', node: this.id, from });
  }
  const appended: Entry[] = [];
  for (let k = 0; k < incoming.length; k++) {
    const index = prevLogIndex + 1 + k;
    if (index <= this.log.snapshotIndex) continue;
    const sent = incoming[k] as MessageEntry;
    const entry: Entry = { index, term: sent.term, kind: sent.kind ?? 'command', data: sent.digest ?? '' };
    this.log.append(entry);
    appended.push(entry);
  }
  if (appended.length > 0) this.sink?.({ ev: 'append', node: this.id, entries: appended.map((e) => this.traceEntry(e)) });
}

/** (d) B02: the hard state handed to the host for persisting omits the vote. */
class VoteNotPersisted extends RaftNode {
  override ready(): Ready {
    const ready = super.ready();
    if (ready.hardState === undefined) return ready;
    return { ...ready, hardState: { ...ready.hardState, votedFor: null } }; // BUG: votedFor dropped on the way to the disk
  }
}

/** (e) B27: a read is released at once, without the heartbeat round that confirms leadership (§8). */
function startReadRoundWithoutConfirmation(this: Internals, ctx: string): void {
  this.readStates.push({ ctx, index: this.commitIndex }); // BUG: no round, no acks from a majority
}

/** (f) B04: a granted vote of an earlier term, arriving late, is counted toward the current election. */
function answerStaleCountingVotes(this: Internals, from: NodeId, msg: Message): void {
  if (msg.type === 'RequestVoteResponse' && this.role === 'candidate') {
    this.handleVote(from, msg); // BUG: a response of an earlier term should be dropped
    return;
  }
  REFERENCE.answerStale.call(this, from, msg);
}

// ------------------------------------------------------------------------------------------------
// Scenarios

/**
 * Partitions the leader away from the others for `cutTicks` every `period` ticks (from tick
 * `start`): a deposed leader that still believes it leads, with clients around both sides.
 */
export function isolateLeaderSchedule(options: { readonly start: number; readonly period: number; readonly cutTicks: number }): Schedule {
  return (cluster, tick) => {
    if (tick < options.start) return;
    const phase = (tick - options.start) % options.period;
    if (phase === 0) {
      const leader = cluster.ids.find((id) => cluster.host(id).role === 'leader');
      if (leader !== undefined) cluster.partition([[leader], cluster.ids.filter((id) => id !== leader)]);
    } else if (phase === options.cutTicks) {
      cluster.healNetwork();
    }
  };
}

/**
 * Why the scenarios differ. With every fault drawn from the seed on 3 nodes for 600 ticks and the
 * default timings, 30 seeds catch double-vote, truncate-always and vote-not-persisted at the first
 * seed, but none catches commit-by-counting (a new leader's first AppendEntries carries its no-op
 * together with the old entries, so the first majority ack already covers an entry of its term),
 * read-without-readindex (random partitions rarely leave clients reading from a deposed leader
 * while others write through the new one) or stale-vote-counted (a vote is rarely delayed past an
 * election timeout). Their scenarios target exactly that; see each `note`.
 */
const FAST_ELECTIONS = { electionTimeoutTicksMin: 4, electionTimeoutTicksMax: 8, heartbeatIntervalTicks: 1 } as const;

export const BUGGY_CORES: readonly BuggyCore[] = [
  {
    id: 'double-vote',
    rule: 'RV-2',
    expectedRules: ['RV-2', 'M-VOTE', 'S-ES', 'C-2', 'P-1'], // P-1: two grants of one term in one Ready, only the last vote synced
    story: 'B01/B03 (akka-raft#56, zeebe#5356, nebula#2405): votedFor is ignored when granting, so a follower votes twice in one term and two leaders can win it.',
    factory: (config, options) => patch(new RaftNode(config, options), 'handleRequestVote', handleRequestVoteIgnoringVotedFor),
    scenario: { nodes: 5, ticks: 400, faults: 'all', healTicksMax: 0, note: 'every fault from the seed; split votes are common with 5 nodes' },
  },
  {
    id: 'commit-by-counting',
    rule: 'L-4',
    expectedRules: ['L-4', 'S-SMS', 'S-LC', 'S-LM'],
    story: 'B17 (Figure 8; PySyncObj#169, async-raft#108): the leader commits the highest index on a majority without checking it is of its own term.',
    factory: (config, options) => patch(new RaftNode(config, options), 'maybeCommit', maybeCommitByCounting),
    scenario: {
      nodes: 3,
      ticks: 600,
      faults: 'all',
      healTicksMax: 0,
      cluster: { raft: { maxEntriesPerMessage: 1, maxInflightMessages: 1 } },
      note: 'one entry per AppendEntries: a new leader catching up a lagging follower hears an ack for an old-term entry before its no-op',
    },
  },
  {
    id: 'truncate-always',
    rule: 'AE-3',
    expectedRules: ['AE-3', 'S-LM', 'S-LC', 'S-SMS', 'M-COMMIT'],
    story: 'B11 (RaftOS#26): the follower deletes its log after prevLogIndex on every AppendEntries, heartbeats included, not only at a conflict.',
    factory: (config, options) => patch(new RaftNode(config, options), 'mergeEntries', mergeEntriesTruncatingAlways),
    scenario: { nodes: 3, ticks: 150, faults: 'all', healTicksMax: 0, note: 'every fault from the seed (150 ticks: the buggy log thrashes, and runs grow slow); pipelining alone makes heartbeats anchor below the follower’s last index' },
  },
  {
    id: 'vote-not-persisted',
    rule: 'P-2',
    expectedRules: ['P-1', 'P-2', 'M-VOTE', 'RV-2', 'S-ES'], // P-1: the host sees the grant leave before the vote is synced
    story: 'B02 (cornerstone#65, nebula PR #3415): the hard state handed to the host omits votedFor, so the vote is lost on restart and can be cast again in the same term.',
    factory: (config, options) => new VoteNotPersisted(config, options),
    scenario: { nodes: 3, ticks: 600, faults: 'crashes=0.02,loss,reorder', healTicksMax: 0, note: 'frequent crashes: any restart in a term the node voted in loses the vote' },
  },
  {
    id: 'read-without-readindex',
    rule: 'CL-LIN',
    expectedRules: ['CL-LIN'],
    story: 'B27 (d-engine#381, Jepsen stale reads): the leader answers a read at once, without the heartbeat round of ReadIndex, so a deposed leader serves stale reads.',
    factory: (config, options) => patch(new RaftNode(config, options), 'startReadRound', startReadRoundWithoutConfirmation),
    scenario: {
      nodes: 3,
      ticks: 900,
      faults: 'none',
      healTicksMax: 0,
      cluster: {
        raft: FAST_ELECTIONS,
        clients: { clients: 6, keys: 2, requestTimeoutTicks: 15, thinkTicksMax: 3, weights: { get: 9, put: 3, delete: 0, cas: 0 } },
      },
      schedule: isolateLeaderSchedule({ start: 60, period: 300, cutTicks: 200 }),
      note: 'scripted: the leader is cut off alone for 200 of every 300 ticks, short election timeouts; a read-heavy workload on 2 keys — clients whose writes time out move to the new leader, readers stay on the old one',
    },
  },
  {
    id: 'stale-vote-counted',
    rule: 'C-2',
    expectedRules: ['C-2', 'S-ES'],
    story: 'B04 (Xraft#33, little-raft#44): a vote granted in an earlier term, arriving late, is counted toward the candidate’s current election.',
    factory: (config, options) => patch(new RaftNode(config, options), 'answerStale', answerStaleCountingVotes),
    scenario: {
      nodes: 3,
      ticks: 600,
      faults: 'reorder=0.5,loss=0.1',
      healTicksMax: 0,
      cluster: { raft: FAST_ELECTIONS, network: { reorderDelayTicksMax: 12 } },
      note: 'short election timeouts (4–8 ticks) and heavy reordering (held up to 12 ticks): votes routinely arrive after the candidate moved on',
    },
  },
];

/** The reference core, as a "core" with no bug (for false-alarm checks). */
export const REFERENCE_FACTORY: NodeFactory = (config, options) => new RaftNode(config, options);

// ------------------------------------------------------------------------------------------------
// Detection

export interface RunVerdict {
  readonly seed: number;
  /** Rules reported: the checker's violations, plus CL-LIN when the history is not linearizable. */
  readonly rules: readonly RuleId[];
  /** First message per rule, for reports. */
  readonly messages: Readonly<Partial<Record<RuleId, string>>>;
  /** What stopped the simulation early, if anything (a SimViolation, or an assertion in the core). */
  readonly stopped?: string | undefined;
}

/** One seeded run of `scenario` with `factory`'s nodes, checked by the TraceChecker and CL-LIN. */
export function checkRun(factory: NodeFactory, scenario: Scenario, seed: number): RunVerdict {
  const checker = new TraceChecker({ linearizability: (events) => checkClientHistory(events, { maxSteps: 2_000_000 }).result });
  let line = 0;
  // Through JSON, as a trace file would carry the events.
  const sink = (e: TraceEvent): void => checker.feed({ file: `seed ${seed}`, line: ++line, event: JSON.parse(JSON.stringify(e)) as TraceEvent });
  const parsed = parseFaultSpec(scenario.faults);
  if (!parsed.ok) throw new Error(parsed.error);
  const stopped = scenario.schedule === undefined ? simulateOnce(factory, scenario, parsed.spec, seed, sink) : runScheduled(factory, scenario, parsed.spec, seed, sink);
  const report = checker.finish();
  const rules: RuleId[] = [];
  const messages: Partial<Record<RuleId, string>> = {};
  for (const v of report.violations) {
    if (!rules.includes(v.rule)) rules.push(v.rule);
    messages[v.rule] ??= v.message;
  }
  if (report.linearizability.verdict === 'not-linearizable') {
    rules.push('CL-LIN');
    messages['CL-LIN'] = report.linearizability.message ?? 'not linearizable';
  }
  // A rule the simulator's own invariants reported (`RULE: RULE at tick N: …`) is a detection too.
  const simRule = RULE_IDS.find((id) => stopped?.startsWith(`${id}: `) === true);
  if (stopped !== undefined && simRule !== undefined && !rules.includes(simRule)) {
    rules.push(simRule);
    messages[simRule] = stopped;
  }
  return { seed, rules, messages, ...(stopped === undefined ? {} : { stopped }) };
}

function simulateOnce(factory: NodeFactory, scenario: Scenario, faults: FaultSpec, seed: number, sink: (e: TraceEvent) => void): string | undefined {
  const result = simulate({
    seed,
    nodes: scenario.nodes,
    ticks: scenario.ticks,
    faults,
    healTicksMax: scenario.healTicksMax,
    ...(scenario.cluster?.snapshotThresholdEntries === undefined ? {} : { snapshotThresholdEntries: scenario.cluster.snapshotThresholdEntries }),
    trace: { sink, ts: undefined },
    cluster: { raft: scenario.cluster?.raft, network: scenario.cluster?.network, clients: scenario.cluster?.clients, nodeFactory: factory },
  });
  if (result.violation !== undefined) return `${result.violation.rule}: ${result.violation.message}`;
  if (result.error !== undefined) return `${result.error.name}: ${result.error.message}`;
  return undefined;
}

/** As `simulate`, with the scenario's schedule called before each fault-phase tick. */
function runScheduled(factory: NodeFactory, scenario: Scenario, faults: FaultSpec, seed: number, sink: (e: TraceEvent) => void): string | undefined {
  const schedule = scenario.schedule as Schedule;
  try {
    const cluster = new SimCluster({
      seed,
      nodes: scenario.nodes,
      faults: faultsForSeed({ seed, nodes: scenario.nodes, faults }),
      raft: scenario.cluster?.raft,
      network: scenario.cluster?.network,
      clients: scenario.cluster?.clients,
      snapshotThresholdEntries: scenario.cluster?.snapshotThresholdEntries,
      trace: { sink, ts: undefined },
      nodeFactory: factory,
    });
    for (let tick = 1; tick <= scenario.ticks; tick++) {
      schedule(cluster, tick);
      cluster.tick();
    }
    if (scenario.healTicksMax > 0) cluster.converge({ maxTicks: scenario.healTicksMax });
  } catch (err) {
    if (err instanceof SimViolation) return `${err.rule}: ${err.message}`;
    return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  }
  return undefined;
}

export interface DetectOptions {
  /** Seeds to try, in order (default 1…30). */
  readonly seeds?: readonly number[] | undefined;
  /** Overrides of the core's scenario. */
  readonly scenario?: Partial<Scenario> | undefined;
  /** Stop at the first detection (default true); false runs every seed and counts the detecting runs (`hits`). */
  readonly stopAtFirst?: boolean | undefined;
}

export interface Detection {
  readonly caught: boolean;
  /** The seed of the first run that reported an expected rule. */
  readonly seed?: number | undefined;
  /** Runs made (up to and including the detecting one when stopping at the first). */
  readonly runs: number;
  /** Runs that reported an expected rule (1 when stopping at the first detection). */
  readonly hits: number;
  readonly seconds: number;
  /** Seconds until the first detecting run finished. */
  readonly secondsToDetection?: number | undefined;
  /** Expected rules reported by the detecting run (all rules of every run if not caught). */
  readonly rules: readonly RuleId[];
  /** The message of the first expected rule reported. */
  readonly message?: string | undefined;
  /** Replay: the scenario's faults in textual form. */
  readonly faults: string;
}

/** Runs seeded simulations of `core` until the checker reports one of its expected rules. */
export function detect(core: Pick<BuggyCore, 'factory' | 'scenario' | 'expectedRules'>, options: DetectOptions = {}): Detection {
  const scenario: Scenario = { ...core.scenario, ...options.scenario };
  const seeds = options.seeds ?? Array.from({ length: 30 }, (_, i) => i + 1);
  const parsed = parseFaultSpec(scenario.faults);
  const faults = parsed.ok ? formatFaultSpec(parsed.spec) : scenario.faults;
  const started = performance.now();
  const stopAtFirst = options.stopAtFirst ?? true;
  const seen = new Set<RuleId>();
  let runs = 0;
  let hits = 0;
  let firstHit: { seed: number; rules: RuleId[]; message: string | undefined; seconds: number } | undefined;
  for (const seed of seeds) {
    runs++;
    const verdict = checkRun(core.factory, scenario, seed);
    for (const r of verdict.rules) seen.add(r);
    const hit = verdict.rules.filter((r) => core.expectedRules.includes(r));
    const first = hit[0];
    if (first === undefined) continue;
    hits++;
    firstHit ??= { seed, rules: hit, message: verdict.messages[first], seconds: (performance.now() - started) / 1000 };
    if (stopAtFirst) break;
  }
  const seconds = (performance.now() - started) / 1000;
  if (firstHit === undefined) return { caught: false, runs, hits, seconds, rules: [...seen], faults };
  // When every seed ran, `seconds` is the whole sweep's; the first detection's time is in `secondsToDetection`.
  return { caught: true, seed: firstHit.seed, runs, hits, seconds, secondsToDetection: firstHit.seconds, rules: firstHit.rules, message: firstHit.message, faults };
}
