/**
 * Mutation testing's cost and power (`npx tsx tools/bench/mutate-bench.ts [--runs N] [--json]`):
 * the whole catalog with the quick budget, as CI runs it — total wall time (target: under 5
 * minutes on this 2-core machine), seconds and runs to kill, shrunk lengths, who detected what —
 * next to the baseline measured in the same run (the unmutated implementation on the same
 * campaigns), so that figures from a busy machine can be told from a slow suite.
 */
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { DEFAULT_JOBS, DEFAULT_SEED, QUICK_BUDGET_RUNS } from '../commands/mutate.ts';
import { CATALOG } from '../mutate/catalog/index.ts';
import { counts, medianSecondsToKill } from '../mutate/report.ts';
import { runMutants } from '../mutate/runner.ts';
import type { MutationReport } from '../mutate/types.ts';
import { isMainModule, median } from './harness.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
/** The catalog's target on this machine. */
const TARGET_SECONDS = 300;

export interface MutateBench {
  readonly totalSeconds: number;
  readonly report: MutationReport;
  readonly loadAverage: number;
}

/** One run of the whole catalog with the quick budget. */
export async function benchOnce(): Promise<MutateBench> {
  const loadAverage = loadavg()[0] ?? 0;
  const report = await runMutants({ root: ROOT, mutants: CATALOG, campaign: { seed: DEFAULT_SEED, runs: QUICK_BUDGET_RUNS }, jobs: DEFAULT_JOBS });
  return { totalSeconds: report.seconds, report, loadAverage };
}

function max(values: readonly number[]): number {
  return values.length === 0 ? 0 : Math.max(...values);
}

/** The bench's lines for a set of runs (the figures of the run with the median total). */
export function benchLines(benches: readonly MutateBench[]): string[] {
  const totals = benches.map((b) => b.totalSeconds);
  const mid = [...benches].sort((a, b) => a.totalSeconds - b.totalSeconds)[Math.floor((benches.length - 1) / 2)] as MutateBench;
  const results = mid.report.results;
  const killed = results.filter((r) => r.status === 'killed');
  const c = counts(results);
  const detectors = new Map<string, number>();
  for (const r of killed) detectors.set(r.detector ?? '?', (detectors.get(r.detector ?? '?') ?? 0) + 1);
  const runs = killed.map((r) => r.runs ?? 0);
  const shrunk = killed.map((r) => r.shrunk ?? 0);
  const seconds = killed.map((r) => r.seconds ?? 0);
  const prepare = results.slice(1).map((r) => r.prepareSeconds ?? 0);
  const wall = killed.map((r) => r.wallSeconds ?? 0);
  const total = median(totals);
  return [
    `figure2 mutate, whole catalog (${results.length} mutants), quick budget ${mid.report.campaign.runs} runs, seed ${mid.report.campaign.seed}, ${mid.report.jobs} workers: ${total.toFixed(1)} s total${benches.length > 1 ? ` (median of ${benches.length})` : ''} — target < ${TARGET_SECONDS} s ${total < TARGET_SECONDS ? 'met' : 'MISSED'}; ${c.killed + c.timeout}/${results.length - c.error} detected, ${c.survived} survived, ${c.error} errors`,
    `  seconds to kill (figure2 conform's campaign seconds, shrinking included): median ${(medianSecondsToKill(results) ?? 0).toFixed(2)} s, max ${max(seconds).toFixed(2)} s; worker wall time: median ${wall.length > 0 ? median(wall).toFixed(1) : '0'} s`,
    `  runs to kill: median ${runs.length > 0 ? median(runs) : 0}, max ${max(runs)}; shrunk counterexample: median ${shrunk.length > 0 ? median(shrunk) : 0} commands, max ${max(shrunk)}`,
    `  detected by: ${[...detectors].sort((a, b) => b[1] - a[1]).map(([d, n]) => `${d} ${n}`).join(', ')}`,
    `  apply + type-check per mutant (ts-morph, edited files only): median ${prepare.length > 0 ? median(prepare).toFixed(2) : '0'} s, first ${(results[0]?.prepareSeconds ?? 0).toFixed(1)} s (loads the project)`,
    `  baseline, same run (the unmutated implementation on every run that killed a mutant): ${mid.report.baseline.map((b) => `${b.nodes} nodes ${b.runs} runs ${b.seconds.toFixed(1)} s${b.ok ? '' : ' FAILED'}`).join(', ')}`,
    `  machine: ${cpus().length} cpus, load average ${mid.loadAverage.toFixed(1)} at start`,
  ];
}

if (isMainModule(import.meta.url)) {
  const args = process.argv.slice(2);
  const runs = Number(args[args.indexOf('--runs') + 1] ?? 1) || 1;
  const benches: MutateBench[] = [];
  for (let i = 0; i < runs; i++) benches.push(await benchOnce());
  if (args.includes('--json')) {
    process.stdout.write(`${JSON.stringify({ lines: benchLines(benches), totals: benches.map((b) => b.totalSeconds), report: benches[0]?.report }, null, 2)}\n`);
  } else {
    for (const line of benchLines(benches)) process.stdout.write(`${line}\n`);
  }
}
