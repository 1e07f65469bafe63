/**
 * The chaos test (issue 7): a local cluster of real `figure2 node` processes on loopback, a
 * fault-injecting proxy on every directed peer link, concurrent HTTP clients, and a seeded
 * schedule of faults — then a healed cluster whose end state and traces must hold up.
 *
 * ## What one run does
 *
 *   1. Starts N nodes (`LocalCluster`), each dialling each peer through its own `FaultProxy`
 *      (`from → to`), and waits for a leader.
 *   2. For `faultMs`, runs the fault schedule — SIGKILL and restart, SIGSTOP and SIGCONT (the
 *      leader or any node, never more than a minority down), isolating a node or the leader,
 *      splitting the cluster in two, one-way cuts, delay, loss, healing — while `clients` clients
 *      (own `X-Client-Id`, an increasing `X-Client-Seq` per write) put, get (linearizable), cas
 *      and delete a few shared keys, and put once each into "witness" keys never written again.
 *      Values are unique (`<client>:<opId>`), so a read names the write it saw. A client retries
 *      an operation — the same seq — on 503, 504, a timeout or a connection error, follows 307s,
 *      and gives up after a bounded number of attempts and time: the operation is then `info`.
 *   3. Heals every link, resumes paused nodes, restarts killed ones, lets the clients run on a
 *      moment (`calmMs`) and finish their last operation (bounded), then — by default — SIGKILLs
 *      every node at once and restarts them all (a power cut: what was acknowledged must have
 *      been on a majority's disk).
 *   4. Checks, each wait bounded:
 *      - a leader is elected;
 *      - every written key is read linearizably through the leader (the reads join the history),
 *        and every acknowledged write is accounted for by those reads: a key's final value is the
 *        write's own, or that of a write that may have come after it (`lost-write` otherwise; a
 *        value no client wrote is a `phantom-value`);
 *      - stale reads (`?stale=true`) on every node converge, by polling, to those final values;
 *      - the client history (v1 invoke/ok/fail/info events, wall-clock `ts`, an unknown outcome is
 *        `info`) is linearizable (CL-LIN, `checkClientHistory`);
 *      - the per-node traces `<dataDir>/<id>.trace.ndjson`, merged by `ts` as `figure2 check
 *        --merge` merges them, together with the client history written to
 *        `<dataDir>/clients.trace.ndjson`, pass the trace checker: no violation, no input error;
 *      - no node exited on its own, and no request was answered 500.
 *
 * ## The schedule and its seed
 *
 * `planSchedule(seed, …)` draws the whole schedule up front from the seed: which fault, when, on
 * which node or link, with which delay or loss. Faults aimed at "the leader" name a role, resolved
 * when the step fires. The seed therefore replays the *schedule* (`FIGURE2_CHAOS_SEED=<seed>`),
 * not the run: real processes, real time and the OS scheduler decide who leads when a step fires,
 * how far the logs got and which frames a lossy link meets — a failure may need several replays to
 * recur, and the traces kept on failure are the evidence.
 *
 * Every loop and every wait here is bounded by a count or a deadline; every process started is
 * killed in `finally`, also when the run is aborted through `signal`.
 */
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientOperation } from '../../spec/schemas/client.ts';
import type { TraceEvent } from '../../spec/schemas/trace-events.ts';
import { checkTrace } from '../../traces/checker/check.ts';
import type { CheckReport, LinearizabilityResult, LocatedEvent, Violation } from '../../traces/checker/types.ts';
import { checkClientHistory } from '../../traces/linearizability/index.ts';
import { mergeByTs } from '../../traces/merge.ts';
import { readTraceBatches } from '../../traces/reader.ts';
import { createPrng, freshSeed, type Prng } from '../prng.ts';
import { FaultProxy, type Direction, type PartitionMode } from './fault-proxy.ts';
import { LocalCluster, type Address, type NodeStatusView } from './local-cluster.ts';

// ---------------------------------------------------------------------------------------------
// Options and results

export const CHAOS_SEED_ENV = 'FIGURE2_CHAOS_SEED';

export interface ChaosOptions {
  /** Cluster size (3 or 5 in the test). */
  readonly nodes: number;
  /** The schedule's seed; default: `FIGURE2_CHAOS_SEED`, else a fresh one (always reported). */
  readonly seed?: number | undefined;
  /** How long faults are injected while the clients run (default 15 s). */
  readonly faultMs?: number | undefined;
  /**
   * How long the clients go on once everything is healed and revived (default 1 s): writes
   * acknowledged by a healthy cluster just before the power cut, whatever the schedule did.
   */
  readonly calmMs?: number | undefined;
  /** Concurrent clients (default 6). */
  readonly clients?: number | undefined;
  /** Shared keys (default 3); witness keys come on top, one per witness write. */
  readonly keys?: number | undefined;
  readonly tickMs?: number | undefined;
  /** Local snapshot threshold of the nodes (default 64: compaction and InstallSnapshot happen). */
  readonly snapshotEntries?: number | undefined;
  /** SIGKILL every node at once after healing, and restart them all (default true). */
  readonly powerCycle?: boolean | undefined;
  /** Where the cluster lives; default a fresh directory under the OS temp dir. */
  readonly dataDir?: string | undefined;
  /** Keep the data directory: on failure only (default), always, or never. */
  readonly keepDataDir?: 'on-failure' | 'always' | 'never' | undefined;
  /** Progress lines (the seed, each fault as it fires, each phase). */
  readonly log?: ((line: string) => void) | undefined;
  /** Aborting stops the run as soon as possible; the processes are killed all the same. */
  readonly signal?: AbortSignal | undefined;
  /** Bounds on the waits (ms); see DEFAULT_LIMITS. */
  readonly limits?: Partial<ChaosLimits> | undefined;
}

export interface ChaosLimits {
  /** For a leader: at start, after healing, after the power cycle. */
  readonly leaderMs: number;
  /** One HTTP attempt. */
  readonly attemptMs: number;
  /** One client operation, all its attempts together. */
  readonly operationMs: number;
  /** Attempts per operation (redirects included). */
  readonly attempts: number;
  /** For the clients' last operations after the fault phase. */
  readonly drainMs: number;
  /** For the stale reads of every node to converge. */
  readonly convergeMs: number;
  /** For the linearizability search (wall clock). */
  readonly linearizabilityMs: number;
}

export const DEFAULT_LIMITS: ChaosLimits = Object.freeze({
  leaderMs: 20_000,
  attemptMs: 2_000,
  operationMs: 6_000,
  attempts: 40,
  drainMs: 10_000,
  convergeMs: 10_000,
  linearizabilityMs: 20_000,
});

/** What broke; each problem fails the run. */
export type ChaosRule =
  | 'lost-write'
  | 'phantom-value'
  | 'stale-divergence'
  | 'final-read'
  | 'no-leader'
  | 'not-linearizable'
  | 'linearizability-undecided'
  | 'history-error'
  | 'trace-violation'
  | 'trace-input-error'
  | 'server-error'
  | 'unexpected-response'
  | 'node-exit'
  | 'harness';

export interface ChaosProblem {
  readonly rule: ChaosRule;
  readonly message: string;
}

/** One step of the schedule as it was carried out. */
export interface AppliedStep {
  /** Milliseconds after the fault phase began (planned). */
  readonly atMs: number;
  /** When it actually fired. */
  readonly firedMs: number;
  readonly action: FaultAction;
  /** What it resolved to ("kill n2 (the leader)"). */
  readonly description: string;
}

export interface OperationStats {
  readonly invoked: number;
  readonly ok: number;
  readonly fail: number;
  readonly info: number;
  readonly byKind: Readonly<Record<ClientOperation['kind'], number>>;
  /** Writes (put, delete, cas) that completed `ok`: what the end checks hold the cluster to. */
  readonly acknowledgedWrites: number;
  /** Attempts answered 307, 503, 504, or not at all (timeout, connection error). */
  readonly redirects: number;
  readonly unavailable: number;
  readonly outcomeUnknown: number;
  readonly transportErrors: number;
}

export interface TraceCheckResult {
  readonly files: readonly string[];
  readonly events: number;
  readonly violations: readonly Violation[];
  readonly inputErrors: readonly { readonly file: string; readonly line: number; readonly path: string; readonly message: string }[];
  readonly linearizability: LinearizabilityResult;
  /** Rules checked at least once. */
  readonly rulesChecked: number;
  readonly report: CheckReport | undefined;
}

export interface ChaosResult {
  readonly seed: number;
  readonly nodes: number;
  readonly ok: boolean;
  readonly problems: readonly ChaosProblem[];
  readonly dataDir: string;
  /** Whether the data directory was kept (traces, logs, client history). */
  readonly kept: boolean;
  readonly schedule: readonly AppliedStep[];
  readonly operations: OperationStats;
  /** Keys read at the end, and their final values. */
  readonly finalValues: Readonly<Record<string, string | null>>;
  readonly linearizability: LinearizabilityResult | undefined;
  readonly traces: TraceCheckResult | undefined;
  /** Per phase, milliseconds. */
  readonly timings: Readonly<Record<string, number>>;
  /** How to replay the schedule. */
  readonly replay: string;
}

// ---------------------------------------------------------------------------------------------
// The schedule

/** Whom a fault is aimed at: the leader when the step fires, or a node drawn from the seed. */
export type Target = { readonly role: 'leader' } | { readonly node: string };

export type FaultAction =
  | { readonly kind: 'kill'; readonly target: Target }
  | { readonly kind: 'pause'; readonly target: Target }
  /** Brings back the node down longest (killed: restart; paused: SIGCONT). */
  | { readonly kind: 'revive' }
  | { readonly kind: 'isolate'; readonly target: Target; readonly mode: PartitionMode }
  | { readonly kind: 'split'; readonly minority: readonly string[]; readonly mode: PartitionMode }
  | { readonly kind: 'one-way'; readonly from: string; readonly to: string; readonly direction: Direction }
  | { readonly kind: 'delay'; readonly links: readonly Link[]; readonly delayMs: number }
  | { readonly kind: 'drop'; readonly links: readonly Link[]; readonly fraction: number }
  | { readonly kind: 'heal' };

/** A directed peer link: `from` dials `to`, and its messages to `to` travel this way. */
export interface Link {
  readonly from: string;
  readonly to: string;
}

export interface FaultStep {
  readonly atMs: number;
  readonly action: FaultAction;
}

export interface ScheduleOptions {
  readonly nodes: readonly string[];
  readonly faultMs: number;
  /** Gap between steps (default 250–1000 ms). */
  readonly gapMsMin?: number | undefined;
  readonly gapMsMax?: number | undefined;
}

const FAULT_KINDS = ['kill', 'pause', 'revive', 'isolate', 'split', 'one-way', 'delay', 'drop', 'heal'] as const;
const FAULT_WEIGHTS: Readonly<Record<(typeof FAULT_KINDS)[number], number>> = {
  kill: 2,
  pause: 1,
  revive: 2,
  isolate: 2,
  split: 1.5,
  'one-way': 1.5,
  delay: 1,
  drop: 1,
  heal: 1.5,
};

/**
 * The fault schedule of `seed`: pure, the same steps for the same seed and options. At most a
 * minority of the nodes is down (killed or paused) at any time — the planner counts them, and a
 * `revive` brings back the one down longest. Network faults pile up until a `heal`, which clears
 * every link; after each one a heal follows with probability ½, so the cluster has windows in
 * which it can make progress.
 */
export function planSchedule(seed: number, options: ScheduleOptions): FaultStep[] {
  const prng = createPrng(seed);
  const ids = options.nodes;
  const maxDown = Math.floor((ids.length - 1) / 2);
  const gapMin = options.gapMsMin ?? 250;
  const gapMax = options.gapMsMax ?? 1000;
  const steps: FaultStep[] = [];
  let down = 0;
  /** Whether some link is faulty (a heal is then worth drawing). */
  let faulty = false;
  let t = prng.int(gapMin, gapMax);
  for (let i = 0; i < 10_000 && t < options.faultMs; i++) {
    const weights = FAULT_KINDS.map((kind) => {
      if ((kind === 'kill' || kind === 'pause') && down >= maxDown) return 0;
      if (kind === 'revive') return down === 0 ? 0 : down >= maxDown ? 3 : FAULT_WEIGHTS.revive;
      if (kind === 'heal' && !faulty) return 0;
      return FAULT_WEIGHTS[kind];
    });
    const kind = FAULT_KINDS[prng.weighted(weights)] as (typeof FAULT_KINDS)[number];
    const action = drawAction(prng, kind, ids);
    if (action.kind === 'kill' || action.kind === 'pause') down++;
    if (action.kind === 'revive') down--;
    steps.push({ atMs: t, action });
    t += prng.int(gapMin, gapMax);
    faulty = action.kind !== 'heal' && (faulty || isNetworkFault(action));
    if (isNetworkFault(action) && t < options.faultMs && prng.chance(0.5)) {
      steps.push({ atMs: t, action: { kind: 'heal' } });
      faulty = false;
      t += prng.int(gapMin, gapMax);
    }
  }
  return steps;
}

function isNetworkFault(action: FaultAction): boolean {
  return action.kind === 'isolate' || action.kind === 'split' || action.kind === 'one-way' || action.kind === 'delay' || action.kind === 'drop';
}

function drawAction(prng: Prng, kind: (typeof FAULT_KINDS)[number], ids: readonly string[]): FaultAction {
  const target = (): Target => (prng.chance(0.5) ? { role: 'leader' } : { node: prng.pick(ids) });
  const mode = (): PartitionMode => (prng.chance(0.5) ? 'reset' : 'blackhole');
  const links = (): Link[] => {
    const all = allLinks(ids);
    const chosen = all.filter(() => prng.chance(0.4));
    return chosen.length > 0 ? chosen : [prng.pick(all)];
  };
  switch (kind) {
    case 'kill':
    case 'pause':
      return { kind, target: target() };
    case 'revive':
    case 'heal':
      return { kind };
    case 'isolate':
      return { kind, target: target(), mode: mode() };
    case 'split': {
      const shuffled = shuffle(prng, ids);
      return { kind, minority: shuffled.slice(0, prng.int(1, Math.floor(ids.length / 2))).sort(), mode: mode() };
    }
    case 'one-way': {
      const link = prng.pick(allLinks(ids));
      return { kind, from: link.from, to: link.to, direction: prng.chance(0.75) ? 'forward' : 'backward' };
    }
    case 'delay':
      return { kind, links: links(), delayMs: prng.int(5, 80) };
    case 'drop':
      return { kind, links: links(), fraction: prng.int(5, 40) / 100 };
  }
}

function allLinks(ids: readonly string[]): Link[] {
  return ids.flatMap((from) => ids.filter((to) => to !== from).map((to) => ({ from, to })));
}

function shuffle<T>(prng: Prng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = prng.int(0, i);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export function describeAction(action: FaultAction): string {
  const target = (t: Target): string => ('role' in t ? 'the leader' : t.node);
  const links = (ls: readonly Link[]): string => ls.map((l) => `${l.from}→${l.to}`).join(' ');
  switch (action.kind) {
    case 'kill':
    case 'pause':
      return `${action.kind} ${target(action.target)}`;
    case 'revive':
      return 'revive the node down longest';
    case 'heal':
      return 'heal every link';
    case 'isolate':
      return `isolate ${target(action.target)} (${action.mode})`;
    case 'split':
      return `split {${action.minority.join(',')}} from the rest (${action.mode})`;
    case 'one-way':
      return `cut ${action.from}→${action.to} ${action.direction}`;
    case 'delay':
      return `delay ${action.delayMs} ms on ${links(action.links)}`;
    case 'drop':
      return `drop ${Math.round(action.fraction * 100)}% on ${links(action.links)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// The proxies: one per directed link

/**
 * A FaultProxy on every directed link. Each proxy is started before the cluster, on a port of its
 * own, and learns its target when LocalCluster asks where `from` should dial `to` (the real peer
 * ports are picked inside `LocalCluster.start`): FaultProxy reads `options.target` when a
 * connection arrives, and no node dials before it is spawned with that address.
 */
export class ProxyMesh {
  private readonly proxies = new Map<string, FaultProxy>();
  private readonly targets = new Map<string, { host: string; port: number }>();

  private constructor(readonly ids: readonly string[]) {}

  static async start(ids: readonly string[], seed: number): Promise<ProxyMesh> {
    const mesh = new ProxyMesh(ids);
    let n = 0;
    try {
      for (const { from, to } of allLinks(ids)) {
        const target = { host: '127.0.0.1', port: 0 };
        const proxy = new FaultProxy({ target, seed: (seed + 7919 * ++n) >>> 0 });
        mesh.proxies.set(linkKey(from, to), proxy);
        mesh.targets.set(linkKey(from, to), target);
        await proxy.start();
      }
    } catch (error) {
      await mesh.stop();
      throw error;
    }
    return mesh;
  }

  /** LocalCluster's `peerAddressFor`. */
  readonly addressFor = (from: string, to: string, real: Address): Address => {
    const target = this.targets.get(linkKey(from, to));
    if (target === undefined) throw new Error(`no proxy for ${from}→${to}`);
    target.host = real.host;
    target.port = real.port;
    return this.link(from, to).address();
  };

  link(from: string, to: string): FaultProxy {
    const proxy = this.proxies.get(linkKey(from, to));
    if (proxy === undefined) throw new Error(`no proxy for ${from}→${to}`);
    return proxy;
  }

  /** Partitions every link between `group` and the other nodes, both ways. */
  split(group: readonly string[], mode: PartitionMode): void {
    for (const a of group) {
      for (const b of this.ids) {
        if (group.includes(b)) continue;
        this.link(a, b).partition(mode);
        this.link(b, a).partition(mode);
      }
    }
  }

  healAll(): void {
    for (const proxy of this.proxies.values()) proxy.heal();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.proxies.values()].map((p) => p.stop().catch(() => {})));
  }

  /** Frames dropped and forwarded over every link. */
  totals(): { forwarded: number; dropped: number } {
    let forwarded = 0;
    let dropped = 0;
    for (const proxy of this.proxies.values()) {
      const s = proxy.stats();
      forwarded += s.forwarded.forward + s.forwarded.backward;
      dropped += s.dropped.forward + s.dropped.backward;
    }
    return { forwarded, dropped };
  }
}

const linkKey = (from: string, to: string): string => `${from}>${to}`;

// ---------------------------------------------------------------------------------------------
// The client history

/** A v1 client event as the chaos clients record it (with `ts`). */
export type ClientEvent = Extract<TraceEvent, { ev: 'invoke' | 'ok' | 'fail' | 'info' }>;

/** The history, in the order things happened in this process (which is also `ts` order). */
export class ClientHistory {
  readonly events: ClientEvent[] = [];
  private lastTs = 0;

  invoke(client: string, opId: number, op: ClientOperation): void {
    this.push({ ev: 'invoke', client, opId, op });
  }

  complete(event: { ev: 'ok'; client: string; opId: number; value?: string | null } | { ev: 'fail'; client: string; opId: number; error: string } | { ev: 'info'; client: string; opId: number; error: string }): void {
    this.push(event);
  }

  private push(event: ClientEvent): void {
    const ts = Math.max(this.lastTs, Math.round(wallClockMs() * 1000) / 1000);
    this.lastTs = ts;
    this.events.push({ ...event, ts } as ClientEvent);
  }
}

const wallClockMs = (): number => performance.timeOrigin + performance.now();

export const CLIENTS_TRACE_FILE = 'clients.trace.ndjson';

/** The history as located events (line 2 on: line 1 of the file is its header). */
export function locateHistory(events: readonly ClientEvent[], file = CLIENTS_TRACE_FILE): LocatedEvent[] {
  return events.map((event, i) => ({ file, line: i + 2, event }));
}

// ---------------------------------------------------------------------------------------------
// The clients

type Outcome = { readonly ev: 'ok'; readonly value?: string | null } | { readonly ev: 'fail'; readonly error: string } | { readonly ev: 'info'; readonly error: string };

interface ClientContext {
  readonly urls: Readonly<Record<string, string>>;
  readonly ids: readonly string[];
  readonly history: ClientHistory;
  readonly limits: ChaosLimits;
  readonly signal: AbortSignal;
  readonly stats: { redirects: number; unavailable: number; outcomeUnknown: number; transportErrors: number };
  readonly problem: (rule: ChaosRule, message: string) => void;
}

/** One attempt's answer, classified. */
type Answer =
  | { readonly kind: 'done'; readonly outcome: Outcome }
  | { readonly kind: 'redirect'; readonly leader: string | undefined }
  | { readonly kind: 'retry'; readonly why: string };

/**
 * A client: one operation at a time, each with a fresh opId; writes carry the client's session
 * and an increasing seq, and every retry of a write resends the same seq (CL-ONCE makes that safe).
 * Giving up is always `info`: an attempt that got no answer may have taken effect.
 */
class ChaosClient {
  private opId = 0;
  private seq = 0;
  private preferred: string;
  /** The last value this client saw per key, for the `expected` of its cas. */
  private readonly known = new Map<string, string | null>();

  constructor(
    readonly id: string,
    private readonly ctx: ClientContext,
    private readonly prng: Prng,
    private readonly keys: readonly string[],
  ) {
    this.preferred = prng.pick(ctx.ids);
  }

  /** Runs operations until `stop()` says so; each operation is bounded on its own. */
  async run(stop: () => boolean): Promise<void> {
    for (let i = 0; i < 1_000_000 && !stop() && !this.ctx.signal.aborted; i++) {
      await this.execute(this.nextOperation());
      await sleep(this.prng.int(0, 10), this.ctx.signal);
    }
  }

  private nextOperation(): ClientOperation {
    const key = this.prng.pick(this.keys);
    const value = `${this.id}:${this.opId + 1}`;
    const choice = this.prng.weighted([35, 30, 18, 4, 13]);
    switch (choice) {
      case 0:
        return { kind: 'get', key };
      case 1:
        return { kind: 'put', key, value };
      case 2:
        return { kind: 'cas', key, expected: this.prng.chance(0.15) ? null : (this.known.get(key) ?? null), value };
      case 3:
        return { kind: 'delete', key };
      default:
        return { kind: 'put', key: `w-${value}`, value };
    }
  }

  /** Invokes `op`, retries it within the limits, records its completion; returns the outcome. */
  async execute(op: ClientOperation): Promise<Outcome> {
    const opId = ++this.opId;
    const seq = op.kind === 'get' ? undefined : ++this.seq;
    this.ctx.history.invoke(this.id, opId, op);
    const outcome = await this.attempts(op, seq);
    this.ctx.history.complete({ client: this.id, opId, ...outcome });
    if (outcome.ev === 'ok') this.learn(op, outcome.value);
    return outcome;
  }

  private learn(op: ClientOperation, value: string | null | undefined): void {
    if (op.kind === 'get') this.known.set(op.key, value ?? null);
    else if (op.kind === 'delete') this.known.set(op.key, null);
    else this.known.set(op.key, op.value);
  }

  private async attempts(op: ClientOperation, seq: number | undefined): Promise<Outcome> {
    const deadline = Date.now() + this.ctx.limits.operationMs;
    let node = this.preferred;
    let last = 'no attempt made';
    for (let attempt = 0; attempt < this.ctx.limits.attempts && Date.now() < deadline && !this.ctx.signal.aborted; attempt++) {
      const answer = await this.attempt(node, op, seq, Math.min(this.ctx.limits.attemptMs, Math.max(1, deadline - Date.now())));
      if (answer.kind === 'done') {
        this.preferred = node;
        return answer.outcome;
      }
      if (answer.kind === 'redirect') {
        this.ctx.stats.redirects++;
        node = answer.leader !== undefined && this.ctx.urls[answer.leader] !== undefined ? answer.leader : this.other(node);
        last = `redirected to ${answer.leader ?? '?'}`;
        continue;
      }
      last = answer.why;
      node = this.other(node);
      await sleep(this.prng.int(10, 60), this.ctx.signal);
    }
    return { ev: 'info', error: `gave up: ${last}` };
  }

  private other(node: string): string {
    const others = this.ctx.ids.filter((id) => id !== node);
    return others.length === 0 ? node : this.prng.pick(others);
  }

  private async attempt(node: string, op: ClientOperation, seq: number | undefined, timeoutMs: number): Promise<Answer> {
    const base = this.ctx.urls[node] as string;
    const path = `/kv/${encodeURIComponent(op.key)}`;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (seq !== undefined) {
      headers['x-client-id'] = this.id;
      headers['x-client-seq'] = String(seq);
    }
    const request: { method: string; url: string; body?: string } =
      op.kind === 'get'
        ? { method: 'GET', url: `${base}${path}` }
        : op.kind === 'put'
          ? { method: 'PUT', url: `${base}${path}`, body: JSON.stringify({ value: op.value }) }
          : op.kind === 'delete'
            ? { method: 'DELETE', url: `${base}${path}` }
            : { method: 'POST', url: `${base}${path}/cas`, body: JSON.stringify({ expected: op.expected, value: op.value }) };
    let status: number;
    let body: Record<string, unknown>;
    try {
      const res = await fetch(request.url, {
        method: request.method,
        headers,
        ...(request.body === undefined ? {} : { body: request.body }),
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.ctx.signal]),
      });
      status = res.status;
      const text = await res.text();
      body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    } catch (error) {
      this.ctx.stats.transportErrors++;
      return { kind: 'retry', why: `${node}: ${errorText(error)}` };
    }
    return this.classify(node, op, status, body);
  }

  private classify(node: string, op: ClientOperation, status: number, body: Record<string, unknown>): Answer {
    const error = typeof body['error'] === 'string' ? body['error'] : undefined;
    if (status === 200) {
      if (op.kind !== 'get') return { kind: 'done', outcome: { ev: 'ok' } };
      const value = body['value'];
      if (typeof value === 'string') return { kind: 'done', outcome: { ev: 'ok', value } };
    }
    if (status === 404 && op.kind === 'get' && error === 'not-found') return { kind: 'done', outcome: { ev: 'ok', value: null } };
    if (status === 409 && op.kind === 'cas' && error === 'cas-mismatch') {
      const current = body['current'];
      this.known.set(op.key, typeof current === 'string' ? current : null);
      return { kind: 'done', outcome: { ev: 'fail', error: 'cas-mismatch' } };
    }
    if (status === 307) {
      const leader = typeof body['leader'] === 'string' ? body['leader'] : undefined;
      return { kind: 'redirect', leader };
    }
    if (status === 503) {
      this.ctx.stats.unavailable++;
      return { kind: 'retry', why: `${node}: 503 ${error ?? ''}` };
    }
    if (status === 504) {
      this.ctx.stats.outcomeUnknown++;
      return { kind: 'retry', why: `${node}: 504 ${error ?? ''}` };
    }
    // Anything else is a bug on one side or the other: the outcome is unknown, and it is reported.
    const what = `${node} answered ${describeOp(op)} with ${status} ${JSON.stringify(body).slice(0, 300)}`;
    this.ctx.problem(status >= 500 ? 'server-error' : 'unexpected-response', `client ${this.id}: ${what}`);
    return { kind: 'done', outcome: { ev: 'info', error: `unexpected ${status}` } };
  }
}

function describeOp(op: ClientOperation): string {
  switch (op.kind) {
    case 'get':
      return `get ${op.key}`;
    case 'put':
      return `put ${op.key}=${JSON.stringify(op.value)}`;
    case 'delete':
      return `delete ${op.key}`;
    case 'cas':
      return `cas ${op.key} ${JSON.stringify(op.expected)}→${JSON.stringify(op.value)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// The final check (pure): is every acknowledged write accounted for, on every node?

export interface FinalObservation {
  /** The last linearizable read of each key through the leader (null: absent). Missing: not read. */
  readonly leaderValues: Readonly<Record<string, string | null>>;
  /** Each node's stale read of each key, the last poll's. */
  readonly nodeValues: Readonly<Record<string, Readonly<Record<string, string | null>>>>;
}

/** An operation of the history with its interval (positions in the event list). */
interface Op {
  readonly client: string;
  readonly opId: string | number;
  readonly op: ClientOperation;
  readonly call: number;
  readonly callTs: number;
  /** The completion, if any. */
  readonly status: 'ok' | 'fail' | 'info' | 'pending';
  readonly ret: number | undefined;
  readonly retTs: number | undefined;
}

function pairOperations(events: readonly ClientEvent[]): Op[] {
  const open = new Map<string, { client: string; opId: string | number; op: ClientOperation; call: number; callTs: number }>();
  const ops: Op[] = [];
  events.forEach((e, position) => {
    const key = `${String(e.client)}#${String(e.opId)}`;
    if (e.ev === 'invoke') {
      open.set(key, { client: String(e.client), opId: e.opId, op: e.op, call: position, callTs: e.ts ?? position });
      return;
    }
    const o = open.get(key);
    if (o === undefined) return;
    open.delete(key);
    ops.push({ ...o, status: e.ev, ret: position, retTs: e.ts ?? position });
  });
  for (const o of open.values()) ops.push({ ...o, status: 'pending', ret: undefined, retTs: undefined });
  return ops.sort((a, b) => a.call - b.call);
}

/** The value a write leaves behind when it takes effect (null: a delete). */
function written(op: ClientOperation): string | null | undefined {
  if (op.kind === 'put' || op.kind === 'cas') return op.value;
  if (op.kind === 'delete') return null;
  return undefined;
}

/**
 * The end-state rules, from the history and what the nodes answered at the end:
 *
 * - `final-read`: every key the history writes was read through the leader at the end;
 * - `phantom-value`: a key's final value was written by some put or cas that may have taken
 *   effect (ok, info or pending) — values are unique, so a value nobody wrote is invented;
 * - `lost-write`: every acknowledged (ok) write is accounted for — the key's final value is its
 *   own, or was written by an operation that may have taken effect after it (one that had not
 *   completed before the acknowledged write was invoked). Otherwise the write is gone;
 * - `stale-divergence`: every node's stale read equals the leader's final value.
 *
 * It relies on unique values (`<client>:<opId>`); it is a necessary condition of linearizability
 * (which `checkClientHistory` decides in full), stated per write so that a failure names the write.
 */
export function checkFinal(events: readonly ClientEvent[], observation: FinalObservation): ChaosProblem[] {
  const ops = pairOperations(events);
  const byKey = new Map<string, Op[]>();
  for (const o of ops) byKey.set(o.op.key, [...(byKey.get(o.op.key) ?? []), o]);
  const problems: ChaosProblem[] = [];
  for (const [key, keyOps] of [...byKey].sort(([a], [b]) => compareStrings(a, b))) {
    const writes = keyOps.filter((o) => written(o.op) !== undefined && o.status !== 'fail');
    if (writes.length === 0) continue;
    if (!Object.hasOwn(observation.leaderValues, key)) {
      problems.push({ rule: 'final-read', message: `key ${JSON.stringify(key)} was never read through the leader at the end, so its ${writes.length} writes cannot be accounted for` });
      continue;
    }
    problems.push(...unaccountedWrites(key, writes, observation.leaderValues[key] ?? null));
  }
  // Every node must hold what the leader holds.
  for (const [node, values] of Object.entries(observation.nodeValues).sort(([a], [b]) => compareStrings(a, b))) {
    for (const [key, final] of Object.entries(observation.leaderValues).sort(([a], [b]) => compareStrings(a, b))) {
      const seen = Object.hasOwn(values, key) ? values[key] : undefined;
      if (seen === final) continue;
      const ack = ops.find((o) => o.status === 'ok' && o.op.key === key && written(o.op) === final);
      const shown = seen === undefined ? '(not read)' : JSON.stringify(seen);
      problems.push({
        rule: 'stale-divergence',
        message: `${node} holds ${key}=${shown} (stale read) but the leader reads ${JSON.stringify(final)}${ack === undefined ? '' : ` — the acknowledged write ${describeHistoryOp(ack)} is missing there`}`,
      });
    }
  }
  return problems;
}

/** `phantom-value` and `lost-write` for one key whose final value is `final`. */
function unaccountedWrites(key: string, writes: readonly Op[], final: string | null): ChaosProblem[] {
  // The writes that could have left `final` behind (for null: a delete, or nobody at all).
  const authors = writes.filter((o) => written(o.op) === final);
  if (final !== null && authors.length === 0) {
    return [{ rule: 'phantom-value', message: `key ${JSON.stringify(key)} reads ${JSON.stringify(final)} through the leader at the end, a value no client wrote` }];
  }
  const problems: ChaosProblem[] = [];
  for (const x of writes) {
    if (x.status !== 'ok' || written(x.op) === final) continue;
    // An author may have taken effect after x only if it had not completed before x was invoked.
    if (authors.some((w) => w.status !== 'ok' || (w.ret as number) > x.call)) continue;
    const why =
      authors.length === 0
        ? 'no delete could have come after it'
        : `that value was written by ${authors.map(describeHistoryOp).join('; ')}, completed before the lost write was invoked`;
    problems.push({
      rule: 'lost-write',
      message: `acknowledged write lost on key ${JSON.stringify(key)}: ${describeHistoryOp(x)}; the leader reads ${JSON.stringify(final)} at the end — ${why}`,
    });
  }
  return problems;
}

function describeHistoryOp(o: Op): string {
  const completed = o.retTs === undefined ? '' : `, completed ${isoTime(o.retTs)}`;
  return `client ${o.client} op ${String(o.opId)}: ${describeOp(o.op)} [${o.status}, invoked ${isoTime(o.callTs)}${completed}]`;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isoTime(ts: number): string {
  return Number.isFinite(ts) && ts > 1e12 ? new Date(ts).toISOString().slice(11, 23) : String(ts);
}

// ---------------------------------------------------------------------------------------------
// The trace check, as `figure2 check --merge` does it

/**
 * Merges per-node trace files by `ts` (traces/merge.ts) and runs the trace checker over them,
 * with CL-LIN over whatever client events they hold — what `figure2 check --merge FILES` does,
 * without its reporting. Reader, merge and checker input errors are returned, never thrown.
 */
export async function checkTraceFiles(files: readonly string[], options: { readonly linearizabilityMs?: number } = {}): Promise<TraceCheckResult> {
  const historyErrors: TraceCheckResult['inputErrors'][number][] = [];
  // What `figure2 check --merge` does: the per-node files merged by ts, then checkTrace.
  const merged = mergeByTs(files.map((file) => ({ file, lines: readTraceBatches(createReadStream(file)) })));
  const outcome = await checkTrace([{ file: files[0] ?? 'merged', lines: merged }], {
    linearizability: {},
    linearizabilityChecker: (events) => {
      const checked = checkClientHistory(events, { now: () => performance.now(), deadlineMs: options.linearizabilityMs ?? DEFAULT_LIMITS.linearizabilityMs });
      for (const e of checked.errors) historyErrors.push({ file: e.file, line: e.line, path: '$', message: e.message });
      return checked.result;
    },
  });
  if (outcome.kind === 'input-errors') {
    return { files, events: 0, violations: [], inputErrors: [...outcome.errors], linearizability: { verdict: 'no-history' }, rulesChecked: 0, report: undefined };
  }
  const report = outcome.report;
  return {
    files,
    events: report.events,
    violations: report.violations,
    inputErrors: historyErrors,
    linearizability: report.linearizability,
    rulesChecked: report.coverage.filter((c) => c.checked > 0).length,
    report,
  };
}

/** One violation as the failure message shows it: rule, place, message, the events that led to it. */
export function describeTraceViolation(v: Violation, contextLines = 4): string {
  const context = v.context
    .slice(-contextLines)
    .map((e) => `      ${e.file}:${e.line} ${JSON.stringify(e.event).slice(0, 240)}`)
    .join('\n');
  return `${v.rule} at ${v.at.file}:${v.at.line}${v.node === undefined ? '' : ` (${v.node})`}: ${v.message}${context === '' ? '' : `\n${context}`}`;
}

// ---------------------------------------------------------------------------------------------
// The run

interface DownNode {
  readonly id: string;
  readonly how: 'killed' | 'paused';
}

/** Runs the chaos test once; never throws for what it finds (see `problems`), only for a broken setup. */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  return new ChaosRun(options).run();
}

/** One run: its phases in order, each bounded, then the checks (see the file comment). */
class ChaosRun {
  readonly seed: number;
  readonly ids: readonly string[];
  readonly dataDir: string;
  private readonly limits: ChaosLimits;
  private readonly faultMs: number;
  private readonly powerCycle: boolean;
  private readonly abort = new AbortController();
  private readonly signal = this.abort.signal;
  private readonly problems: ChaosProblem[] = [];
  private readonly timings: Record<string, number> = {};
  private readonly started = performance.now();
  private phaseStart = this.started;
  private readonly schedule: readonly FaultStep[];
  private readonly applied: AppliedStep[] = [];
  private readonly history = new ClientHistory();
  private readonly stats = { redirects: 0, unavailable: 0, outcomeUnknown: 0, transportErrors: 0 };
  private readonly finalValues: Record<string, string | null> = {};
  private linearizability: LinearizabilityResult | undefined;
  private traces: TraceCheckResult | undefined;
  private mesh: ProxyMesh | undefined;
  private cluster: LocalCluster | undefined;
  private readonly down: DownNode[] = [];
  /** Exits we caused (kill, power cut); any other is a node dying on its own. */
  private readonly expectedExits = new Map<string, number>();
  private stopping = false;

  constructor(private readonly options: ChaosOptions) {
    this.seed = options.seed ?? seedFromEnv() ?? freshSeed();
    this.limits = { ...DEFAULT_LIMITS, ...definedOnly(options.limits ?? {}) };
    this.ids = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
    this.faultMs = options.faultMs ?? 15_000;
    this.powerCycle = options.powerCycle ?? true;
    this.dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), `figure2-chaos-n${options.nodes}-s${this.seed}-`));
    mkdirSync(this.dataDir, { recursive: true });
    this.schedule = planSchedule(this.seed, { nodes: this.ids, faultMs: this.faultMs });
  }

  async run(): Promise<ChaosResult> {
    const outer = this.options.signal;
    const onOuterAbort = (): void => this.abort.abort();
    outer?.addEventListener('abort', onOuterAbort);
    if (outer?.aborted === true) this.abort.abort();
    this.say(`seed ${this.seed} — replay the schedule with ${CHAOS_SEED_ENV}=${this.seed}; data in ${this.dataDir}`);
    this.say(`schedule: ${this.schedule.length} steps over ${this.faultMs} ms`);
    try {
      const cluster = await this.start();
      const clients = await this.faults(cluster);
      await this.recover(cluster, clients);
      await this.finalReads(cluster);
      this.checkHistory();
    } catch (error) {
      if (!(error instanceof HarnessStop) && !this.signal.aborted) this.problem('harness', `the run stopped: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    } finally {
      await this.stop();
      outer?.removeEventListener('abort', onOuterAbort);
    }
    this.phase('stop');
    if (this.signal.aborted) this.problem('harness', 'the run was aborted before its checks were done');
    else await this.checkTraces();
    return this.result();
  }

  // --- phases ---------------------------------------------------------------------------------

  /** Proxies, then the cluster behind them; a leader. */
  private async start(): Promise<LocalCluster> {
    const mesh = await ProxyMesh.start(this.ids, this.seed);
    this.mesh = mesh;
    const cluster = await LocalCluster.start({
      nodes: this.ids.length,
      dataDir: this.dataDir,
      basePort: 0,
      trace: true,
      tickMs: this.options.tickMs,
      snapshotEntries: this.options.snapshotEntries ?? 64,
      peerAddressFor: mesh.addressFor,
      onExit: (id, how) => this.exited(id, how),
    });
    this.cluster = cluster;
    if ((await waitForLeader(cluster, this.limits.leaderMs, this.signal)) === undefined) {
      this.stopIfAborted();
      this.problem('no-leader', `no leader within ${this.limits.leaderMs} ms of starting the cluster`);
      throw new HarnessStop();
    }
    this.phase('start');
    return cluster;
  }

  /** The clients run while the schedule's steps fire, each at its time; returns the clients' runs. */
  private async faults(cluster: LocalCluster): Promise<{ readonly stop: () => void; readonly done: Promise<unknown> }> {
    const keys = Array.from({ length: this.options.keys ?? 3 }, (_, i) => `k${i}`);
    const ctx = this.clientContext(cluster);
    const clients = Array.from({ length: this.options.clients ?? 6 }, (_, i) => new ChaosClient(`c${i + 1}`, ctx, createPrng((this.seed ^ 0x5bd1e995) + i), keys));
    let stopped = false;
    const done = Promise.all(clients.map((client) => client.run(() => stopped)));
    const runtime = createPrng(this.seed ^ 0x27d4eb2f);
    const mesh = this.mesh as ProxyMesh;
    const faultStart = performance.now();
    for (const step of this.schedule) {
      if (this.signal.aborted) break;
      await sleep(Math.max(0, faultStart + step.atMs - performance.now()), this.signal);
      const description = await applyStep(step.action, { cluster, mesh, runtime, down: this.down, kill: (id) => this.kill(id), signal: this.signal });
      const firedMs = Math.round(performance.now() - faultStart);
      this.applied.push({ atMs: step.atMs, firedMs, action: step.action, description });
      this.say(`+${(firedMs / 1000).toFixed(2)}s ${description}`);
    }
    await sleep(Math.max(0, faultStart + this.faultMs - performance.now()), this.signal);
    this.phase('faults');
    return { stop: () => (stopped = true), done };
  }

  /** Heal every link, revive every node, a calm moment, let the clients finish; the power cut; a leader. */
  private async recover(cluster: LocalCluster, clients: { readonly stop: () => void; readonly done: Promise<unknown> }): Promise<void> {
    this.stopIfAborted();
    this.mesh?.healAll();
    for (const d of this.down.splice(0)) {
      if (d.how === 'paused') signalNode(cluster, d.id, 'SIGCONT');
      else if (!cluster.isUp(d.id)) cluster.restart(d.id);
    }
    this.say('healed every link, revived every node; the clients go on a little, then finish');
    await sleep(this.options.calmMs ?? 1000, this.signal);
    clients.stop();
    const drainMs = this.limits.drainMs + this.limits.operationMs;
    if (!(await withDeadline(clients.done, drainMs, this.signal))) this.problem('harness', `the clients did not finish within ${drainMs} ms of the faults ending`);
    this.phase('drain');
    this.stopIfAborted();
    if (this.powerCycle) {
      this.say('power cut: SIGKILL every node, then restart them all');
      await Promise.all(this.ids.map((id) => this.kill(id)));
      for (const id of this.ids) cluster.restart(id);
    }
    const leader = await waitForLeader(cluster, this.limits.leaderMs, this.signal);
    this.stopIfAborted();
    if (leader === undefined) {
      this.problem('no-leader', `no leader within ${this.limits.leaderMs} ms of healing${this.powerCycle ? ' and restarting every node' : ''}`);
      throw new HarnessStop();
    }
    this.say(`leader ${leader.id} in term ${leader.currentTerm}`);
    this.phase('recover');
  }

  /**
   * Every written key read through the leader (by a few readers, clients of the history like the
   * others), then every node's stale reads polled until they agree; then the end-state rules.
   */
  private async finalReads(cluster: LocalCluster): Promise<void> {
    const writtenKeys = [...new Set(this.history.events.flatMap((e) => (e.ev === 'invoke' && e.op.kind !== 'get' ? [e.op.key] : [])))].sort();
    const ctx = this.clientContext(cluster);
    const readers = Array.from({ length: FINAL_READERS }, (_, i) => new ChaosClient(`final${i + 1}`, ctx, createPrng((this.seed ^ 0x165667b1) + i), []));
    const leaderValues: Record<string, string | null> = {};
    await Promise.all(
      readers.map(async (reader, r) => {
        for (let i = r; i < writtenKeys.length && !this.signal.aborted; i += readers.length) {
          const key = writtenKeys[i] as string;
          const outcome = await reader.execute({ kind: 'get', key });
          if (outcome.ev === 'ok') leaderValues[key] = outcome.value ?? null;
          else this.problem('final-read', `the final linearizable read of ${JSON.stringify(key)} failed: ${outcome.error}`);
        }
      }),
    );
    Object.assign(this.finalValues, leaderValues);
    const nodeValues = await pollConvergence(cluster, this.ids, leaderValues, this.limits.convergeMs, this.signal);
    this.phase('final-reads');
    this.stopIfAborted();
    for (const p of checkFinal(this.history.events, { leaderValues, nodeValues })) this.problem(p.rule, p.message);
  }

  /** CL-LIN over the client history, final reads included. */
  private checkHistory(): void {
    const lin = checkClientHistory(locateHistory(this.history.events), { now: () => performance.now(), deadlineMs: this.limits.linearizabilityMs });
    this.linearizability = lin.result;
    for (const e of lin.errors.slice(0, 10)) this.problem('history-error', `${e.file}:${e.line}: ${e.message}`);
    if (lin.result.verdict === 'not-linearizable') {
      this.problem('not-linearizable', `${lin.result.message ?? ''} (events: ${(lin.result.operations ?? []).map((o) => `${o.file}:${o.line}`).join(', ')})`);
    }
    if (lin.result.verdict === 'unknown') this.problem('linearizability-undecided', lin.result.message ?? 'the linearizability search ran out of budget');
    this.phase('linearizability');
  }

  /** Writes the client history next to the traces; stops every node and proxy, whatever happened. */
  private async stop(): Promise<void> {
    this.stopping = true;
    writeClientTrace(join(this.dataDir, CLIENTS_TRACE_FILE), this.ids, this.history.events);
    const cluster = this.cluster;
    if (cluster !== undefined) {
      for (const d of this.down) signalNode(cluster, d.id, 'SIGCONT');
      await cluster.stop(2000).catch(() => {});
      // Belt and braces: nothing we started may outlive the run.
      for (const id of this.ids) signalNode(cluster, id, 'SIGKILL');
    }
    await this.mesh?.stop();
  }

  /** The per-node traces and the client history, merged by ts and checked. */
  private async checkTraces(): Promise<void> {
    const cluster = this.cluster;
    if (cluster === undefined) return;
    const files = [...this.ids.map((id) => cluster.tracePath(id)), join(this.dataDir, CLIENTS_TRACE_FILE)];
    try {
      const traces = await checkTraceFiles(files, { linearizabilityMs: this.limits.linearizabilityMs });
      this.traces = traces;
      for (const e of traces.inputErrors) this.problem('trace-input-error', `${e.file}:${e.line}: ${e.path}: ${e.message}`);
      for (const v of traces.violations) this.problem('trace-violation', describeTraceViolation(v));
      if (traces.linearizability.verdict === 'not-linearizable') this.problem('not-linearizable', `merged trace: ${traces.linearizability.message ?? ''}`);
    } catch (error) {
      this.problem('harness', `the trace check failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.phase('trace-check');
  }

  private result(): ChaosResult {
    this.timings['total'] = Math.round(performance.now() - this.started);
    const ok = this.problems.length === 0;
    const keep = this.options.keepDataDir ?? 'on-failure';
    const kept = keep === 'always' || (keep === 'on-failure' && !ok);
    if (!kept) rmSync(this.dataDir, { recursive: true, force: true });
    const operations = operationStats(this.history.events, this.stats);
    this.say(
      `${ok ? 'passed' : `FAILED (${this.problems.length} problems)`}: ${operations.invoked} operations (${operations.ok} ok, ${operations.fail} fail, ${operations.info} info), ` +
        `${this.traces?.events ?? 0} trace events, ${this.mesh?.totals().dropped ?? 0} frames dropped; ${JSON.stringify(this.timings)}${ok ? '' : `; data kept in ${this.dataDir}`}`,
    );
    return {
      seed: this.seed,
      nodes: this.ids.length,
      ok,
      problems: this.problems,
      dataDir: this.dataDir,
      kept,
      schedule: this.applied,
      operations,
      finalValues: this.finalValues,
      linearizability: this.linearizability,
      traces: this.traces,
      timings: this.timings,
      replay: `${CHAOS_SEED_ENV}=${this.seed} npx vitest run test/conformance/chaos (replays the fault schedule, not the timing)`,
    };
  }

  // --- helpers --------------------------------------------------------------------------------

  private clientContext(cluster: LocalCluster): ClientContext {
    const urls = Object.fromEntries(this.ids.map((id) => [id, cluster.clientUrl(id)]));
    return { urls, ids: this.ids, history: this.history, limits: this.limits, signal: this.signal, stats: this.stats, problem: (rule, message) => this.problem(rule, message) };
  }

  /** SIGKILL, counted as expected; a paused process is continued first, so that none is ever left stopped. */
  private async kill(id: string): Promise<void> {
    const cluster = this.cluster;
    if (cluster === undefined || !cluster.isUp(id)) return;
    this.expectedExits.set(id, (this.expectedExits.get(id) ?? 0) + 1);
    signalNode(cluster, id, 'SIGCONT');
    await cluster.kill(id);
  }

  private exited(id: string, how: string): void {
    const expected = this.expectedExits.get(id) ?? 0;
    if (expected > 0) this.expectedExits.set(id, expected - 1);
    else if (!this.stopping) {
      const log = join(this.dataDir, `${id}.log`);
      this.problem('node-exit', `${id} exited on its own (${how}); the end of its log ${log}: ${logTail(log)}`);
    }
  }

  /** An aborted run skips the rest: no restarts, no checks, straight to `stop`. */
  private stopIfAborted(): void {
    if (this.signal.aborted) throw new HarnessStop();
  }

  private problem(rule: ChaosRule, message: string): void {
    if (this.problems.filter((p) => p.rule === rule).length < 50) this.problems.push({ rule, message });
  }

  private phase(name: string): void {
    const now = performance.now();
    this.timings[name] = Math.round(now - this.phaseStart);
    this.phaseStart = now;
  }

  private say(line: string): void {
    this.options.log?.(`[chaos ${this.ids.length} nodes, seed ${this.seed}] ${line}`);
  }
}

/** Clients reading every key through the leader at the end. */
const FINAL_READERS = 4;

/** Thrown to end the run early after recording the problem (no leader). */
class HarnessStop extends Error {}

interface StepContext {
  readonly cluster: LocalCluster;
  readonly mesh: ProxyMesh;
  readonly runtime: Prng;
  readonly down: DownNode[];
  readonly kill: (id: string) => Promise<void>;
  readonly signal: AbortSignal;
}

/** Carries out one step; returns what it did, with roles resolved. */
async function applyStep(action: FaultAction, s: StepContext): Promise<string> {
  const { cluster, mesh, runtime, down } = s;
  const isDown = (id: string): boolean => down.some((d) => d.id === id);
  const resolve = async (target: Target): Promise<{ id: string; why: string }> => {
    if ('node' in target) return { id: target.node, why: '' };
    const leader = await quickLeader(cluster, mesh.ids.filter((id) => !isDown(id)), s.signal);
    if (leader !== undefined) return { id: leader, why: ' (the leader)' };
    const up = mesh.ids.filter((id) => !isDown(id));
    return { id: runtime.pick(up.length > 0 ? up : mesh.ids), why: ' (no leader known: a random node)' };
  };
  switch (action.kind) {
    case 'kill':
    case 'pause': {
      let { id, why } = await resolve(action.target);
      if (isDown(id)) {
        // The planner keeps a majority up by count; the node it names may be one already down.
        const up = mesh.ids.filter((x) => !isDown(x));
        id = runtime.pick(up);
        why = ' (the node named was down: another one)';
      }
      if (action.kind === 'kill') await s.kill(id);
      else signalNode(cluster, id, 'SIGSTOP');
      down.push({ id, how: action.kind === 'kill' ? 'killed' : 'paused' });
      return `${action.kind} ${id}${why}`;
    }
    case 'revive': {
      const d = down.shift();
      if (d === undefined) return 'revive: nothing down';
      if (d.how === 'paused') {
        signalNode(cluster, d.id, 'SIGCONT');
        return `resume ${d.id}`;
      }
      if (!cluster.isUp(d.id)) cluster.restart(d.id);
      return `restart ${d.id}`;
    }
    case 'heal':
      mesh.healAll();
      return 'heal every link';
    case 'isolate': {
      const { id, why } = await resolve(action.target);
      mesh.split([id], action.mode);
      return `isolate ${id}${why} (${action.mode})`;
    }
    case 'split':
      mesh.split(action.minority, action.mode);
      return describeAction(action);
    case 'one-way':
      mesh.link(action.from, action.to).cut(action.direction);
      return describeAction(action);
    case 'delay':
      for (const l of action.links) mesh.link(l.from, l.to).delay(action.delayMs);
      return describeAction(action);
    case 'drop':
      for (const l of action.links) mesh.link(l.from, l.to).dropFraction(action.fraction);
      return describeAction(action);
  }
}

/** The leader among `ids`, asking each briefly (a paused node must not hold the schedule up). */
async function quickLeader(cluster: LocalCluster, ids: readonly string[], signal: AbortSignal): Promise<string | undefined> {
  if (signal.aborted) return undefined;
  const all = await Promise.all(ids.map((id) => cluster.status(id, 300)));
  return all.filter((st): st is NodeStatusView => st?.role === 'leader').sort((a, b) => b.currentTerm - a.currentTerm)[0]?.id;
}

/** The node that says it leads in the highest term, polled until `timeoutMs`. */
async function waitForLeader(cluster: LocalCluster, timeoutMs: number, signal: AbortSignal): Promise<NodeStatusView | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !signal.aborted) {
    const leader = await cluster.leader();
    if (leader !== undefined) return leader;
    await sleep(100, signal);
  }
  return undefined;
}

/**
 * Polls every node's stale reads of `keys` until each equals the leader's value, or `timeoutMs`
 * passes; returns the last values read (a key a node did not answer for is left out).
 */
async function pollConvergence(
  cluster: LocalCluster,
  ids: readonly string[],
  leaderValues: Readonly<Record<string, string | null>>,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Record<string, Record<string, string | null>>> {
  const seen: Record<string, Record<string, string | null>> = Object.fromEntries(ids.map((id) => [id, {}]));
  const keys = Object.keys(leaderValues);
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; round < 10_000 && !signal.aborted; round++) {
    const pending = await Promise.all(
      ids.map(async (id) => {
        const values = seen[id] as Record<string, string | null>;
        const todo = keys.filter((k) => !Object.hasOwn(values, k) || values[k] !== leaderValues[k]);
        await mapLimit(todo, 4, async (key) => {
          const value = await staleRead(cluster.clientUrl(id), key, signal);
          if (value !== undefined) values[key] = value;
        });
        return keys.filter((k) => values[k] !== leaderValues[k]).length;
      }),
    );
    if (pending.every((p) => p === 0) || Date.now() >= deadline) break;
    await sleep(200, signal);
  }
  return seen;
}

/** `GET /kv/key?stale=true`: the value, null when absent, undefined when the node did not answer. */
async function staleRead(base: string, key: string, signal: AbortSignal): Promise<string | null | undefined> {
  try {
    const res = await fetch(`${base}/kv/${encodeURIComponent(key)}?stale=true`, { signal: AbortSignal.any([AbortSignal.timeout(2000), signal]) });
    const body = (await res.json()) as Record<string, unknown>;
    if (res.status === 200 && typeof body['value'] === 'string') return body['value'];
    if (res.status === 404) return null;
    return undefined;
  } catch {
    return undefined;
  }
}

/** The client history as a v1 trace file, with a header naming the cluster (so it merges with the nodes'). */
function writeClientTrace(path: string, cluster: readonly string[], events: readonly ClientEvent[]): void {
  const header = { ev: 'header', format: 'raft-trace', version: 1, cluster: [...cluster], source: 'figure2 chaos clients' };
  writeFileSync(path, [header, ...events].map((e) => JSON.stringify(e)).join('\n') + '\n');
}

function operationStats(events: readonly ClientEvent[], stats: ClientContext['stats']): OperationStats {
  const byKind: Record<ClientOperation['kind'], number> = { get: 0, put: 0, delete: 0, cas: 0 };
  let invoked = 0;
  let ok = 0;
  let fail = 0;
  let info = 0;
  for (const e of events) {
    if (e.ev === 'invoke') {
      invoked++;
      byKind[e.op.kind]++;
    } else if (e.ev === 'ok') ok++;
    else if (e.ev === 'fail') fail++;
    else info++;
  }
  const acknowledgedWrites = pairOperations(events).filter((o) => o.status === 'ok' && o.op.kind !== 'get').length;
  return { invoked, ok, fail, info, byKind, acknowledgedWrites, ...stats };
}

/** The failure message: the seed, where the evidence is, and every problem (capped). */
export function formatChaosResult(result: ChaosResult, maxProblems = 25): string {
  const lines = [
    `chaos run of ${result.nodes} nodes, seed ${result.seed}: ${result.ok ? 'passed' : `${result.problems.length} problem(s)`}`,
    `  replay: ${result.replay}`,
    `  data: ${result.dataDir}${result.kept ? ' (kept: node logs <id>.log, traces <id>.trace.ndjson, client history clients.trace.ndjson)' : ' (removed)'}`,
    `  check the traces again: npx figure2 check --merge ${join(result.dataDir, '*.trace.ndjson')}`,
    `  operations: ${JSON.stringify(result.operations)}`,
    `  timings (ms): ${JSON.stringify(result.timings)}`,
    `  schedule: ${result.schedule.map((s) => `+${s.firedMs}ms ${s.description}`).join('; ')}`,
  ];
  for (const p of result.problems.slice(0, maxProblems)) lines.push(`  [${p.rule}] ${p.message}`);
  if (result.problems.length > maxProblems) lines.push(`  … and ${result.problems.length - maxProblems} more`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Small helpers

export function seedFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env[CHAOS_SEED_ENV];
  if (raw === undefined || raw.trim() === '') return undefined;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`${CHAOS_SEED_ENV} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return seed;
}

function definedOnly<T extends object>(partial: T): Partial<T> {
  return Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted === true) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Whether `promise` settled within `ms` (it keeps running either way). */
async function withDeadline(promise: Promise<unknown>, ms: number, signal: AbortSignal): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await Promise.race([promise.catch(() => {}), sleep(ms, signal)]);
  return settled;
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The last lines of a node's log (what a node that exited on its own said last). */
function logTail(path: string, chars = 400): string {
  try {
    const text = readFileSync(path, 'utf8').trimEnd();
    return JSON.stringify(text.slice(-chars));
  } catch {
    return '(unreadable)';
  }
}

function signalNode(cluster: LocalCluster, id: string, sig: NodeJS.Signals): void {
  const pid = cluster.pid(id);
  if (pid !== undefined) signalProcess(pid, sig);
}

function signalProcess(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String((cause as { code: unknown }).code) : undefined;
  return `${error.name}: ${error.message}${code === undefined ? '' : ` (${code})`}`;
}
