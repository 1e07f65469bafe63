/**
 * The conformance suite's rows for `npm run bench`: runs and commands per second of the default
 * profile against the reference core, and, for each deliberately buggy core, the median time to
 * detection and the median shrunk length over several campaign seeds (targets: < 10 s, ≤ 25).
 */
import { BUGGY_CORES } from '../../conformance/buggy-cores.ts';
import { runConformance } from '../../conformance/runner.ts';
import { median } from './harness.ts';

/** Campaign seeds per buggy core, and runs per campaign before giving up. */
const SEEDS = [1, 2, 3, 4, 5];
const RUNS_MAX = 60;

export async function conformBenchLines(options: { readonly runs: number }): Promise<string[]> {
  const lines: string[] = [];
  const rates: { runs: number; commands: number }[] = [];
  const avgCommands: number[] = [];
  for (let i = 0; i < options.runs; i++) {
    const started = performance.now();
    const result = await runConformance({ seed: 1000 + i, runs: 100 });
    avgCommands.push(result.commands / result.runs);
    const seconds = (performance.now() - started) / 1000;
    if (!result.ok) throw new Error(`the reference core failed figure2 conform (seed ${1000 + i}): ${result.failures[0]?.violation.rule}`);
    rates.push({ runs: result.runs / seconds, commands: result.commands / seconds });
  }
  lines.push(
    `figure2 conform, default profile (100 runs, reference core): ${median(rates.map((r) => r.runs)).toFixed(0)} runs/s, ${median(rates.map((r) => r.commands)).toFixed(0)} commands/s, ${median(avgCommands).toFixed(1)} commands per run (median of ${options.runs})`,
  );
  for (const core of BUGGY_CORES) {
    const seconds: number[] = [];
    const shrunk: number[] = [];
    const rules = new Set<string>();
    const runsToDetection: number[] = [];
    for (const seed of SEEDS) {
      // One run at a time, so that the time measured is the time to the first detection.
      // Fail-fast: the time measured is the time to the first detection, shrinking included.
      const started = performance.now();
      const result = await runConformance({ seed: seed * 1000, runs: RUNS_MAX, nodes: 3, coreId: core.id, failFast: true });
      const failure = result.failures[0];
      if (failure === undefined) continue;
      seconds.push((performance.now() - started) / 1000);
      shrunk.push(failure.commands.length);
      runsToDetection.push(result.runs);
      rules.add(failure.violation.rule);
    }
    lines.push(
      seconds.length === 0
        ? `  buggy core ${core.id} (${core.rule}): not caught by figure2 conform in ${RUNS_MAX} runs × ${SEEDS.length} seeds (its targeted scenario in test/conformance/buggy-cores.test.ts catches it)`
        : `  buggy core ${core.id} (${core.rule}): caught on ${seconds.length}/${SEEDS.length} seeds, median ${median(runsToDetection)} runs and ${median(seconds).toFixed(2)} s to detection (max ${Math.max(...seconds).toFixed(2)} s), median shrunk length ${median(shrunk)} commands, as ${[...rules].join(', ')}`,
    );
  }
  return lines;
}
