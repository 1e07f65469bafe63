/**
 * Fault options and swarm testing. A fault is either off, given exactly, or drawn from the seed
 * ("swarm": TigerBeetle's VOPR and Groce et al.'s swarm testing — each seed runs its own mix of
 * fault rates, so that a bug needing, say, heavy duplication and no loss is found by some seed
 * rather than diluted away by an average configuration).
 *
 * Textual form (the CLI's `--faults`): a comma-separated list of `name` (drawn from the seed) or
 * `name=value`; `none` (the default) and `all` (every fault drawn from the seed).
 *   loss=0.1        message loss probability
 *   dup=0.05        duplication probability
 *   reorder=0.2     probability a message is held back (so later ones overtake it)
 *   partitions=0.005  per-tick probability that a healthy network splits (groups or one-way cuts)
 *   crashes=0.002   per-tick probability that a node crashes (it restarts from its disk later)
 *   torn=0.5        probability that a crash keeps a prefix of the unsynced disk writes
 */
import type { Prng } from '../prng.ts';

export interface FaultOptions {
  readonly lossProbability: number;
  readonly duplicateProbability: number;
  readonly reorderProbability: number;
  /** Per tick, while the network is whole: probability that a partition or one-way cuts begin. */
  readonly partitionProbabilityPerTick: number;
  /** A partition lasts [min, max] ticks, then heals. */
  readonly partitionTicksMin: number;
  readonly partitionTicksMax: number;
  /** Of the partitions, the share that are one-way cuts (a→b blocked, b→a open) rather than groups. */
  readonly oneWayCutShare: number;
  /** Per tick: probability that one up node crashes. */
  readonly crashProbabilityPerTick: number;
  /** A crashed node restarts after [min, max] ticks. */
  readonly downTicksMin: number;
  readonly downTicksMax: number;
  /** At most this many nodes down at once (a crash beyond it is skipped). */
  readonly maxDownNodes: number;
  /** Probability that a crash keeps a random prefix of the pending (unsynced) disk batches. */
  readonly tornWriteProbability: number;
}

/** A fault-free run. `maxDownNodes` is irrelevant while crashes are off. */
export const NO_FAULTS: FaultOptions = Object.freeze({
  lossProbability: 0,
  duplicateProbability: 0,
  reorderProbability: 0,
  partitionProbabilityPerTick: 0,
  partitionTicksMin: 20,
  partitionTicksMax: 300,
  oneWayCutShare: 0.3,
  crashProbabilityPerTick: 0,
  downTicksMin: 10,
  downTicksMax: 300,
  maxDownNodes: 1,
  tornWriteProbability: 0,
});

export const FAULT_NAMES = ['loss', 'dup', 'reorder', 'partitions', 'crashes', 'torn'] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

/** Which faults are on: a number is the exact rate, 'swarm' draws it from the seed. */
export type FaultSpec = { readonly [K in FaultName]?: number | 'swarm' };

/**
 * Parses the textual form. Returns the spec, or a one-line reason why the text is not one.
 */
export function parseFaultSpec(text: string): { readonly ok: true; readonly spec: FaultSpec } | { readonly ok: false; readonly error: string } {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'none') return { ok: true, spec: {} };
  const spec: Partial<Record<FaultName, number | 'swarm'>> = {};
  for (const part of trimmed.split(',')) {
    const [rawName, rawValue, extra] = part.trim().split('=');
    const name = rawName?.trim() ?? '';
    if (name === 'all' && rawValue === undefined) {
      for (const n of FAULT_NAMES) spec[n] ??= 'swarm';
      continue;
    }
    if (!(FAULT_NAMES as readonly string[]).includes(name)) {
      return { ok: false, error: `unknown fault '${name}' (faults: ${FAULT_NAMES.join(', ')}, all, none)` };
    }
    if (extra !== undefined) return { ok: false, error: `'${part.trim()}': expected name or name=value` };
    if (rawValue === undefined) {
      spec[name as FaultName] = 'swarm';
      continue;
    }
    const value = Number(rawValue);
    if (rawValue.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
      return { ok: false, error: `${name}=${rawValue}: expected a probability from 0 to 1` };
    }
    spec[name as FaultName] = value;
  }
  return { ok: true, spec };
}

/** The textual form of a spec, for replay commands (stable order). */
export function formatFaultSpec(spec: FaultSpec): string {
  const parts = FAULT_NAMES.flatMap((name) => {
    const v = spec[name];
    if (v === undefined) return [];
    return [v === 'swarm' ? name : `${name}=${v}`];
  });
  return parts.length === 0 ? 'none' : parts.join(',');
}

/**
 * Turns a spec into concrete options, drawing the 'swarm' ones from `rng` (always in the same
 * order, so a seed gives the same mix). Schedules (durations, downtime, how many nodes may be
 * down) are drawn too whenever their fault is on.
 */
export function resolveFaults(spec: FaultSpec, options: { readonly rng: Prng; readonly nodes: number }): FaultOptions {
  const rng = options.rng;
  // Draw every swarm value even for faults that are off, so that turning one fault on or off does
  // not change the rates the seed gives the others.
  const drawn = {
    loss: rng.pick([0.01, 0.05, 0.1, 0.2, 0.3]),
    dup: rng.pick([0.01, 0.05, 0.1, 0.2]),
    reorder: rng.pick([0.05, 0.1, 0.3, 0.5]),
    partitions: rng.pick([0.0005, 0.002, 0.005, 0.01]),
    crashes: rng.pick([0.0002, 0.001, 0.003, 0.01]),
    torn: rng.pick([0.25, 0.5, 1]),
    partitionTicksMax: rng.pick([50, 200, 500]),
    downTicksMax: rng.pick([30, 150, 600]),
    oneWayCutShare: rng.pick([0, 0.3, 0.7]),
    // A minority keeps a quorum alive; all nodes down at once tests recovery from the disks alone.
    maxDownNodes: rng.pick([Math.max(1, Math.floor((options.nodes - 1) / 2)), options.nodes]),
  };
  const rate = (name: FaultName): number => {
    const v = spec[name];
    return v === undefined ? 0 : v === 'swarm' ? drawn[name] : v;
  };
  const swarmPartitions = spec.partitions === 'swarm';
  const swarmCrashes = spec.crashes === 'swarm';
  return {
    lossProbability: rate('loss'),
    duplicateProbability: rate('dup'),
    reorderProbability: rate('reorder'),
    partitionProbabilityPerTick: rate('partitions'),
    partitionTicksMin: NO_FAULTS.partitionTicksMin,
    partitionTicksMax: swarmPartitions ? drawn.partitionTicksMax : NO_FAULTS.partitionTicksMax,
    oneWayCutShare: swarmPartitions ? drawn.oneWayCutShare : NO_FAULTS.oneWayCutShare,
    crashProbabilityPerTick: rate('crashes'),
    downTicksMin: NO_FAULTS.downTicksMin,
    downTicksMax: swarmCrashes ? drawn.downTicksMax : NO_FAULTS.downTicksMax,
    maxDownNodes: swarmCrashes ? drawn.maxDownNodes : Math.max(1, Math.floor((options.nodes - 1) / 2)),
    tornWriteProbability: rate('torn'),
  };
}
