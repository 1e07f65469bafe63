/**
 * Third-party targets for `npm run bench` (section `target`): how long the suite takes to find
 * its first violation in a real implementation (liferaft, 3 nodes, real time), shrinking and
 * replays included, over several campaign seeds; and the wall-clock cost of a real-time run
 * against the baseline of the same seeds' runs on the simulator, measured in the same process.
 */
import { LIFERAFT_TARGET } from '../../conformance/adapters/liferaft.ts';
import { runConformance } from '../../conformance/runner.ts';
import { median } from './harness.ts';

const SEEDS = [100, 200, 300];
const RUNS_MAX = 10;

export async function targetBenchLines(): Promise<string[]> {
  const lines: string[] = [];
  const why = LIFERAFT_TARGET.unavailable();
  if (why !== undefined) return [`liferaft target: not measured (${why})`];
  const seconds: number[] = [];
  const runs: number[] = [];
  const shrunk: number[] = [];
  const rules = new Set<string>();
  let replays = 0;
  let same = 0;
  for (const seed of SEEDS) {
    const started = performance.now();
    const result = await runConformance({ seed, runs: RUNS_MAX, nodes: 3, target: LIFERAFT_TARGET, failFast: true, shrinkSeconds: 20, replays: 3 });
    const failure = result.failures[0];
    if (failure === undefined) continue;
    seconds.push((performance.now() - started) / 1000);
    runs.push(result.runs);
    shrunk.push(failure.commands.length);
    rules.add(failure.violation.rule);
    replays += failure.reproduced.of;
    same += failure.reproduced.same;
  }
  lines.push(
    seconds.length === 0
      ? `liferaft target: no violation in ${RUNS_MAX} runs × ${SEEDS.length} seeds`
      : `liferaft target (3 nodes, real time, 10 ms ticks): first violation on ${seconds.length}/${SEEDS.length} seeds, median ${median(runs)} runs and ${median(seconds).toFixed(1)} s to a shrunk, replayed failure (max ${Math.max(...seconds).toFixed(1)} s; 20 s shrink budget, 3 replays), median shrunk length ${median(shrunk)}, as ${[...rules].join(', ')}; the shrunk scenarios failed the same way in ${same} of ${replays} replays`,
  );
  // Real time against the simulator: the same seeds, swarms and command lists. The liferaft runs
  // stop at their first violation, so seconds per *command* is the comparable figure.
  const rt = await runConformance({ seed: 1, runs: 4, nodes: 3, target: LIFERAFT_TARGET, shrinkSeconds: 0, replays: 1 });
  const sim = await runConformance({ seed: 1, runs: 4, nodes: 3 });
  const rtPerCommand = rt.seconds / Math.max(1, rt.commands);
  const simPerCommand = sim.seconds / Math.max(1, sim.commands);
  lines.push(
    `  wall clock per command: liferaft ${(rtPerCommand * 1000).toFixed(0)} ms (${rt.commands} commands in ${rt.seconds.toFixed(1)} s, process start-up and shrinking included); baseline, the reference core on the simulator, same seeds: ${(simPerCommand * 1000).toFixed(2)} ms; ratio ${(rtPerCommand / simPerCommand).toFixed(0)}×`,
  );
  return lines;
}
