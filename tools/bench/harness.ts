/**
 * A small benchmark harness: warm up, run a workload several times, report the median rate and
 * its ratio to a baseline measured in the same process, so that figures from different machines
 * (or a busy one) stay comparable. Wall-clock time via performance.now(): benchmarks live in
 * tools/, never in spec/ or impl/core/.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
export interface Workload {
  readonly name: string;
  /** What one unit of work is ("event", "step"), for the report. */
  readonly unit: string;
  /** Runs the workload once and returns how many units it processed. */
  readonly run: () => number | Promise<number>;
}

export interface Measurement {
  readonly name: string;
  readonly unit: string;
  readonly units: number;
  readonly runs: number;
  /** Median over the runs of units per second. */
  readonly medianPerSecond: number;
  readonly minPerSecond: number;
  readonly maxPerSecond: number;
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export async function measure(workload: Workload, options: { runs: number; warmups: number }): Promise<Measurement> {
  for (let i = 0; i < options.warmups; i++) await workload.run();
  const rates: number[] = [];
  let units = 0;
  for (let i = 0; i < options.runs; i++) {
    const start = performance.now();
    units = await workload.run();
    const seconds = (performance.now() - start) / 1000;
    rates.push(units / seconds);
  }
  return {
    name: workload.name,
    unit: workload.unit,
    units,
    runs: options.runs,
    medianPerSecond: median(rates),
    minPerSecond: Math.min(...rates),
    maxPerSecond: Math.max(...rates),
  };
}

/** "1.23 M", "45.6 k": rates for humans. */
export function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)} M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)} k`;
  return perSecond.toFixed(1);
}

/** True when the module at `moduleUrl` (its `import.meta.url`) is the script node was started with. */
export function isMainModule(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
