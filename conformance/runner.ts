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
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as fc from 'fast-check';
import type { RaftNode, RaftNodeOptions } from '../impl/core/raft-node.ts';
import type { Config } from '../impl/core/types.ts';
import type { TraceEvent } from '../spec/schemas/trace-events.ts';
import { TraceChecker } from '../traces/checker/checker.ts';
import type { LocatedEvent } from '../traces/checker/types.ts';
import { checkClientHistory } from '../traces/linearizability/index.ts';
import { SimClusterAdapter } from './adapters/sim.ts';
import { BUGGY_CORES } from './buggy-cores.ts';
import { commandArbitrary, type CommandKind, type ConformanceCommand, type Harness } from './commands/index.ts';
import { CutFailure, type ClusterUnderTest } from './cut.ts';
import { ConformanceModel } from './model.ts';
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
  readonly sim: SimClusterAdapter;
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
  ) {
    this.sim = new SimClusterAdapter({
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
    this.cut = this.sim;
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

  /** New events → the checker (online) and the model; throws on the first violation. */
  ingest(model: ConformanceModel = this.model): void {
    const events = this.cut.collectEvents();
    for (const event of events) {
      const located: LocatedEvent = { file: `seed-${this.seed}`, line: this.events.length + 1, event };
      this.events.push(event);
      this.checker.feed(located);
      if (event.ev === 'invoke' || event.ev === 'ok' || event.ev === 'fail' || event.ev === 'info') this.clientEvents.push(located);
    }
    this.result.events += events.length;
    model.observe(events);
    model.view = this.cut.view();
    const v = this.checker.violationsSoFar()[0];
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
}

function encodePath(flags: ReplayFlags, fcPath: string, counterexample: unknown): string {
  const m = /replayPath="([^"]*)"/.exec(String(counterexample));
  const head = [`c${flags.commandsMax}`, ...(flags.nodes === undefined ? [] : [`n${flags.nodes}`]), ...(flags.coreId === undefined ? [] : [`core=${flags.coreId}`])].join(',');
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
  const flags: { commandsMax?: number; nodes?: number; coreId?: string } = {};
  if (tilde >= 0) {
    for (const part of text.slice(0, tilde).split(',')) {
      const m = /^(?:c(\d+)|n(\d+)|core=([a-z0-9-]+))$/.exec(part);
      if (m === null) throw new ReplayError(`--path ${text}: unknown flag "${part}" before "~" (expected c<commands>, n<nodes> or core=<id>)`);
      if (m[1] !== undefined) flags.commandsMax = Number(m[1]);
      if (m[2] !== undefined) flags.nodes = Number(m[2]);
      if (m[3] !== undefined) flags.coreId = m[3];
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
  const given: ReplayFlags = { commandsMax: options.commandsMax ?? DEFAULT_COMMANDS_MAX, nodes: options.nodes, coreId };
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
  if (recorded.coreId !== undefined && coreId === undefined) {
    throw new ReplayError(`--path was recorded against core ${recorded.coreId}; replay it with --core ${recorded.coreId}`);
  }
  return { commandsMax: recorded.commandsMax ?? given.commandsMax, nodes: recorded.nodes ?? given.nodes, coreId: recorded.coreId ?? given.coreId };
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

function emptyResult(seed: number, runs: number): ConformanceResult {
  return {
    ok: true,
    seed,
    runs,
    commands: 0,
    shrinkExecutions: 0,
    events: 0,
    faults: {},
    coverage: [],
    linearizability: { linearizable: 0, unknown: 0, notLinearizable: 0 },
    failures: [],
    seconds: 0,
  };
}

export async function runConformance(options: ConformanceOptions): Promise<ConformanceResult> {
  const started = performance.now();
  const decoded = options.path === undefined ? undefined : decodePath(options.path);
  const flags = replayFlags(options, decoded);
  const factory = options.nodeFactory ?? coreFactory(flags.coreId);
  const seeds = decoded === undefined ? campaignSeeds(options.seed, options.runs, options.shard) : [options.seed];
  const result = emptyResult(options.seed, seeds.length);
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

/** One fast-check property per run: its swarm, its command list, the execution, the liveness phase. */
function property(seed: number, plan: RunPlan, sinkFor: () => ConformanceResult, replayPath: string | undefined, last: { exec?: Execution }) {
  const swarm = drawSwarm(seed, { nodes: plan.flags.nodes });
  const commands = fc.commands([commandArbitrary(swarm.weights, MAX_TICK_STEP)], {
    maxCommands: plan.flags.commandsMax,
    size: 'max',
    ...(replayPath === undefined ? {} : { replayPath }),
  });
  return fc.asyncProperty(commands, async (cmds) => {
    const exec = new Execution(seed, swarm, plan.factory, sinkFor());
    last.exec = exec;
    try {
      await exec.start();
      await fc.asyncModelRun(() => ({ model: exec.model, real: exec }), cmds);
      await exec.finish(plan.options.livenessTicks ?? DEFAULT_LIVENESS_TICKS);
    } catch (err) {
      if (err instanceof CutFailure) throw new ConformanceViolation(err.rule, err.message.replace(`${err.rule}: `, ''));
      throw err;
    }
  });
}

async function runOne(seed: number, plan: RunPlan, result: ConformanceResult): Promise<ConformanceFailure | undefined> {
  const given = plan.decoded;
  const last: { exec?: Execution } = {};
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
  // Replay the shrunk counterexample once more: its resolved commands and its trace.
  const decoded = decodePath(path);
  const replay: { exec?: Execution } = {};
  const again = await fc.check(property(seed, plan, () => emptyResult(seed, 1), decoded.replayPath, replay), {
    seed,
    numRuns: 1,
    path: decoded.path,
    endOnFailure: true,
  });
  const err = (again.failed ? again.errorInstance : details.errorInstance) as unknown;
  const violation =
    err instanceof ConformanceViolation ? { rule: err.rule, message: err.detail } : { rule: 'error', message: err instanceof Error ? err.message : String(err) };
  let tracePath: string | undefined;
  const exec = replay.exec ?? last.exec;
  if (plan.options.traceDir !== undefined && exec !== undefined) {
    mkdirSync(plan.options.traceDir, { recursive: true });
    tracePath = join(plan.options.traceDir, `conform-seed-${seed}.ndjson`);
    writeFileSync(tracePath, exec.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  }
  return {
    seed,
    path,
    replay: `figure2 conform --seed ${seed} --path '${path}'${plan.flags.coreId === undefined ? '' : ` --core ${plan.flags.coreId}`}`,
    commands: exec?.log ?? [],
    violation,
    ...(tracePath === undefined ? {} : { tracePath }),
  };
}

export type { CommandKind };
