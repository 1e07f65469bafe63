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
  /** Run only the runs of shard `index` (1-based) of `count`. */
  readonly shard?: { readonly index: number; readonly count: number } | undefined;
  /** Replay: run exactly this fast-check path of run `seed` (then `runs` is ignored). */
  readonly path?: string | undefined;
  /** Tick budget of the liveness phase (default 2000). */
  readonly livenessTicks?: number | undefined;
  /** Where failing traces are written (default: no file). */
  readonly traceDir?: string | undefined;
  readonly onProgress?: ((p: { readonly done: number; readonly total: number; readonly seed: number; readonly failed: boolean }) => void) | undefined;
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
  checked: number;
  violated: number;
}

export interface ConformanceResult {
  readonly ok: boolean;
  readonly seed: number;
  readonly runs: number;
  /** Commands executed (shrinking included). */
  commands: number;
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
      if (tally === undefined) this.result.coverage.push((tally = { rule: c.rule, checked: 0, violated: 0 }));
      if (c.rule !== 'CL-LIN') tally.checked += c.checked;
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
      if (cl !== undefined) cl.checked++;
    } else if (lin.verdict === 'unknown') this.result.linearizability.unknown++;
  }
}

/** Encodes fast-check's path and the commands' replay path into one `--path` value. */
function encodePath(path: string, counterexample: unknown): string {
  const m = /replayPath="([^"]*)"/.exec(String(counterexample));
  return m?.[1] === undefined || m[1] === '' ? path : `${path}@${m[1]}`;
}

function decodePath(path: string): { readonly path: string; readonly replayPath: string | undefined } {
  const at = path.indexOf('@');
  return at < 0 ? { path, replayPath: undefined } : { path: path.slice(0, at), replayPath: path.slice(at + 1) };
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

export async function runConformance(options: ConformanceOptions): Promise<ConformanceResult> {
  const started = performance.now();
  const seeds = options.path === undefined ? campaignSeeds(options.seed, options.runs, options.shard) : [options.seed];
  const result: ConformanceResult = {
    ok: true,
    seed: options.seed,
    runs: seeds.length,
    commands: 0,
    events: 0,
    faults: {},
    coverage: [],
    linearizability: { linearizable: 0, unknown: 0, notLinearizable: 0 },
    failures: [],
    seconds: 0,
  };
  let done = 0;
  for (const seed of seeds) {
    const failure = await runOne(seed, options, result);
    if (failure !== undefined) result.failures.push(failure);
    options.onProgress?.({ done: ++done, total: seeds.length, seed, failed: failure !== undefined });
  }
  result.seconds = (performance.now() - started) / 1000;
  return { ...result, ok: result.failures.length === 0 };
}

function property(seed: number, options: ConformanceOptions, result: ConformanceResult, replayPath: string | undefined, last: { exec?: Execution }) {
  const swarm = drawSwarm(seed, { nodes: options.nodes });
  const commands = fc.commands([commandArbitrary(swarm.weights, MAX_TICK_STEP)], {
    maxCommands: options.commandsMax ?? DEFAULT_COMMANDS_MAX,
    size: 'max',
    ...(replayPath === undefined ? {} : { replayPath }),
  });
  return fc.asyncProperty(commands, async (cmds) => {
    const exec = new Execution(seed, swarm, options.nodeFactory, result);
    last.exec = exec;
    try {
      await exec.start();
      await fc.asyncModelRun(() => ({ model: exec.model, real: exec }), cmds);
      await exec.finish(options.livenessTicks ?? DEFAULT_LIVENESS_TICKS);
    } catch (err) {
      if (err instanceof CutFailure) throw new ConformanceViolation(err.rule, err.message.replace(`${err.rule}: `, ""));
      throw err;
    }
  });
}

async function runOne(seed: number, options: ConformanceOptions, result: ConformanceResult): Promise<ConformanceFailure | undefined> {
  const given = options.path === undefined ? undefined : decodePath(options.path);
  const last: { exec?: Execution } = {};
  const details = await fc.check(property(seed, options, result, given?.replayPath, last), {
    seed,
    numRuns: 1,
    ...(given === undefined ? {} : { path: given.path }),
  });
  if (!details.failed) return undefined;
  const path = encodePath(details.counterexamplePath ?? '', details.counterexample?.[0]);
  // Replay the shrunk counterexample once more: its resolved commands and its trace.
  const decoded = decodePath(path);
  const replay: { exec?: Execution } = {};
  const again = await fc.check(property(seed, options, result, decoded.replayPath, replay), { seed, numRuns: 1, path: decoded.path, endOnFailure: true });
  const err = (again.failed ? again.errorInstance : details.errorInstance) as unknown;
  const violation =
    err instanceof ConformanceViolation ? { rule: err.rule, message: err.detail } : { rule: 'error', message: err instanceof Error ? err.message : String(err) };
  let tracePath: string | undefined;
  const exec = replay.exec ?? last.exec;
  if (options.traceDir !== undefined && exec !== undefined) {
    mkdirSync(options.traceDir, { recursive: true });
    tracePath = join(options.traceDir, `conform-seed-${seed}.ndjson`);
    writeFileSync(tracePath, exec.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  }
  return {
    seed,
    path,
    replay: `figure2 conform --seed ${seed} --path ${path}${options.nodes === undefined ? '' : ` --nodes ${options.nodes}`}`,
    commands: exec?.log ?? [],
    violation,
    ...(tracePath === undefined ? {} : { tracePath }),
  };
}

export type { CommandKind };
