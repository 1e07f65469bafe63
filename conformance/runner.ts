/**
 * The conformance runner: fast-check model-based testing of a cluster under test.
 *
 * A campaign of `runs` runs with seeds S, S+1, …; shard i/n takes every n-th. Each run is one
 * fast-check run (seed = the run's seed): swarm options drawn from the seed, a random command list,
 * the trace checker online after every command, then the liveness phase (heal everything, restart
 * crashed nodes, converge; every key written is readable) and CL-LIN over the whole history. A
 * failure is shrunk, replayed once more to write its trace, and reported with the seed and the path
 * that `figure2 conform --seed S --path P` replays exactly.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as fc from 'fast-check';
import type { RaftNode, RaftNodeOptions } from '../impl/core/raft-node.ts';
import type { Config } from '../impl/core/types.ts';
import { TraceEvent as TraceEventSchema } from '../spec/schemas/trace-events.ts';
import type { TraceEvent } from '../spec/schemas/trace-events.ts';
import { TraceChecker } from '../traces/checker/checker.ts';
import type { LocatedEvent } from '../traces/checker/types.ts';
import { checkClientHistory } from '../traces/linearizability/index.ts';
import { SimClusterAdapter } from './adapters/sim.ts';
import { BUGGY_CORES } from './buggy-cores.ts';
import { commandArbitrary, type CommandKind, type ConformanceCommand, type Harness } from './commands/index.ts';
import { CutFailure, type ClusterUnderTest } from './cut.ts';
import { ConformanceModel } from './model.ts';
import type { ConformanceTarget } from './realtime/target.ts';
import { drawSwarm, type SwarmOptions } from './swarm.ts';

export type NodeFactory = (config: Config, options: RaftNodeOptions) => RaftNode;

export interface ConformanceOptions {
  /** Campaign seed: runs use seeds seed, seed+1, … */
  readonly seed: number;
  readonly runs: number;
  /** Cluster size for every run (default: drawn from each run's seed: 3, 5 or 7). */
  readonly nodes?: number | undefined;
  /** Commands per run, at most (default 60). */
  readonly commandsMax?: number | undefined;
  readonly nodeFactory?: NodeFactory | undefined;
  /**
   * A core by name: 'reference' or a buggy core's id (conformance/buggy-cores.ts). With
   * `nodeFactory`, just the name the replay command and the path's flags give it.
   */
  readonly coreId?: string | undefined;
  /** Run only the runs of shard `index` (1-based) of `count`. */
  readonly shard?: { readonly index: number; readonly count: number } | undefined;
  /** Replay: run exactly this fast-check path of run `seed` (then `runs` is ignored). */
  readonly path?: string | undefined;
  /** Stop the campaign at the first failing run (runs after it are not run, and not counted). */
  readonly failFast?: boolean | undefined;
  /** Tick budget of the liveness phase (default 2000). */
  readonly livenessTicks?: number | undefined;
  /** Where failing traces are written (default: no file). */
  readonly traceDir?: string | undefined;
  /**
   * A third-party implementation to test instead of the reference core on the simulator
   * (conformance/realtime/targets.ts). It runs in real time: shrinking gets `shrinkSeconds` of wall
   * clock, and each shrunk failure is replayed `replays` times to say how reproducible it is.
   */
  readonly target?: ConformanceTarget | undefined;
  /** A target's wall-clock milliseconds per tick (default: the target's); its timers scale with it. */
  readonly tickMs?: number | undefined;
  /** Wall-clock budget for shrinking one failure (default: the target's; unlimited on the simulator). */
  readonly shrinkSeconds?: number | undefined;
  /** Replays of each shrunk failure (default: 3 for a target, 1 on the simulator, which is deterministic). */
  readonly replays?: number | undefined;
  /**
   * Rules whose violations do not stop a run (they are still counted, in `ignored`): for triaging
   * an implementation with a known defect that would otherwise end every run before anything else
   * is exercised. Later violations may be its consequences; the report says which were ignored.
   */
  readonly ignoreRules?: readonly string[] | undefined;
  readonly onProgress?: ((p: ConformanceProgress) => void) | undefined;
}

export interface ConformanceProgress {
  readonly done: number;
  readonly total: number;
  readonly seed: number;
  readonly failed: boolean;
}

export interface ConformanceFailure {
  readonly seed: number;
  readonly path: string;
  /** The command line that replays it. */
  readonly replay: string;
  /** The shrunk command list, as resolved when replayed. */
  readonly commands: readonly string[];
  readonly violation: { readonly rule: string; readonly message: string };
  readonly tracePath?: string | undefined;
  /** Replays of the shrunk scenario that failed with the same rule, out of how many. */
  readonly reproduced: { readonly same: number; readonly of: number };
  /** Shrinking stopped at its time budget: a shorter scenario may exist. */
  readonly shrinkInterrupted: boolean;
}

export interface RuleTally {
  readonly rule: string;
  /** Runs whose trace exercised the rule (it was checked at least once). */
  runs: number;
  /** Checks made, over all runs. */
  checked: number;
  violated: number;
  /** Why the rule is never checked from a trace (the checker's UNCHECKED reasons). */
  reason?: string | undefined;
}

export interface ConformanceResult {
  readonly ok: boolean;
  readonly seed: number;
  /** What was tested: the reference core (or a buggy one) on the simulator, or a target's name. */
  readonly subject: string;
  readonly runs: number;
  /** Commands executed by the runs themselves (not counting shrinking). */
  commands: number;
  /** Executions made while shrinking failures (their commands and events are not counted above). */
  shrinkExecutions: number;
  /** Events fed to the trace checker. */
  events: number;
  readonly faults: Record<string, number>;
  readonly coverage: RuleTally[];
  readonly linearizability: { linearizable: number; unknown: number; notLinearizable: number };
  readonly failures: ConformanceFailure[];
  /** Violations of `ignoreRules` seen (they did not stop their runs), by rule. */
  readonly ignored: Record<string, number>;
  seconds: number;
}

/** A violation found by the suite: a rule of the catalog, liveness, or the cut's own assertion. */
export class ConformanceViolation extends Error {
  override readonly name = 'ConformanceViolation';
  constructor(
    readonly rule: string,
    readonly detail: string,
  ) {
    super(`${rule}: ${detail}`);
  }
}

const DEFAULT_COMMANDS_MAX = 60;
const DEFAULT_LIVENESS_TICKS = 2000;
const MAX_TICK_STEP = 20;
const SEED_MAX = 0x7fffffff;

/** One execution of a command list: the cut, the online checker, the model. */
class Execution implements Harness {
  readonly cut: ClusterUnderTest;
  readonly checker = new TraceChecker();
  readonly events: TraceEvent[] = [];
  readonly clientEvents: LocatedEvent[] = [];
  readonly log: string[] = [];
  model!: ConformanceModel;

  constructor(
    readonly seed: number,
    readonly swarm: SwarmOptions,
    nodeFactory: NodeFactory | undefined,
    /** Where this execution's counts go: the campaign's result for a run, a scratch one while shrinking. */
    private readonly result: ConformanceResult,
    target: ConformanceTarget | undefined,
    /** False when recording: events are collected, nothing is checked. */
    private readonly online = true,
    private readonly ignoreRules: ReadonlySet<string> = new Set(),
    tickMs?: number,
  ) {
    this.cut = target === undefined ? Execution.simulated(seed, swarm, nodeFactory) : Execution.realtime(seed, swarm, target, tickMs ?? target.defaults.tickMs);
    this.validateEvents = target !== undefined;
  }

  private readonly validateEvents: boolean;

  private validate(event: TraceEvent): void {
    const parsed = TraceEventSchema.safeParse(event);
    if (parsed.success) return;
    const issue = parsed.error.issues[0];
    const path = issue === undefined ? '' : `$${issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: `;
    throw new ConformanceViolation('trace', `the ${this.cut.name} adapter emitted an invalid event (${path}${issue?.message ?? 'invalid'}): ${JSON.stringify(event).slice(0, 200)}`);
  }

  /** A target's cluster, in real time, with the swarm's sizes, timers and background faults. */
  private static realtime(seed: number, swarm: SwarmOptions, target: ConformanceTarget, tickMs: number): ClusterUnderTest {
    return target.create({
      seed,
      nodes: swarm.nodes,
      clients: swarm.clients,
      keys: swarm.keys,
      tickMs,
      electionTimeoutTicks: { min: swarm.electionTimeoutTicksMin, max: swarm.electionTimeoutTicksMax },
      heartbeatIntervalTicks: swarm.heartbeatIntervalTicks,
      lossProbability: swarm.lossProbability,
      duplicateProbability: swarm.duplicateProbability,
      reorderProbability: swarm.reorderProbability,
      dataDir: mkdtempSync(join(tmpdir(), `figure2-${target.id}-`)),
    });
  }

  private static simulated(seed: number, swarm: SwarmOptions, nodeFactory: NodeFactory | undefined): ClusterUnderTest {
    return new SimClusterAdapter({
      seed,
      nodes: swarm.nodes,
      raft: {
        maxEntriesPerMessage: swarm.maxEntriesPerMessage,
        maxInflightMessages: swarm.maxInflightMessages,
        electionTimeoutTicksMin: swarm.electionTimeoutTicksMin,
        electionTimeoutTicksMax: swarm.electionTimeoutTicksMax,
        heartbeatIntervalTicks: swarm.heartbeatIntervalTicks,
      },
      network: { reorderDelayTicksMax: swarm.reorderDelayTicksMax },
      snapshotThresholdEntries: swarm.snapshotThresholdEntries,
      memoryEntriesMax: swarm.memoryEntriesMax,
      digestEveryEntries: 1,
      clients: { clients: swarm.clients, keys: swarm.keys },
      faults: {
        lossProbability: swarm.lossProbability,
        duplicateProbability: swarm.duplicateProbability,
        reorderProbability: swarm.reorderProbability,
        partitionProbabilityPerTick: 0,
        partitionTicksMin: 1,
        partitionTicksMax: 1,
        oneWayCutShare: 0,
        crashProbabilityPerTick: 0,
        downTicksMin: 1,
        downTicksMax: 1,
        maxDownNodes: 0,
        tornWriteProbability: 0.5,
      },
      ...(nodeFactory === undefined ? {} : { nodeFactory }),
    });
  }

  async start(): Promise<void> {
    await this.cut.start();
    this.model = new ConformanceModel(this.cut.view(), this.swarm.keys);
    this.ingest();
  }

  async after(model: ConformanceModel, command: ConformanceCommand): Promise<void> {
    this.result.commands++;
    this.log.push(command.toString());
    if (command.kind !== 'client' && command.kind !== 'tick') this.result.faults[command.kind] = (this.result.faults[command.kind] ?? 0) + 1;
    this.ingest(model);
  }

  ignores(rule: string): boolean {
    return this.ignoreRules.has(rule);
  }

  /** New events → the checker (online) and the model; throws on the first violation. */
  ingest(model: ConformanceModel = this.model): void {
    const events = this.cut.collectEvents();
    // A target's events come from other processes (a Python driver, liferaft's): the trace schema
    // is their gateway, as it is for a trace file. The simulator's are built by our own types.
    if (this.validateEvents) for (const event of events) this.validate(event);
    for (const event of events) {
      const located: LocatedEvent = { file: `seed-${this.seed}`, line: this.events.length + 1, event };
      this.events.push(event);
      this.checker.feed(located);
      if (event.ev === 'invoke' || event.ev === 'ok' || event.ev === 'fail' || event.ev === 'info') this.clientEvents.push(located);
    }
    this.result.events += events.length;
    model.observe(events);
    model.view = this.cut.view();
    if (!this.online) return;
    const v = this.checker.violationsSoFar().find((x) => !this.ignoreRules.has(x.rule));
    if (v !== undefined) throw new ConformanceViolation(v.rule, `${v.message} (event ${v.at.line})`);
    const e = this.checker.errors[0];
    if (e !== undefined) throw new ConformanceViolation('trace', `event ${e.line}: ${e.message}`);
  }

  /** Liveness phase, then every written key readable, then CL-LIN over the whole history. */
  async finish(livenessTicks: number): Promise<void> {
    await this.cut.settle(livenessTicks);
    this.ingest();
    const keys = [...this.model.writtenKeys].sort();
    const okBefore = this.model.outcomes.ok;
    let waited = 0;
    for (const key of keys) {
      while (this.model.view.idleClients.length === 0) {
        if (++waited > livenessTicks) throw new ConformanceViolation('liveness', `clients still busy ${livenessTicks} ticks after the cluster converged`);
        await this.cut.advance(1);
        this.ingest();
      }
      const client = this.model.view.idleClients[0] as number;
      await this.cut.clientOp({ client, node: this.model.nodes[0] as string, op: { kind: 'get', key } });
      this.ingest();
    }
    while (this.model.open.size > 0) {
      if (++waited > livenessTicks) throw new ConformanceViolation('liveness', `reads of ${keys.join(', ')} not answered within ${livenessTicks} ticks of a healed cluster`);
      await this.cut.advance(1);
      this.ingest();
    }
    if (this.model.outcomes.ok - okBefore < keys.length) {
      throw new ConformanceViolation('liveness', `after healing, ${keys.length - (this.model.outcomes.ok - okBefore)} of the reads of ${keys.join(', ')} failed`);
    }
    if (!this.online) return;
    const report = this.checker.finish();
    for (const c of report.coverage) {
      let tally = this.result.coverage.find((t) => t.rule === c.rule);
      if (tally === undefined) this.result.coverage.push((tally = { rule: c.rule, runs: 0, checked: 0, violated: 0, ...(c.reason === undefined ? {} : { reason: c.reason }) }));
      if (c.rule === 'CL-LIN') continue;
      tally.checked += c.checked;
      if (c.checked > 0) tally.runs++;
    }
    const lin = checkClientHistory(this.clientEvents).result;
    const cl = this.result.coverage.find((t) => t.rule === 'CL-LIN');
    if (lin.verdict === 'not-linearizable') {
      this.result.linearizability.notLinearizable++;
      if (cl !== undefined) cl.violated++;
      throw new ConformanceViolation('CL-LIN', lin.message ?? `history not linearizable (key ${lin.key ?? '?'})`);
    }
    if (lin.verdict === 'linearizable') {
      this.result.linearizability.linearizable++;
      if (cl !== undefined) {
        cl.checked++;
        cl.runs++;
      }
    } else if (lin.verdict === 'unknown') this.result.linearizability.unknown++;
  }
}

/**
 * A replay path: the flags that shape a run, then fast-check's path, then the commands' replay
 * path — `c60,n3,core=double-vote~0:1:2@AAB`. The flags travel with the path, so that
 * `--seed S --path P` alone replays exactly, and a replay under different flags is refused rather
 * than silently running another scenario.
 */
interface ReplayFlags {
  readonly commandsMax: number;
  readonly nodes: number | undefined;
  readonly coreId: string | undefined;
  readonly targetId: string | undefined;
  readonly tickMs: number | undefined;
}

function encodePath(flags: ReplayFlags, fcPath: string, counterexample: unknown): string {
  const m = /replayPath="([^"]*)"/.exec(String(counterexample));
  const head = [
    `c${flags.commandsMax}`,
    ...(flags.nodes === undefined ? [] : [`n${flags.nodes}`]),
    ...(flags.coreId === undefined ? [] : [`core=${flags.coreId}`]),
    ...(flags.targetId === undefined ? [] : [`target=${flags.targetId}`]),
    ...(flags.tickMs === undefined ? [] : [`ms${flags.tickMs}`]),
  ].join(',');
  return `${head}~${fcPath}${m?.[1] === undefined || m[1] === '' ? '' : `@${m[1]}`}`;
}

interface DecodedPath {
  readonly flags: Partial<ReplayFlags>;
  readonly path: string;
  readonly replayPath: string | undefined;
}

/** Bad replay input: a malformed `--path`, or flags that contradict the ones it was recorded with. */
export class ReplayError extends Error {
  override readonly name = 'ReplayError';
}

export function decodePath(text: string): DecodedPath {
  const tilde = text.indexOf('~');
  const flags: { commandsMax?: number; nodes?: number; coreId?: string; targetId?: string; tickMs?: number } = {};
  if (tilde >= 0) {
    for (const part of text.slice(0, tilde).split(',')) {
      const m = /^(?:c(\d+)|n(\d+)|core=([a-z0-9-]+)|target=([a-z0-9-]+)|ms(\d+))$/.exec(part);
      if (m === null) throw new ReplayError(`--path ${text}: unknown flag "${part}" before "~" (expected c<commands>, n<nodes>, core=<id>, target=<id> or ms<tick ms>)`);
      if (m[1] !== undefined) flags.commandsMax = Number(m[1]);
      if (m[2] !== undefined) flags.nodes = Number(m[2]);
      if (m[3] !== undefined) flags.coreId = m[3];
      if (m[4] !== undefined) flags.targetId = m[4];
      if (m[5] !== undefined) flags.tickMs = Number(m[5]);
    }
  }
  const rest = text.slice(tilde + 1);
  if (!/^\d+(:\d+)*(@[^\s'"]*)?$/.test(rest)) throw new ReplayError(`--path ${text}: expected a path such as c60~0:1:2@AAB, as printed by a failing run`);
  const at = rest.indexOf('@');
  return { flags, path: at < 0 ? rest : rest.slice(0, at), replayPath: at < 0 ? undefined : rest.slice(at + 1) };
}

/** The flags a replay runs with: the path's, which explicit options must not contradict. */
function replayFlags(options: ConformanceOptions, decoded: DecodedPath | undefined): ReplayFlags {
  const coreId = options.coreId === 'reference' ? undefined : options.coreId;
  const targetId = options.target?.id;
  const given: ReplayFlags = {
    commandsMax: options.commandsMax ?? options.target?.defaults.commandsMax ?? DEFAULT_COMMANDS_MAX,
    nodes: options.nodes,
    coreId,
    targetId,
    tickMs: options.target === undefined ? undefined : (options.tickMs ?? options.target.defaults.tickMs),
  };
  if (decoded === undefined) return given;
  const recorded = decoded.flags;
  const clash = (name: string, mine: unknown, theirs: unknown): void => {
    if (mine !== undefined && theirs !== undefined && mine !== theirs) {
      throw new ReplayError(`--path was recorded with ${name} ${String(theirs)}, but this run has ${name} ${String(mine)}; drop the flag to replay exactly`);
    }
  };
  clash('--commands', options.commandsMax, recorded.commandsMax);
  clash('--nodes', options.nodes, recorded.nodes);
  clash('--core', coreId, recorded.coreId);
  clash('--target', targetId, recorded.targetId);
  clash('--tick-ms', options.tickMs, recorded.tickMs);
  if (recorded.coreId !== undefined && coreId === undefined) {
    throw new ReplayError(`--path was recorded against core ${recorded.coreId}; replay it with --core ${recorded.coreId}`);
  }
  if (recorded.targetId !== undefined && targetId === undefined) {
    throw new ReplayError(`--path was recorded against target ${recorded.targetId}; replay it with --target ${recorded.targetId}`);
  }
  if (recorded.targetId === undefined && targetId !== undefined) {
    throw new ReplayError(`--path was recorded on the simulator, not against target ${targetId}; drop --target to replay it`);
  }
  return {
    commandsMax: recorded.commandsMax ?? given.commandsMax,
    nodes: recorded.nodes ?? given.nodes,
    coreId: recorded.coreId ?? given.coreId,
    targetId,
    tickMs: recorded.tickMs ?? given.tickMs,
  };
}

/** The run seeds of a campaign (or its shard). */
export function campaignSeeds(seed: number, runs: number, shard?: { readonly index: number; readonly count: number }): number[] {
  const seeds: number[] = [];
  for (let r = 0; r < runs; r++) {
    if (shard !== undefined && r % shard.count !== shard.index - 1) continue;
    seeds.push((seed + r) % (SEED_MAX + 1));
  }
  return seeds;
}

function emptyResult(seed: number, runs: number, subject = ''): ConformanceResult {
  return {
    ok: true,
    seed,
    subject,
    runs,
    commands: 0,
    shrinkExecutions: 0,
    events: 0,
    faults: {},
    coverage: [],
    linearizability: { linearizable: 0, unknown: 0, notLinearizable: 0 },
    failures: [],
    ignored: {},
    seconds: 0,
  };
}

export async function runConformance(options: ConformanceOptions): Promise<ConformanceResult> {
  const started = performance.now();
  const decoded = options.path === undefined ? undefined : decodePath(options.path);
  const flags = replayFlags(options, decoded);
  if (options.target !== undefined && flags.coreId !== undefined) throw new ReplayError(`--core and --target exclude each other: a core runs on the simulator, a target is someone else's implementation`);
  const factory = options.nodeFactory ?? coreFactory(flags.coreId);
  const seeds = decoded === undefined ? campaignSeeds(options.seed, options.runs, options.shard) : [options.seed];
  const subject = options.target?.name ?? `${flags.coreId ?? 'reference'} core on the simulator`;
  const result = emptyResult(options.seed, seeds.length, subject);
  let done = 0;
  for (const seed of seeds) {
    const failure = await runOne(seed, { options, flags, decoded, factory }, result);
    if (failure !== undefined) {
      result.failures.push(failure);
      const rule = failure.violation.rule;
      const tally = result.coverage.find((t) => t.rule === rule);
      if (tally === undefined) result.coverage.push({ rule, runs: 1, checked: 0, violated: 1 });
      else if (rule !== 'CL-LIN') tally.violated++;
    }
    done++;
    options.onProgress?.({ done, total: seeds.length, seed, failed: failure !== undefined });
    if (failure !== undefined && options.failFast === true) break;
  }
  result.seconds = (performance.now() - started) / 1000;
  return { ...result, runs: done, ok: result.failures.length === 0 };
}

/** The node factory of a core named by id: a buggy core of conformance/buggy-cores.ts, or the reference core. */
function coreFactory(coreId: string | undefined): NodeFactory | undefined {
  if (coreId === undefined || coreId === 'reference') return undefined;
  const core = BUGGY_CORES.find((c) => c.id === coreId);
  if (core === undefined) throw new ReplayError(`no core named ${coreId} (known: reference, ${BUGGY_CORES.map((c) => c.id).join(', ')})`);
  return core.factory;
}

interface RunPlan {
  readonly factory: NodeFactory | undefined;
  readonly options: ConformanceOptions;
  readonly flags: ReplayFlags;
  readonly decoded: DecodedPath | undefined;
}

/**
 * Executions of a property: the latest, and the latest that failed (its trace is the failure's).
 * `shrinkUntil`: once the first failure is found, the wall-clock time after which shrinking stops
 * (every later candidate is skipped, so fast-check keeps the shortest failure found so far).
 */
interface Executions {
  exec?: Execution;
  failing?: Execution;
  shrinkMs?: number | undefined;
  shrinkUntil?: number;
  shrinkInterrupted?: boolean;
}

/** The run's swarm; a target's unsupported commands weigh 0. */
function swarmFor(seed: number, plan: Pick<RunPlan, 'flags' | 'options'>): SwarmOptions {
  const swarm = drawSwarm(seed, { nodes: plan.flags.nodes });
  const unsupported = plan.options.target?.unsupported ?? [];
  if (unsupported.length === 0) return swarm;
  const weights = { ...swarm.weights };
  for (const kind of unsupported) {
    const key = kind === 'isolate-leader' ? 'isolateLeader' : kind === 'partition-one-way' ? 'partition' : kind;
    if (key in weights) weights[key as keyof typeof weights] = 0;
  }
  return { ...swarm, weights };
}

/** One fast-check property per run: its swarm, its command list, the execution, the liveness phase. */
function property(seed: number, plan: RunPlan, sinkFor: () => ConformanceResult, replayPath: string | undefined, last: Executions) {
  const swarm = swarmFor(seed, plan);
  const commands = fc.commands([commandArbitrary(swarm.weights, MAX_TICK_STEP)], {
    maxCommands: plan.flags.commandsMax,
    size: 'max',
    ...(replayPath === undefined ? {} : { replayPath }),
  });
  return fc.asyncProperty(commands, async (cmds) => {
    if (last.shrinkUntil !== undefined && performance.now() > last.shrinkUntil) {
      last.shrinkInterrupted = true;
      fc.pre(false);
    }
    const sink = sinkFor();
    const exec = new Execution(seed, swarm, plan.factory, sink, plan.options.target, true, new Set(plan.options.ignoreRules ?? []), plan.flags.tickMs);
    last.exec = exec;
    try {
      await exec.start();
      await fc.asyncModelRun(() => ({ model: exec.model, real: exec }), cmds);
      await exec.finish(plan.options.livenessTicks ?? plan.options.target?.defaults.livenessTicks ?? DEFAULT_LIVENESS_TICKS);
    } catch (err) {
      last.failing = exec;
      if (last.shrinkMs !== undefined) last.shrinkUntil ??= performance.now() + last.shrinkMs;
      if (err instanceof CutFailure) throw new ConformanceViolation(err.rule, err.message.replace(`${err.rule}: `, ''));
      throw err;
    } finally {
      // A real-time cluster holds processes and directories; the simulator holds nothing.
      await exec.cut.stop();
      for (const v of exec.checker.violationsSoFar()) if (exec.ignores(v.rule)) sink.ignored[v.rule] = (sink.ignored[v.rule] ?? 0) + 1;
    }
  });
}

async function runOne(seed: number, plan: RunPlan, result: ConformanceResult): Promise<ConformanceFailure | undefined> {
  const given = plan.decoded;
  const shrinkSeconds = plan.options.shrinkSeconds ?? plan.options.target?.defaults.shrinkSeconds;
  const last: Executions = { shrinkMs: shrinkSeconds === undefined ? undefined : shrinkSeconds * 1000 };
  // The first execution is the run itself and counts; later ones are shrinking and count apart.
  let executions = 0;
  const sinkFor = (): ConformanceResult => {
    if (executions++ === 0) return result;
    result.shrinkExecutions++;
    return emptyResult(seed, 1);
  };
  const details = await fc.check(property(seed, plan, sinkFor, given?.replayPath, last), {
    seed,
    numRuns: 1,
    ...(given === undefined ? {} : { path: given.path }),
  });
  if (!details.failed) return undefined;
  const path = encodePath(plan.flags, details.counterexamplePath ?? '', (details.counterexample as readonly unknown[] | null)?.[0]);
  const shrunk = violationOf(details.errorInstance);
  // Replay the shrunk counterexample: its resolved commands and its trace, and — for a real-time
  // target, whose timing the seed does not fix — how often it fails the same way.
  const decoded = decodePath(path);
  const replays = Math.max(1, plan.options.replays ?? (plan.options.target === undefined ? 1 : 3));
  let same = 0;
  let first: { violation: ConformanceFailure['violation']; exec: Executions } | undefined;
  for (let i = 0; i < replays; i++) {
    const replay: Executions = {};
    const again = await fc.check(property(seed, plan, () => emptyResult(seed, 1), decoded.replayPath, replay), {
      seed,
      numRuns: 1,
      path: decoded.path,
      endOnFailure: true,
    });
    const v = again.failed ? violationOf(again.errorInstance) : undefined;
    if (v !== undefined && v.rule === shrunk.rule) same++;
    if (v !== undefined && (first === undefined || (v.rule === shrunk.rule && first.violation.rule !== shrunk.rule))) first = { violation: v, exec: replay };
  }
  // The simulator is deterministic: its replay's violation is the failure. A target's is the shrunk run's.
  const violation = plan.options.target === undefined ? (first?.violation ?? shrunk) : shrunk;
  const exec = first?.exec.failing ?? last.failing ?? last.exec;
  let tracePath: string | undefined;
  if (plan.options.traceDir !== undefined && exec !== undefined) {
    mkdirSync(plan.options.traceDir, { recursive: true });
    tracePath = join(plan.options.traceDir, `conform-${plan.flags.targetId === undefined ? '' : `${plan.flags.targetId}-`}seed-${seed}.ndjson`);
    writeFileSync(tracePath, exec.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  }
  const flags = [...(plan.flags.targetId === undefined ? [] : [`--target ${plan.flags.targetId}`]), ...(plan.flags.coreId === undefined ? [] : [`--core ${plan.flags.coreId}`])];
  return {
    seed,
    path,
    replay: `figure2 conform --seed ${seed} --path '${path}'${flags.map((f) => ` ${f}`).join('')}`,
    commands: exec?.log ?? [],
    violation,
    ...(tracePath === undefined ? {} : { tracePath }),
    reproduced: { same, of: replays },
    shrinkInterrupted: last.shrinkInterrupted === true,
  };
}

function violationOf(err: unknown): ConformanceFailure['violation'] {
  return err instanceof ConformanceViolation ? { rule: err.rule, message: err.detail } : { rule: 'error', message: err instanceof Error ? err.message : String(err) };
}

export interface RecordOptions {
  readonly target: ConformanceTarget;
  readonly seed: number;
  readonly nodes?: number | undefined;
  readonly commandsMax?: number | undefined;
  readonly livenessTicks?: number | undefined;
  readonly tickMs?: number | undefined;
}

export interface RecordResult {
  readonly events: readonly TraceEvent[];
  /** The commands run, as resolved. */
  readonly commands: readonly string[];
  /** What stopped the run early (the liveness phase failing, a crash of the target), if anything. */
  readonly stoppedBy: string | undefined;
  readonly seconds: number;
}

/**
 * `figure2 record`: one run of the suite's commands against a target — the same seeded command
 * list, faults and liveness phase as `conform` — with nothing checked: every event is kept, for
 * `figure2 check` (or any other checker) to judge.
 */
export async function recordRun(options: RecordOptions): Promise<RecordResult> {
  const started = performance.now();
  const tickMs = options.tickMs ?? options.target.defaults.tickMs;
  const flags: ReplayFlags = { commandsMax: options.commandsMax ?? options.target.defaults.commandsMax, nodes: options.nodes, coreId: undefined, targetId: options.target.id, tickMs };
  const swarm = swarmFor(options.seed, { flags, options: { seed: options.seed, runs: 1, target: options.target } });
  const [cmds] = fc.sample(fc.commands([commandArbitrary(swarm.weights, MAX_TICK_STEP)], { maxCommands: flags.commandsMax, size: 'max' }), { seed: options.seed, numRuns: 1 });
  const exec = new Execution(options.seed, swarm, undefined, emptyResult(options.seed, 1), options.target, false, new Set(), tickMs);
  let stoppedBy: string | undefined;
  try {
    await exec.start();
    await fc.asyncModelRun(() => ({ model: exec.model, real: exec }), cmds ?? []);
    await exec.finish(options.livenessTicks ?? options.target.defaults.livenessTicks);
  } catch (err) {
    stoppedBy = err instanceof Error ? err.message : String(err);
  } finally {
    await exec.cut.stop();
    // What the cluster said while stopping (the last events of the run).
    if (exec.model !== undefined) exec.ingest();
  }
  return { events: exec.events, commands: exec.log, stoppedBy, seconds: (performance.now() - started) / 1000 };
}

export type { CommandKind };
