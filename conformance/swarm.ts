/**
 * Swarm options drawn from a run's seed: cluster size, command (fault) weights, a snapshot
 * threshold small enough to force InstallSnapshot often, message batching limits, background
 * network faults. Each seed runs its own mix (swarm testing).
 */
import { streamPrng, STREAM } from './sim/seeds.ts';
import type { CommandWeights } from './commands/index.ts';

export interface SwarmOptions {
  readonly nodes: number;
  readonly weights: CommandWeights;
  readonly snapshotThresholdEntries: number;
  readonly maxEntriesPerMessage: number;
  readonly maxInflightMessages: number;
  readonly lossProbability: number;
  readonly duplicateProbability: number;
  readonly reorderProbability: number;
  /** How long a reordered message may be held back, in ticks. */
  readonly reorderDelayTicksMax: number;
  /** Raft timing: short timeouts make elections, split votes and late votes frequent. */
  readonly electionTimeoutTicksMin: number;
  readonly electionTimeoutTicksMax: number;
  readonly heartbeatIntervalTicks: number;
  readonly clients: number;
  readonly keys: number;
  /** Durable entries a core keeps in memory; small values make it read its log back from storage. */
  readonly memoryEntriesMax: number;
}

export function drawSwarm(seed: number, overrides: { readonly nodes?: number | undefined } = {}): SwarmOptions {
  const rng = streamPrng(seed, STREAM.swarm);
  const on = (weight: number): number => (rng.chance(0.75) ? weight : 0);
  const nodes = rng.pick([3, 5, 7]);
  const weights: CommandWeights = {
    client: 6,
    tick: 8,
    deliver: on(rng.pick([1, 2, 4])),
    drop: on(rng.pick([1, 2, 4])),
    duplicate: on(rng.pick([1, 2])),
    reorder: on(1),
    partition: on(rng.pick([1, 2])),
    isolateLeader: on(rng.pick([1, 2])),
    heal: 1,
    crash: on(rng.pick([1, 2])),
    restart: 2,
    snapshot: on(rng.pick([1, 2])),
  };
  return {
    nodes: overrides.nodes ?? nodes,
    weights,
    snapshotThresholdEntries: rng.pick([2, 3, 5, 8, 20]),
    maxEntriesPerMessage: rng.pick([1, 2, 4, 64]),
    maxInflightMessages: rng.pick([1, 2, 8, 64]),
    lossProbability: rng.chance(0.5) ? rng.pick([0.01, 0.05, 0.1]) : 0,
    duplicateProbability: rng.chance(0.5) ? rng.pick([0.01, 0.05]) : 0,
    reorderProbability: rng.chance(0.5) ? rng.pick([0.05, 0.2, 0.5]) : 0,
    reorderDelayTicksMax: rng.pick([4, 12]),
    ...(rng.chance(0.35)
      ? { electionTimeoutTicksMin: 4, electionTimeoutTicksMax: 8, heartbeatIntervalTicks: 1 }
      : { electionTimeoutTicksMin: 10, electionTimeoutTicksMax: 20, heartbeatIntervalTicks: 2 }),
    clients: rng.pick([2, 3, 4]),
    keys: rng.pick([1, 2, 3]),
    memoryEntriesMax: rng.pick([1, 4, 16, 4096]),
  };
}
