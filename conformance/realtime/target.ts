/**
 * A third-party target: a Raft implementation we did not write, run in real time (its own timers,
 * its own storage) behind the cluster-under-test interface (cut.ts), with the network between its
 * nodes routed through figure2 (routed-network.ts). `figure2 conform --target <id>` and
 * `figure2 record --target <id>` look targets up in conformance/realtime/targets.ts.
 */
import type { ClusterUnderTest } from '../cut.ts';
import type { CommandKind } from '../commands/base.ts';

export interface TargetRunOptions {
  /** The run's seed: network faults and client choices are drawn from it. */
  readonly seed: number;
  readonly nodes: number;
  readonly clients: number;
  readonly keys: number;
  /** Wall-clock milliseconds one conformance tick stands for. */
  readonly tickMs: number;
  /** The target's timers, in ticks (converted with tickMs). */
  readonly electionTimeoutTicks: { readonly min: number; readonly max: number };
  readonly heartbeatIntervalTicks: number;
  /** Background faults of the routed network. */
  readonly lossProbability: number;
  readonly duplicateProbability: number;
  readonly reorderProbability: number;
  /** A fresh directory for this execution's storage (one sub-directory per node); stop() removes it. */
  readonly dataDir: string;
}

export interface ConformanceTarget {
  readonly id: string;
  /** Name and version, for reports ("@markwylde/liferaft 1.4.0"). */
  readonly name: string;
  /** Why the target cannot run here (not installed, and how to install it), or undefined. */
  unavailable(): string | undefined;
  create(options: TargetRunOptions): ClusterUnderTest;
  readonly defaults: {
    readonly tickMs: number;
    readonly runs: number;
    readonly commandsMax: number;
    readonly livenessTicks: number;
    /** Wall-clock budget for shrinking one failure. */
    readonly shrinkSeconds: number;
  };
  /** Commands that do not apply to this target (e.g. `snapshot` when it has no log compaction). */
  readonly unsupported: readonly CommandKind[];
}
