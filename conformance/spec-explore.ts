/**
 * Seeded random exploration of the spec: a cluster of spec statecharts driven through elections,
 * client commands, message loss, duplication and reordering, crashes, restarts and snapshots,
 * with every Figure 3 property checked after every step. The spec is correct, so a clean run is
 * the expected outcome; tests hand it a deliberately broken machine to prove it can fail.
 *
 * One seed determines the whole run: the same seed and options replay the same steps exactly.
 */
import type { InvariantViolation } from '../spec/invariants.ts';
import type { TraceEvent } from '../spec/schemas/trace-events.ts';
import type { serverMachine } from '../spec/statechart/server-machine.ts';
import { createPrng, type Prng } from './prng.ts';
import { SpecCluster, type ClusterAction } from './spec-cluster.ts';

export interface ExploreOptions {
  readonly seed: number;
  /** Actions to perform (each is one step). */
  readonly steps: number;
  /** Cluster size (default 3). */
  readonly nodes?: number | undefined;
  /** Fault intensity: 0 = a perfect network and no crashes, 1 = the default mix. */
  readonly faults?: number | undefined;
  readonly machine?: typeof serverMachine | undefined;
  readonly sink?: ((event: TraceEvent) => void) | undefined;
}

export interface ExploreStats {
  steps: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  crashes: number;
  restarts: number;
  elections: number;
  clientCommands: number;
  snapshots: number;
  maxTerm: number;
  committed: number;
  leadersByTerm: number;
}

export interface ExploreResult {
  readonly seed: number;
  readonly stats: ExploreStats;
  /** The first violations found (the run stops at the first step that has any). */
  readonly violations: readonly InvariantViolation[];
  /**
   * A server or the checker threw (an assertion in the spec, or a view the Figure 3 predicates
   * reject as impossible): as much a failure as a violation, and replayed the same way.
   */
  readonly error?: string | undefined;
  /** The step (1-based) at which they appeared, and the actions up to it: the replay path. */
  readonly failedAtStep?: number | undefined;
  readonly path: readonly string[];
}

/** A readable one-line description of an action, resolved against the cluster. */
export function describeAction(cluster: SpecCluster, action: ClusterAction): string {
  const who = (node: string): string => {
    const c = cluster.server(node).context;
    return `${node} (${cluster.role(node)}, term ${c.currentTerm})`;
  };
  switch (action.kind) {
    case 'timeout':
      return `${action.timer} timeout at ${who(action.node)}`;
    case 'deliver':
    case 'drop':
    case 'duplicate': {
      const m = cluster.inFlight()[action.index];
      return m === undefined ? `${action.kind} #${action.index}` : `${action.kind} ${m.msg.type}(term ${m.msg.term}) ${m.from}→${m.to}`;
    }
    case 'client':
      return `client command ${action.digest} at ${who(action.node)}`;
    case 'crash':
      return `crash ${who(action.node)}`;
    case 'restart':
      return `restart ${action.node}`;
    case 'snapshot':
      return `snapshot at ${who(action.node)} up to ${cluster.server(action.node).context.lastApplied}`;
  }
}

/** Choose the next action. Weights favour progress (delivery) so that runs reach deep states. */
function chooseAction(cluster: SpecCluster, prng: Prng, faults: number, command: number): ClusterAction {
  const up = cluster.voters.filter((id) => cluster.role(id) !== 'down');
  const down = cluster.voters.filter((id) => cluster.role(id) === 'down');
  const leaders = up.filter((id) => cluster.role(id) === 'leader');
  const inFlight = cluster.inFlight().length;
  // Never crash a majority at once: the interesting states need a cluster that can still elect.
  const canCrash = down.length + 1 < Math.floor(cluster.voters.length / 2) + 1;
  const options: [number, () => ClusterAction][] = [
    [inFlight > 0 ? 12 : 0, () => ({ kind: 'deliver', index: prng.int(0, inFlight - 1) })],
    [inFlight > 0 ? 0.6 * faults : 0, () => ({ kind: 'drop', index: prng.int(0, inFlight - 1) })],
    [inFlight > 0 ? 0.4 * faults : 0, () => ({ kind: 'duplicate', index: prng.int(0, inFlight - 1) })],
    // Election timeouts are rare next to deliveries, as randomized timeouts make them (§5.2): often
    // enough to churn leaders, rarely enough that terms last long enough to commit.
    [up.length > 0 ? (leaders.length > 0 ? 0.08 : 0.7) : 0, () => ({ kind: 'timeout', node: prng.pick(up), timer: 'election' })],
    [leaders.length > 0 ? 2 : 0, () => ({ kind: 'timeout', node: prng.pick(leaders), timer: 'heartbeat' })],
    [up.length > 0 ? 2 : 0, () => ({ kind: 'client', node: prng.pick(leaders.length > 0 && prng.chance(0.9) ? leaders : up), digest: `cmd-${command}` })],
    [up.length > 0 && canCrash ? 0.25 * faults : 0, () => ({ kind: 'crash', node: prng.pick(up) })],
    [down.length > 0 ? 1 : 0, () => ({ kind: 'restart', node: prng.pick(down) })],
    [up.length > 0 ? 0.3 : 0, () => ({ kind: 'snapshot', node: prng.pick(up) })],
  ];
  const chosen = options[prng.weighted(options.map(([w]) => w))];
  if (chosen === undefined) throw new Error('no action chosen');
  return chosen[1]();
}

/** Run one seeded exploration. Pure apart from `sink`: same options, same result. */
export function explore(options: ExploreOptions): ExploreResult {
  const nodes = options.nodes ?? 3;
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 9) throw new RangeError(`nodes must be an integer from 1 to 9, got ${nodes}`);
  if (!Number.isInteger(options.steps) || options.steps < 0) throw new RangeError(`steps must be a non-negative integer, got ${options.steps}`);
  const faults = options.faults ?? 1;
  const prng = createPrng(options.seed);
  const cluster = new SpecCluster({
    voters: Array.from({ length: nodes }, (_, i) => `n${i + 1}`),
    machine: options.machine,
    sink: options.sink,
  });
  const stats: ExploreStats = {
    steps: 0, delivered: 0, dropped: 0, duplicated: 0, crashes: 0, restarts: 0,
    elections: 0, clientCommands: 0, snapshots: 0, maxTerm: 0, committed: 0, leadersByTerm: 0,
  };
  const path: string[] = [];
  for (let step = 1; step <= options.steps; step++) {
    const action = chooseAction(cluster, prng, faults, stats.clientCommands + 1);
    path.push(describeAction(cluster, action));
    let violations: readonly InvariantViolation[];
    try {
      violations = cluster.perform(action);
    } catch (error) {
      stats.steps = step;
      const message = error instanceof Error ? error.message : String(error);
      return { seed: options.seed, stats, violations: [], error: message, failedAtStep: step, path };
    }
    stats.steps = step;
    count(stats, action, cluster);
    if (violations.length > 0) return { seed: options.seed, stats, violations, failedAtStep: step, path };
  }
  return { seed: options.seed, stats, violations: [], path };
}

function count(stats: ExploreStats, action: ClusterAction, cluster: SpecCluster): void {
  const kinds: Record<ClusterAction['kind'], keyof ExploreStats | undefined> = {
    deliver: 'delivered', drop: 'dropped', duplicate: 'duplicated', crash: 'crashes', restart: 'restarts',
    client: 'clientCommands', snapshot: 'snapshots', timeout: undefined,
  };
  const key = kinds[action.kind];
  if (key !== undefined) stats[key]++;
  if (action.kind === 'timeout' && action.timer === 'election') stats.elections++;
  const view = cluster.view();
  stats.maxTerm = Math.max(stats.maxTerm, ...view.nodes.map((n) => n.currentTerm));
  stats.committed = view.committed.length;
  stats.leadersByTerm = view.leaders.length;
}
