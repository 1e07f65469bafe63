/**
 * One simulation run, start to finish, from a seed: draw the fault mix (swarm), run the safety
 * phase for `ticks` ticks with faults, then the liveness phase (heal everything, restart every
 * node, let clients finish) until the cluster converges within a tick budget. Same seed and
 * options, same run — and the same trace, byte for byte.
 */
import { SimAssertionError } from './assert.ts';
import { SimCluster, SimViolation, type ClusterOptions, type TraceTarget } from './cluster.ts';
import type { ClientStats } from './clients.ts';
import { resolveFaults, type FaultOptions, type FaultSpec } from './faults.ts';
import type { NetworkStats } from './network.ts';
import { STREAM, streamPrng } from './seeds.ts';

export interface SimulateOptions {
  readonly seed: number;
  readonly nodes: number;
  /** Ticks of the fault phase. */
  readonly ticks: number;
  /** Which faults, at what rates (see faults.ts); 'swarm' rates are drawn from the seed. Default: none. */
  readonly faults?: FaultSpec | undefined;
  /** Number of clients (default 4). */
  readonly clients?: number | undefined;
  readonly snapshotThresholdEntries?: number | undefined;
  /** Tick budget of the liveness phase; 0 skips it (default 10,000). */
  readonly healTicksMax?: number | undefined;
  readonly trace?: TraceTarget | undefined;
  readonly traceMeta?: Readonly<Record<string, unknown>> | undefined;
  /** Anything else the cluster takes (Raft timings, network shape, client knobs). */
  readonly cluster?: Partial<Pick<ClusterOptions, 'raft' | 'network' | 'clients' | 'digestEveryEntries' | 'nodeFactory' | 'traceDigest'>> | undefined;
}

/** What happened, in numbers; JSON-friendly. */
export interface SimSummary {
  readonly seed: number;
  readonly nodes: number;
  /** Ticks run in all, and of those in the fault phase. */
  readonly ticks: number;
  readonly faultTicks: number;
  /** The fault rates of this run (as drawn from the seed where asked). */
  readonly faults: FaultOptions;
  readonly leaders: { readonly terms: number; readonly maxTerm: number; readonly byTerm: readonly (readonly [number, string])[] };
  readonly commandsCommitted: number;
  readonly entriesCommitted: number;
  readonly clients: ClientStats & { readonly pending: number };
  readonly snapshots: { readonly taken: number; readonly installed: number };
  readonly network: NetworkStats;
  readonly injected: {
    readonly drops: number;
    readonly duplicates: number;
    readonly reorders: number;
    readonly partitions: number;
    readonly oneWayCuts: number;
    readonly crashes: number;
    readonly restarts: number;
    readonly lostDiskBatches: number;
    readonly tornDiskBatches: number;
  };
  /** Ticks the healed cluster took to converge; null when the liveness phase did not run or failed. */
  readonly convergedAfterTicks: number | null;
}

export interface SimulateResult {
  readonly ok: boolean;
  readonly summary: SimSummary;
  /** The invariant that broke (the run stops there). */
  readonly violation?: { readonly rule: string; readonly tick: number; readonly message: string } | undefined;
  /** Something threw that is not a violation: an assertion in the core, KV or simulator — a bug, replayed by the seed. */
  readonly error?: { readonly tick: number; readonly name: string; readonly message: string } | undefined;
}

/** Resolves the fault spec with the seed's swarm stream (the same draw `simulate` makes). */
export function faultsForSeed(options: { readonly seed: number; readonly nodes: number; readonly faults?: FaultSpec | undefined }): FaultOptions {
  return resolveFaults(options.faults ?? {}, { rng: streamPrng(options.seed, STREAM.swarm), nodes: options.nodes });
}

export function simulate(options: SimulateOptions): SimulateResult {
  const faults = faultsForSeed(options);
  let cluster: SimCluster | undefined;
  let faultTicks = 0;
  let convergedAfterTicks: number | null = null;
  let violation: SimulateResult['violation'];
  let error: SimulateResult['error'];
  try {
    cluster = new SimCluster({
      ...options.cluster,
      seed: options.seed,
      nodes: options.nodes,
      faults,
      clients: { ...options.cluster?.clients, ...(options.clients === undefined ? {} : { clients: options.clients }) },
      snapshotThresholdEntries: options.snapshotThresholdEntries,
      trace: options.trace,
      traceMeta: options.traceMeta,
    });
    for (; faultTicks < options.ticks; faultTicks++) cluster.tick();
    const healTicksMax = options.healTicksMax ?? 10_000;
    if (healTicksMax > 0) convergedAfterTicks = cluster.converge({ maxTicks: healTicksMax });
  } catch (err) {
    const tick = cluster?.now ?? 0;
    if (err instanceof SimViolation) {
      violation = { rule: err.rule, tick: err.tick, message: err.message };
    } else if (err instanceof Error) {
      error = { tick, name: err instanceof SimAssertionError ? 'SimAssertionError' : err.name, message: err.message };
    } else {
      error = { tick, name: 'Error', message: String(err) };
    }
  }
  return {
    ok: violation === undefined && error === undefined,
    summary: summarize({ options, faults, cluster, faultTicks, convergedAfterTicks }),
    ...(violation === undefined ? {} : { violation }),
    ...(error === undefined ? {} : { error }),
  };
}

function summarize(run: {
  readonly options: SimulateOptions;
  readonly faults: FaultOptions;
  readonly cluster: SimCluster | undefined;
  readonly faultTicks: number;
  readonly convergedAfterTicks: number | null;
}): SimSummary {
  const c = run.cluster;
  const s = c?.stats;
  const net = c?.network.stats ?? {
    sent: 0, delivered: 0, duplicated: 0, reordered: 0, droppedLoss: 0, droppedPartition: 0, droppedOverflow: 0, droppedDown: 0,
  };
  const disks = c === undefined ? [] : c.ids.map((id) => c.host(id).disk.stats);
  const clients = c?.workload.stats ?? { invoked: 0, ok: 0, fail: 0, info: 0, retries: 0, redirects: 0, duplicates: 0 };
  return {
    seed: run.options.seed,
    nodes: run.options.nodes,
    ticks: c?.now ?? 0,
    faultTicks: run.faultTicks,
    faults: run.faults,
    leaders: {
      terms: s?.leadersByTerm ?? 0,
      maxTerm: s?.maxTerm ?? 0,
      byTerm: c === undefined ? [] : [...c.leaderOfTerm].sort((a, b) => a[0] - b[0]),
    },
    commandsCommitted: s?.commandsCommitted ?? 0,
    entriesCommitted: s?.entriesCommitted ?? 0,
    clients: { ...clients, pending: c?.workload.pending() ?? 0 },
    snapshots: { taken: s?.snapshotsTaken ?? 0, installed: s?.snapshotsInstalled ?? 0 },
    network: { ...net },
    injected: {
      drops: net.droppedLoss + net.droppedPartition + net.droppedOverflow + net.droppedDown,
      duplicates: net.duplicated,
      reorders: net.reordered,
      partitions: s?.partitions ?? 0,
      oneWayCuts: s?.oneWayCuts ?? 0,
      crashes: s?.crashes ?? 0,
      restarts: s?.restarts ?? 0,
      lostDiskBatches: disks.reduce((a, d) => a + d.lostBatches, 0),
      tornDiskBatches: disks.reduce((a, d) => a + d.tornBatches, 0),
    },
    convergedAfterTicks: run.convergedAfterTicks,
  };
}
