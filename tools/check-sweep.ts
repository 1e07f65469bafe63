/**
 * `npm run sweep -- [--from 31] [--runs 1000] [--ticks 1200]`: the checker's acceptance sweep —
 * the simulator with every fault enabled on `runs` consecutive seeds (3, 5 and 7 nodes in turn),
 * each trace checked in full; then every etcd-io/raft trace of the corpus (FIGURE2_CORPUS). A
 * correct implementation must give zero violations: any violation is a false alarm of the checker
 * or a bug of the reference core, printed with its seed. Exit 0 clean, 1 otherwise. Too long for
 * CI (about 3 minutes for 1,000 runs); the test suite runs a few seeds of it.
 */
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFaultSpec } from '../conformance/sim/faults.ts';
import { simulate } from '../conformance/sim/simulate.ts';
import type { TraceEvent } from '../spec/schemas/trace-events.ts';
import { TraceChecker } from '../traces/checker/checker.ts';
import { importEtcd } from '../traces/importers/etcd.ts';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const value = i < 0 ? fallback : Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(value) || value < 0) {
    process.stderr.write(`sweep: --${name} takes a non-negative integer\n`);
    process.exit(2);
  }
  return value;
};
const from = arg('from', 31);
const runs = arg('runs', 1000);
const ticks = arg('ticks', 1200);
const spec = parseFaultSpec('all');
if (!spec.ok) throw new Error(spec.error);

const started = performance.now();
let failures = 0;
let events = 0;
for (let seed = from; seed < from + runs; seed++) {
  const checker = new TraceChecker();
  let line = 0;
  const nodes = [3, 5, 7][seed % 3] as number;
  // Through JSON, as a trace file would carry the events.
  const sink = (e: TraceEvent): void => checker.feed({ file: `seed ${seed}`, line: ++line, event: JSON.parse(JSON.stringify(e)) as TraceEvent });
  simulate({ seed, nodes, ticks, faults: spec.spec, snapshotThresholdEntries: 40, trace: { sink, ts: undefined } });
  const report = checker.finish();
  events += report.events;
  if (report.violations.length > 0 || checker.errors.length > 0) {
    failures++;
    const first = report.violations[0];
    process.stdout.write(`seed ${seed} (${nodes} nodes): ${first === undefined ? checker.errors[0]?.message : `${first.rule} at event ${first.at.line}: ${first.message}`}\n`);
  }
}
const corpus = process.env['FIGURE2_CORPUS'] ?? fileURLToPath(new URL('../../shared/data', import.meta.url));
let etcd = 0;
try {
  const dir = join(corpus, 'etcd-raft-traces');
  for (const f of (await readdir(dir)).filter((x) => x.endsWith('.ndjson'))) {
    const checker = new TraceChecker();
    for await (const item of importEtcd(createReadStream(join(dir, f)), { file: f })) if ('event' in item) checker.feed({ file: f, line: item.line, event: item.event });
    const report = checker.finish();
    events += report.events;
    etcd++;
    if (report.violations.length > 0 || checker.errors.length > 0) {
      failures++;
      process.stdout.write(`${f}: ${report.violations[0]?.rule ?? 'input'} ${report.violations[0]?.message ?? checker.errors[0]?.message}\n`);
    }
  }
} catch {
  process.stdout.write(`corpus not found at ${corpus} (set FIGURE2_CORPUS): etcd traces skipped\n`);
}
process.stdout.write(`${runs} simulator runs (seeds ${from}..${from + runs - 1}, every fault, ${ticks} ticks) and ${etcd} etcd traces: ${events} events, ${failures} with a violation, ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
process.exit(failures === 0 ? 0 : 1);
