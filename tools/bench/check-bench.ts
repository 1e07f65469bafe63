/**
 * The checker's rows for `npm run bench`: a ≥ 1,000,000-event trace from the simulator (5 nodes,
 * faults on) checked in a child process — events/s and peak memory — next to the floor measured
 * in the same run: reading and JSON.parse of every line with no checking.
 */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseFaultSpec } from '../../conformance/sim/faults.ts';
import { simulate } from '../../conformance/sim/simulate.ts';
import { NdjsonTraceWriter } from '../../conformance/sim/trace-writer.ts';
import { TraceChecker } from '../../traces/checker/checker.ts';
import { importEtcd } from '../../traces/importers/etcd.ts';
import { checkJepsenHistory, importJepsen } from '../../traces/importers/jepsen.ts';
import { median, type Measurement } from './harness.ts';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./check-child.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));

export interface CheckBenchRow {
  readonly measured: Measurement;
  readonly baseline: Measurement;
  readonly ratio: number;
  readonly peakMemoryBytes: number;
}

/** Writes a simulator trace of at least `events` events; returns its path and event count. */
async function writeTrace(dir: string, events: number): Promise<{ path: string; events: number }> {
  const path = join(dir, 'check-bench.ndjson');
  const spec = parseFaultSpec('loss=0.05,dup=0.05,reorder=0.2,partitions,crashes');
  if (!spec.ok) throw new Error(spec.error);
  // ~43 events per tick for 5 nodes and 4 clients with these faults: size the run, then top it up.
  for (let ticks = Math.ceil(events / 40); ; ticks = Math.ceil(ticks * 1.3)) {
    const lines: string[] = [];
    const writer = new NdjsonTraceWriter({ write: (chunk: string) => void lines.push(chunk) });
    let count = 0;
    const target = { sink: (e: Parameters<NdjsonTraceWriter['sink']>[0]) => { count++; writer.sink(e); }, get ts() { return writer.ts; }, set ts(v: number | undefined) { writer.ts = v; } };
    simulate({ seed: 11, nodes: 5, ticks, faults: spec.spec, snapshotThresholdEntries: 2000, trace: target });
    writer.close();
    if (count < events) continue;
    await writeFile(path, lines.join(''));
    return { path, events: count };
  }
}

interface ChildResult {
  readonly events: number;
  readonly violations: number;
  readonly seconds: number;
  readonly maxRssBytes: number;
}

async function child(mode: 'check' | 'floor', path: string): Promise<ChildResult> {
  const { stdout } = await run(process.execPath, [TSX, CHILD, mode, path], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as ChildResult;
}

function measurement(name: string, results: readonly ChildResult[]): Measurement {
  const rates = results.map((r) => r.events / r.seconds);
  return { name, unit: 'event', units: results[0]?.events ?? 0, runs: results.length, medianPerSecond: median(rates), minPerSecond: Math.min(...rates), maxPerSecond: Math.max(...rates) };
}

export async function checkBenchRows(options: { readonly runs: number; readonly events?: number }): Promise<CheckBenchRow[]> {
  const dir = await mkdtemp(join(tmpdir(), 'figure2-check-bench-'));
  try {
    const trace = await writeTrace(dir, options.events ?? 1_000_000);
    const floor: ChildResult[] = [];
    const check: ChildResult[] = [];
    for (let i = 0; i < options.runs; i++) {
      floor.push(await child('floor', trace.path));
      check.push(await child('check', trace.path));
    }
    const violations = check[0]?.violations ?? 0;
    if (violations > 0) throw new Error(`the checker reported ${violations} violations on a simulator trace (seed 11): a false alarm or a core bug`);
    const measured = measurement(`figure2 check: simulator trace, 5 nodes, faults on (${trace.events} events)`, check);
    const baseline = measurement('read + JSON.parse of every line, no checking', floor);
    return [{ measured, baseline, ratio: measured.medianPerSecond / baseline.medianPerSecond, peakMemoryBytes: median(check.map((c) => c.maxRssBytes)) }];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The real-world corpus (FIGURE2_CORPUS, default ../shared/data): all 29 etcd-io/raft traces
 * imported and checked, and every Jepsen history checked for linearizability — total and worst.
 * Returns report lines, or one line saying the corpus is absent.
 */
export async function corpusBenchLines(options: { readonly runs: number }): Promise<string[]> {
  const corpus = process.env['FIGURE2_CORPUS'] ?? fileURLToPath(new URL('../../../shared/data', import.meta.url));
  const etcdDir = join(corpus, 'etcd-raft-traces');
  let etcdFiles: string[];
  try {
    etcdFiles = (await readdir(etcdDir)).filter((f) => f.endsWith('.ndjson')).sort();
  } catch {
    return [`corpus not found at ${corpus} (set FIGURE2_CORPUS): etcd and Jepsen figures skipped`];
  }
  const etcdTotals: number[] = [];
  let etcdEvents = 0;
  let etcdViolations = 0;
  for (let run = 0; run < options.runs; run++) {
    const started = performance.now();
    etcdEvents = 0;
    etcdViolations = 0;
    for (const f of etcdFiles) {
      const checker = new TraceChecker();
      for await (const item of importEtcd(createReadStream(join(etcdDir, f)), { file: f })) {
        if ('event' in item) checker.feed({ file: f, line: item.line, event: item.event });
      }
      const report = checker.finish();
      etcdEvents += report.events;
      etcdViolations += report.violations.length;
    }
    etcdTotals.push((performance.now() - started) / 1000);
  }
  const jepsenFiles = [
    ...(await readdir(join(corpus, 'jepsen-histories', 'etcd'))).map((f) => join(corpus, 'jepsen-histories', 'etcd', f)),
    ...(await readdir(join(corpus, 'jepsen-histories', 'kv'))).map((f) => join(corpus, 'jepsen-histories', 'kv', f)),
  ].sort();
  let worst = { file: '', ms: 0 };
  let totalMs = 0;
  const verdicts = new Map<string, number>();
  for (const path of jepsenFiles) {
    const imported = importJepsen(await readFile(path, 'utf8'), { file: path });
    if (imported.history === undefined) continue;
    const started = performance.now();
    const result = checkJepsenHistory(imported.history, { shrink: false });
    const ms = performance.now() - started;
    totalMs += ms;
    verdicts.set(result.verdict, (verdicts.get(result.verdict) ?? 0) + 1);
    if (ms > worst.ms) worst = { file: path.slice(corpus.length + 1), ms };
  }
  return [
    `etcd-io/raft corpus: ${etcdFiles.length} traces, ${etcdEvents} events imported and checked in ${median(etcdTotals).toFixed(2)} s (median of ${options.runs}); ${etcdViolations} violations (TLC took 1.5–44 s per trace and rejects 18 of 28)`,
    `Jepsen histories: ${jepsenFiles.length} checked for linearizability in ${totalMs.toFixed(0)} ms in total, worst ${worst.ms.toFixed(1)} ms (${worst.file}); verdicts ${[...verdicts].map(([v, n]) => `${v} ${n}`).join(', ')}`,
  ];
}
