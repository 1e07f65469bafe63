/**
 * The PySyncObj target (Debian python3-pysyncobj): one driver process per node
 * (pysyncobj/driver.py), every Raft message between them routed through figure2's RoutedNetwork,
 * every observable step of PySyncObj reported as trace v1. See docs/targets/pysyncobj.md for the
 * mapping and what was found.
 *
 * Event order: a node's events come from its own driver, in the order PySyncObj did things (the
 * driver reports `recv` when it hands a message to PySyncObj, not when figure2 delivers it, so a
 * node's earlier steps are never traced after a message it handled later). Across nodes, a send is
 * traced before the network can deliver it, so causality holds.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientOperation } from '../../spec/schemas/client.ts';
import type { Message } from '../../spec/schemas/messages.ts';
import type { NodeId, Role } from '../../spec/schemas/primitives.ts';
import type { TraceEvent } from '../../spec/schemas/trace-events.ts';
import { CutFailure, type ClientOpRequest, type ClusterUnderTest, type ClusterView, type NetworkControl } from '../cut.ts';
import { outcomeOf, RealtimeClients, type KvResult, type OpenOperation, type Outcome } from '../realtime/clients.ts';
import { RoutedNetwork, type Routed, type RoutedNetworkOptions } from '../realtime/routed-network.ts';
import type { ConformanceTarget, TargetRunOptions } from '../realtime/target.ts';
import { DriverProcess, PYTHON, type DriverConfig, type DriverLine } from './pysyncobj/driver-process.ts';

export const INSTALL_HINT = 'PySyncObj is not installed: run scripts/install-pysyncobj.sh (apt-get install python3-pysyncobj, as root) — it must import under /usr/bin/python3';

/** A PySyncObj message in flight: its trace v1 form (undefined for client plumbing) and its pickled bytes. */
interface Payload {
  readonly id: string;
  readonly kind: string;
  readonly msg: Message | undefined;
  readonly blob: string;
}

/** What the adapter knows of a node, from its events. */
interface NodeHandle {
  readonly id: NodeId;
  process: DriverProcess | undefined;
  incarnation: number;
  up: boolean;
  role: Role;
  term: number;
  commitIndex: number;
  snapshotIndex: number;
  /** Terms of the log, by trace index − snapshotIndex (element 0: the snapshot's term). */
  log: number[];
  /** Resolves the pending snapshot() of this node with the driver's answer. */
  compacted: ((ok: boolean) => void) | undefined;
}

/** Options of the cut beyond the target's (for tests and directed scenarios). */
export interface PySyncObjTuning {
  readonly delayMs?: RoutedNetworkOptions['delayMs'];
  readonly reorderDelayMsMax?: number | undefined;
  readonly leaderChangedIsFailure?: boolean | undefined;
}

const lastIndex = (n: NodeHandle): number => n.snapshotIndex + n.log.length - 1;
const lastTerm = (n: NodeHandle): number | undefined => n.log[n.log.length - 1];

/**
 * PySyncObj's FAIL_REASON (config.py:2-9) → the client's outcome. `leaderChangedIsFailure` takes
 * LEADER_CHANGED at its documented word (a failure) — to show what a client that does so observes.
 */
function failureOutcome(code: number, leaderChangedIsFailure: boolean): Outcome {
  switch (code) {
    case 1:
      return { kind: 'fail', error: 'QUEUE_FULL' };
    case 2:
      return { kind: 'fail', error: 'MISSING_LEADER' };
    case 3:
      // The entry at the command's (index, term) was replaced: it can take effect nowhere else.
      return { kind: 'fail', error: 'DISCARDED' };
    case 4:
      return { kind: 'fail', error: 'NOT_LEADER' };
    case 5:
      if (leaderChangedIsFailure) return { kind: 'fail', error: 'LEADER_CHANGED (documented: "leader has changed without command commit")' };
      // Documented as "leader has changed without command commit", but raised when the leader
      // changes while a forwarded command's reply is outstanding (syncobj.py:1119-1122): the
      // leader may have appended it. Unknown, not failed.
      return { kind: 'info', error: 'LEADER_CHANGED' };
    case 6:
      return { kind: 'fail', error: 'REQUEST_DENIED' };
    default:
      return { kind: 'info', error: `FAIL_REASON ${code}` };
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** PySyncObj's timers in seconds, within its own constraints (config.py:165-173). */
function timers(options: TargetRunOptions): Pick<DriverConfig, 'electionMinS' | 'electionMaxS' | 'heartbeatS' | 'leaderFallbackS' | 'tickS'> {
  const s = options.tickMs / 1000;
  const electionMinS = options.electionTimeoutTicks.min * s;
  const electionMaxS = Math.max(options.electionTimeoutTicks.max * s, electionMinS * 1.2);
  // raftMinTimeout > 3 × appendEntriesPeriod is asserted by SyncObjConf.validate.
  const heartbeatS = Math.min(options.heartbeatIntervalTicks * s, electionMinS / 3.2);
  return { electionMinS, electionMaxS, heartbeatS, leaderFallbackS: 2 * electionMaxS, tickS: Math.min(0.005, s / 2) };
}

export class PySyncObjCluster implements ClusterUnderTest {
  readonly name: string;
  readonly network: NetworkControl;
  private readonly net: RoutedNetwork<Payload>;
  private readonly nodes = new Map<NodeId, NodeHandle>();
  private readonly clients: RealtimeClients;
  private readonly ops = new Map<number, OpenOperation>();
  /** Per open operation: when its current attempt times out, and whether it was retried. */
  private readonly attempts = new Map<number, { deadline: number; retried: boolean }>();
  private readonly sent = new Map<string, Payload>();
  private readonly events: TraceEvent[] = [];
  private cursor = 0;
  private t0 = performance.now();
  private failure: CutFailure | undefined;
  private stopped = false;
  private readonly clientTimeoutMs: number;
  private readonly leaderChangedIsFailure: boolean;

  /**
   * `tuning.delayMs` (and `reorderDelayMsMax`) override the routed network's own options — a
   * constant delay keeps every link FIFO like PySyncObj's TCP transport (the default 1–4 ms jitter
   * reorders messages sent close together on one link, even with reorderProbability 0).
   * `tuning.leaderChangedIsFailure` reports LEADER_CHANGED as `fail`, as PySyncObj documents it,
   * instead of `info` (docs/targets/pysyncobj.md, finding 8).
   */
  constructor(
    private readonly options: TargetRunOptions,
    version: string,
    tuning: PySyncObjTuning = {},
  ) {
    this.name = `PySyncObj ${version}`;
    const ids = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
    for (const id of ids) this.nodes.set(id, { id, process: undefined, incarnation: 0, up: false, role: 'follower', term: 0, commitIndex: 0, snapshotIndex: 0, log: [0], compacted: undefined });
    this.clients = new RealtimeClients(options.clients, (e) => this.push(e));
    this.net = new RoutedNetwork<Payload>(
      {
        seed: options.seed,
        lossProbability: options.lossProbability,
        duplicateProbability: options.duplicateProbability,
        reorderProbability: options.reorderProbability,
        // PySyncObj's transport is one TCP connection per pair of nodes: links keep their order
        // unless a reorder fault (or the suite) says otherwise.
        fifoLinks: true,
        ...(tuning.delayMs === undefined ? {} : { delayMs: tuning.delayMs }),
        ...(tuning.reorderDelayMsMax === undefined ? {} : { reorderDelayMsMax: tuning.reorderDelayMsMax }),
      },
      { deliver: (m) => this.deliver(m), describe: describePayload },
    );
    this.network = this.net.control;
    this.leaderChangedIsFailure = tuning.leaderChangedIsFailure === true;
    // Long enough for an election or two and a commit; a client gives up after that (info).
    this.clientTimeoutMs = 4 * options.electionTimeoutTicks.max * options.tickMs;
    this.push({
      ev: 'header',
      format: 'raft-trace',
      version: 1,
      cluster: ids,
      source: this.name,
      meta: { seed: options.seed, tickMs: options.tickMs, target: 'pysyncobj' },
    });
  }

  // ------------------------------------------------------------------------------------------
  // Lifecycle

  async start(): Promise<void> {
    this.t0 = performance.now();
    await Promise.all([...this.nodes.values()].map((n) => this.boot(n)));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.net.close();
    await Promise.all([...this.nodes.values()].map((n) => n.process?.kill()));
    this.clients.abandonAll('cluster stopped');
    rmSync(this.options.dataDir, { recursive: true, force: true });
  }

  async crash(node: NodeId): Promise<void> {
    this.throwIfFailed();
    const n = this.node(node);
    if (!n.up || n.process === undefined) return;
    n.up = false;
    this.net.setDown(node, true);
    n.compacted?.(false);
    await n.process.kill();
    this.push({ ev: 'crash', node });
    for (const op of [...this.clients.operations()]) if (op.node === node) this.finish(op, { kind: 'info', error: `${node} crashed` });
  }

  async restart(node: NodeId): Promise<void> {
    this.throwIfFailed();
    const n = this.node(node);
    if (n.up) return;
    await this.boot(n);
  }

  /** Starts a driver on the node's journal and waits for its `init`. */
  private async boot(n: NodeHandle): Promise<void> {
    const dir = join(this.options.dataDir, n.id);
    mkdirSync(dir, { recursive: true });
    n.incarnation++;
    let ready: () => void = () => undefined;
    const initialized = new Promise<void>((resolve) => (ready = resolve));
    const config: DriverConfig = {
      id: n.id,
      incarnation: n.incarnation,
      peers: [...this.nodes.keys()].filter((p) => p !== n.id),
      journal: join(dir, 'journal.bin'),
      dump: join(dir, 'dump.bin'),
      ...timers(this.options),
    };
    const driver = new DriverProcess(config, (line) => {
      if (n.process !== driver) return; // a killed incarnation's last lines were handled before its crash event
      this.onLine(n, line);
      if (line.t === 'ev' && line.ev.ev === 'init') ready();
    });
    n.process = driver;
    void driver.closed.then((exit) => {
      if (n.process === driver && n.up && !this.stopped) this.onUnexpectedExit(n, exit.code, exit.signal, exit.stderr);
      ready();
    });
    await Promise.race([initialized, sleep(15_000)]);
    if (!n.up) throw new CutFailure('assertion', `${n.id}: PySyncObj did not start (${this.failure?.message ?? 'no init within 15 s'})`);
    this.net.setDown(n.id, false);
  }

  private onUnexpectedExit(n: NodeHandle, code: number | null, signal: NodeJS.Signals | null, stderr: string): void {
    n.up = false;
    this.net.setDown(n.id, true);
    this.push({ ev: 'crash', node: n.id });
    const last = stderr.trim().split('\n').slice(-3).join(' | ');
    this.failure ??= new CutFailure('assertion', `${n.id}: the PySyncObj process exited by itself (code ${code}, signal ${signal}): ${last}`);
  }

  // ------------------------------------------------------------------------------------------
  // What a driver reports

  private onLine(n: NodeHandle, line: DriverLine): void {
    switch (line.t) {
      case 'ev':
        return this.onEvent(n, line.ev);
      case 'send':
        return this.onSend(n, line);
      case 'recv':
        return this.onRecv(n, line.from, line.id);
      case 'result':
        return this.onResult(line.opId, line.res, line.err);
      case 'compacted':
        n.compacted?.(line.ok);
        n.compacted = undefined;
        return;
      case 'fatal':
        this.failure ??= new CutFailure('assertion', `${n.id}: PySyncObj raised ${line.error.trim().split('\n').slice(-1)[0] ?? ''} — ${line.error.trim().split('\n').slice(-4, -1).join(' ').replace(/\s+/g, ' ')}`);
        return;
    }
  }

  private onEvent(n: NodeHandle, raw: { readonly ev: string } & Record<string, unknown>): void {
    const { ev, ...fields } = raw;
    const event = { ev, node: n.id, ts: this.now(), ...fields } as unknown as TraceEvent;
    if (event.ev === 'init') n.up = true;
    this.track(n, event);
    this.push(event);
  }

  /** The node's role, term, commitIndex and log terms, for view() and settle(). */
  private track(n: NodeHandle, e: TraceEvent): void {
    switch (e.ev) {
      case 'init':
        n.role = 'follower';
        n.term = e.term;
        n.commitIndex = e.commitIndex ?? e.snapshotIndex;
        n.snapshotIndex = e.snapshotIndex;
        n.log = new Array<number>(e.lastIndex - e.snapshotIndex + 1).fill(0);
        n.log[0] = e.snapshotTerm;
        for (const x of e.entries ?? []) n.log[x.index - e.snapshotIndex] = x.term;
        return;
      case 'role':
        n.role = e.role;
        n.term = e.term;
        return;
      case 'commit':
        n.commitIndex = e.commitIndex;
        return;
      case 'append':
        for (const x of e.entries) n.log[x.index - n.snapshotIndex] = x.term;
        return;
      case 'truncate':
        n.log.length = Math.max(1, e.from - n.snapshotIndex);
        return;
      case 'snapshot':
        n.log = [e.lastIncludedTerm, ...n.log.slice(e.lastIncludedIndex - n.snapshotIndex + 1)];
        n.snapshotIndex = e.lastIncludedIndex;
        return;
      case 'restore':
        n.log = [e.lastIncludedTerm];
        n.snapshotIndex = e.lastIncludedIndex;
        return;
      default:
        return;
    }
  }

  private onSend(n: NodeHandle, line: Extract<DriverLine, { t: 'send' }>): void {
    const payload: Payload = { id: line.id, kind: line.kind, msg: line.msg ?? undefined, blob: line.blob };
    this.sent.set(line.id, payload);
    if (payload.msg !== undefined) this.push({ ev: 'send', node: n.id, ts: this.now(), to: line.to, msg: payload.msg });
    this.net.send(n.id, line.to, payload);
  }

  private onRecv(n: NodeHandle, from: NodeId, id: string): void {
    const payload = this.sent.get(id);
    if (payload?.msg !== undefined) this.push({ ev: 'recv', node: n.id, ts: this.now(), from, msg: payload.msg });
  }

  private deliver(m: Routed<Payload>): void {
    const n = this.nodes.get(m.to);
    if (n?.up !== true) return;
    n.process?.write({ t: 'msg', from: m.from, id: m.payload.id, blob: m.payload.blob });
  }

  private onResult(opId: number, res: unknown, err: number | null): void {
    const op = this.ops.get(opId);
    if (op === undefined) return;
    this.finish(op, err === 0 || err === null ? outcomeOf(res as KvResult) : failureOutcome(err, this.leaderChangedIsFailure));
  }

  private finish(op: OpenOperation, outcome: Outcome): void {
    this.ops.delete(op.opId);
    this.attempts.delete(op.opId);
    this.clients.finish(op, outcome);
  }

  // ------------------------------------------------------------------------------------------
  // Faults

  async partition(groups: readonly (readonly NodeId[])[]): Promise<void> {
    this.throwIfFailed();
    this.net.partition(groups);
  }

  async partitionOneWay(from: NodeId, to: NodeId): Promise<void> {
    this.throwIfFailed();
    this.net.cutLink(from, to);
  }

  async heal(): Promise<void> {
    this.throwIfFailed();
    this.net.heal();
  }

  // ------------------------------------------------------------------------------------------
  // Clients

  async clientOp(request: ClientOpRequest): Promise<number> {
    this.throwIfFailed();
    const op = this.clients.begin(request.client, request.op, request.node);
    const n = this.node(request.node);
    if (!n.up || n.process === undefined) {
      // Nothing listens there: the request never reaches PySyncObj.
      this.clients.finish(op, { kind: 'fail', error: `${request.node} is down` });
      return op.opId;
    }
    this.ops.set(op.opId, op);
    this.attempts.set(op.opId, { deadline: performance.now() + this.clientTimeoutMs, retried: false });
    n.process.write({ t: 'op', opId: op.opId, cmd: commandText(op.clientId, op.opId, request.op) });
    return op.opId;
  }

  /**
   * Delivers an earlier message (the `id` of its trace `msg`) once more, straight to its receiver:
   * a network duplicate that was in flight before any later partition and arrives late. For
   * directed scenarios (pysyncobj/findings.ts); the suite's own faults go through the network.
   */
  replay(id: string): boolean {
    const payload = [...this.sent.values()].find((p) => p.msg !== undefined && (p.msg as { id?: unknown }).id === id);
    const send = this.events.find((e) => e.ev === 'send' && (e.msg as { id?: unknown }).id === id);
    if (payload === undefined || send?.ev !== 'send') return false;
    this.deliver({ seq: 0, from: send.node, to: send.to, payload, dueAt: performance.now() });
    return true;
  }

  // ------------------------------------------------------------------------------------------
  // Log compaction

  /** forceLogCompaction() on `node`; true once PySyncObj compacted, false when it had nothing to. */
  async snapshot(node: NodeId): Promise<boolean> {
    this.throwIfFailed();
    const n = this.node(node);
    if (!n.up || n.process === undefined) return false;
    const answer = new Promise<boolean>((resolve) => (n.compacted = resolve));
    n.process.write({ t: 'compact' });
    // Serializing and compacting take two ticks of PySyncObj's loop; a crash in between answers nothing.
    const ok = await Promise.race([answer, sleep(2000).then(() => false)]);
    n.compacted = undefined;
    this.throwIfFailed();
    return ok;
  }

  // ------------------------------------------------------------------------------------------
  // Time

  async advance(ticks: number): Promise<void> {
    this.throwIfFailed();
    await sleep(ticks * this.options.tickMs);
    this.expireClients();
    this.throwIfFailed();
  }

  /**
   * Operations whose attempt got no answer in time end `info` — except a read's first: PySyncObj
   * forwards a follower's command to its leader over its own transport and never resends it
   * (syncobj.py:482-494), so one lost message loses the command. A read changes nothing, so it is
   * retried once, at the node the adapter sees as leader (a write is not: PySyncObj has no client
   * sessions, and a retried write could take effect twice).
   */
  private expireClients(): void {
    const now = performance.now();
    for (const op of [...this.clients.operations()]) {
      const attempt = this.attempts.get(op.opId);
      if (attempt === undefined || now <= attempt.deadline) continue;
      const leader = this.currentLeader();
      if (op.op.kind === 'get' && !attempt.retried && leader?.process !== undefined) {
        this.attempts.set(op.opId, { deadline: now + this.clientTimeoutMs, retried: true });
        leader.process.write({ t: 'op', opId: op.opId, cmd: commandText(op.clientId, op.opId, op.op) });
        continue;
      }
      this.finish(op, { kind: 'info', error: `no answer within ${Math.round(this.clientTimeoutMs)} ms${attempt.retried ? ' (twice)' : ''}` });
    }
  }

  /** The up leader of the highest term, as the events show it. */
  private currentLeader(): NodeHandle | undefined {
    const leaders = [...this.nodes.values()].filter((n) => n.up && n.role === 'leader');
    return leaders.sort((a, b) => b.term - a.term)[0];
  }

  async settle(maxTicks: number): Promise<number> {
    this.throwIfFailed();
    this.net.heal();
    for (const n of this.nodes.values()) if (!n.up) await this.boot(n);
    const started = performance.now();
    const budgetMs = maxTicks * this.options.tickMs;
    while (performance.now() - started < budgetMs) {
      await sleep(this.options.tickMs);
      this.expireClients();
      this.throwIfFailed();
      if (this.converged() === undefined) return Math.ceil((performance.now() - started) / this.options.tickMs);
    }
    throw new CutFailure('liveness', `no single leader with converged logs within ${maxTicks} ticks of a healed cluster: ${this.converged() ?? ''}`);
  }

  /** undefined when converged; otherwise why not. */
  private converged(): string | undefined {
    const nodes = [...this.nodes.values()];
    const leaders = nodes.filter((n) => n.up && n.role === 'leader');
    const maxTerm = Math.max(...nodes.map((n) => n.term));
    const leader = leaders.find((l) => l.term === maxTerm);
    const state = nodes.map((n) => `${n.id} ${n.up ? n.role : 'down'} t${n.term} last ${lastIndex(n)}/${lastTerm(n)} commit ${n.commitIndex}`).join('; ');
    if (leaders.length !== 1 || leader === undefined) return `${leaders.length} leaders (${state})`;
    const last = lastIndex(leader);
    const behind = nodes.filter((n) => !n.up || lastIndex(n) !== last || lastTerm(n) !== lastTerm(leader) || n.commitIndex !== last);
    return behind.length === 0 ? undefined : `logs not converged (${state})`;
  }

  // ------------------------------------------------------------------------------------------
  // Observation

  collectEvents(): TraceEvent[] {
    const events = this.events.slice(this.cursor);
    this.cursor = this.events.length;
    return events;
  }

  /** Every event so far. */
  allEvents(): readonly TraceEvent[] {
    return this.events;
  }

  view(): ClusterView {
    return {
      nodes: [...this.nodes.values()].map((n) => ({ id: n.id, up: n.up, role: n.up ? n.role : 'down', term: n.term, commitIndex: n.commitIndex })),
      clients: this.clients.count,
      idleClients: this.clients.idle(),
      inFlight: this.net.pending().length,
      now: Math.floor((performance.now() - this.t0) / this.options.tickMs),
    };
  }

  /** Counters of the routed network (sent, delivered, lost, duplicated, blocked). */
  get networkCounts(): RoutedNetwork<Payload>['counts'] {
    return this.net.counts;
  }

  // ------------------------------------------------------------------------------------------

  private node(id: NodeId): NodeHandle {
    const n = this.nodes.get(id);
    if (n === undefined) throw new CutFailure('assertion', `no node ${id} (nodes: ${[...this.nodes.keys()].join(', ')})`);
    return n;
  }

  private now(): number {
    return Math.round((performance.now() - this.t0) * 10) / 10;
  }

  private push(event: TraceEvent): void {
    this.events.push(event);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}

/** The command a client submits: its op and identity (the identity is the entry's digest, "c1#5"). */
function commandText(client: string, opId: number, op: ClientOperation): string {
  return JSON.stringify({ c: client, o: opId, op });
}

function describePayload(p: Payload): string {
  const m = p.msg;
  if (m === undefined) return p.kind;
  switch (m.type) {
    case 'AppendEntries':
      return `AppendEntries t${m.term} prev ${m.prevLogIndex}/${m.prevLogTerm}, ${m.entries.length} entr${m.entries.length === 1 ? 'y' : 'ies'}, commit ${m.leaderCommit}`;
    case 'AppendEntriesResponse':
      return `AppendEntriesResponse t${m.term} ${m.success ? `ok match ${m.matchIndex ?? '?'}` : 'refused'}`;
    case 'RequestVote':
      return `RequestVote t${m.term} last ${m.lastLogIndex}/${m.lastLogTerm}`;
    default:
      return `${m.type} t${m.term}`;
  }
}

// --------------------------------------------------------------------------------------------
// The target

/** PySyncObj's version under `python`, or null when it does not import there. */
export function probePySyncObj(python: string = PYTHON): string | null {
  try {
    return execFileSync(python, ['-c', 'import pysyncobj.version as v; print(v.VERSION)'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
  } catch {
    return null;
  }
}

/** The install hint when PySyncObj does not import under `python`. */
export function pysyncobjUnavailable(python: string = PYTHON): string | undefined {
  return probePySyncObj(python) === null ? INSTALL_HINT : undefined;
}

let versionCache: string | null | undefined;

function installedVersion(): string | null {
  if (versionCache === undefined) versionCache = probePySyncObj();
  return versionCache;
}

export const PYSYNCOBJ_TARGET: ConformanceTarget = {
  id: 'pysyncobj',
  get name(): string {
    return `PySyncObj ${installedVersion() ?? '(not installed)'}`;
  },
  unavailable(): string | undefined {
    return installedVersion() === null ? INSTALL_HINT : undefined;
  },
  create(options: TargetRunOptions): ClusterUnderTest {
    return new PySyncObjCluster(options, installedVersion() ?? 'unknown');
  },
  defaults: { tickMs: 10, runs: 20, commandsMax: 40, livenessTicks: 1500, shrinkSeconds: 120 },
  unsupported: [],
};
