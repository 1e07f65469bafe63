/**
 * `npm run bench`: throughput of what exists, each workload next to a baseline measured in the
 * same run (median of several runs):
 *
 * - trace ingestion — `figure2 validate`'s reader (split, JSON.parse, Zod validation of every
 *   line) over a trace the spec explorer wrote, against the floor of any NDJSON reader: split
 *   and JSON.parse alone;
 * - the spec statechart — XState `transition()` steps of three spec servers replicating client
 *   commands, against `transition()` of a two-state toggle machine (XState's own per-step floor);
 * - spec exploration — steps of `figure2 explore` (cluster, trace, Figure 3 checks after every
 *   step), against the statechart steps alone.
 *
 * Flags: --runs N (default 5), --json, --only SECTIONS (comma-separated: spec, sim, check, conform,
 * wal, target, mutate; all by default). The target section (target-bench.ts) measures the liferaft
 * target; the mutate section (mutate-bench.ts) runs the mutation catalog once. The WAL section (wal-bench.ts) measures appends against a raw
 * write + fdatasync loop on the same disk, and recovery times.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMachine, initialTransition, transition } from 'xstate';
import { explore } from '../../conformance/spec-explore.ts';
import type { TraceEvent } from '../../spec/schemas/trace-events.ts';
import { messageEvent, type ServerEvent } from '../../spec/statechart/server-context.ts';
import { serverMachine } from '../../spec/statechart/server-machine.ts';
import { readTraceBatches } from '../../traces/reader.ts';
import { formatRate, measure, type Measurement, type Workload } from './harness.ts';
import { checkBenchRows, corpusBenchLines } from './check-bench.ts';
import { conformBenchLines } from './conform-bench.ts';
import { simBenchRows } from './sim-bench.ts';
import { benchLines as mutateBenchLines, benchOnce as mutateBenchOnce } from './mutate-bench.ts';
import { targetBenchLines } from './target-bench.ts';
import { walBenchLines } from './wal-bench.ts';

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1] ?? 5) || 5;
const asJson = args.includes('--json');
/** `--only wal,conform`: run just those sections (spec, sim, check, conform, wal); all by default. */
const onlyArg = args.indexOf('--only') >= 0 ? (args[args.indexOf('--only') + 1] ?? '') : '';
const SECTIONS = ['spec', 'sim', 'check', 'conform', 'wal', 'target', 'mutate'] as const;
const only = new Set(onlyArg === '' ? SECTIONS : onlyArg.split(','));
for (const name of only) if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`--only ${onlyArg}: unknown section ${name} (sections: ${SECTIONS.join(', ')})`);
const wants = (section: (typeof SECTIONS)[number]): boolean => only.has(section);

/** A trace of about `events` events, written by the spec explorer (seeded: the same every run). */
async function writeExplorerTrace(dir: string, events: number): Promise<{ path: string; count: number }> {
  const lines: string[] = [];
  for (let seed = 1; lines.length < events; seed++) {
    explore({ seed, steps: 2000, sink: (e: TraceEvent) => void lines.push(JSON.stringify(e)) });
  }
  // One trace per seed would restart the header; keep the first header only.
  const body = lines.filter((line, i) => i === 0 || !line.startsWith('{"ev":"header"')).join('\n');
  const path = join(dir, 'bench-trace.ndjson');
  await writeFile(path, `${body}\n`);
  return { path, count: lines.length };
}

/** Split a file into lines and JSON.parse each: the floor any NDJSON reader pays. */
async function parseOnly(path: string): Promise<number> {
  let count = 0;
  let rest = '';
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 16 })) {
    const parts = (rest + (chunk as string)).split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) {
      if (line.length === 0) continue;
      JSON.parse(line);
      count++;
    }
  }
  if (rest.length > 0) {
    JSON.parse(rest);
    count++;
  }
  return count;
}

async function readValidated(path: string): Promise<number> {
  let count = 0;
  for await (const batch of readTraceBatches(createReadStream(path))) {
    for (const line of batch) {
      if ('error' in line) throw new Error(`bench trace line ${line.line}: ${line.error.message}`);
      count++;
    }
  }
  return count;
}

/** Three spec servers elect a leader, then replicate `commands` client commands, delivering everything. */
function replicateThroughSpec(commands: number): number {
  const ids = ['n1', 'n2', 'n3'];
  const servers = new Map(ids.map((id) => [id, initialTransition(serverMachine, { id, voters: ids })[0]]));
  const wire: { from: string; to: string; event: ServerEvent }[] = [];
  let transitions = 0;
  const step = (id: string, event: ServerEvent): void => {
    const before = servers.get(id);
    if (before === undefined) throw new Error(`no server ${id}`);
    const [after, actions] = transition(serverMachine, before, event);
    transitions++;
    servers.set(id, after);
    for (const action of actions as readonly { type: string; params?: unknown }[]) {
      if (action.type !== 'xstate.emit') continue;
      const emitted = (action.params as { event: { type: string; to?: string; msg?: unknown } }).event;
      if (emitted.type !== 'SEND' || emitted.to === undefined) continue;
      const next = messageEvent(id, emitted.msg as Parameters<typeof messageEvent>[1]);
      if (next !== undefined) wire.push({ from: id, to: emitted.to, event: next });
    }
  };
  const drain = (): void => {
    for (let m = wire.shift(); m !== undefined; m = wire.shift()) step(m.to, m.event);
  };
  step('n1', { type: 'ELECTION_TIMEOUT' });
  drain();
  for (let c = 0; c < commands; c++) {
    step('n1', { type: 'CLIENT_REQUEST', digest: `put k${c}` });
    drain();
  }
  const leader = servers.get('n1');
  if (leader?.context.commitIndex !== commands) throw new Error(`spec replication bench committed ${leader?.context.commitIndex}, expected ${commands}`);
  return transitions;
}

const toggle = createMachine({ id: 'toggle', initial: 'off', states: { off: { on: { FLIP: 'on' } }, on: { on: { FLIP: 'off' } } } });
function toggleSteps(count: number): number {
  let [snapshot] = initialTransition(toggle);
  for (let i = 0; i < count; i++) [snapshot] = transition(toggle, snapshot, { type: 'FLIP' });
  return count;
}

interface Row {
  readonly measured: Measurement;
  readonly baseline: Measurement;
  /** measured / baseline: how the work compares with its floor. */
  readonly ratio: number;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'figure2-bench-'));
  try {
    const trace = await writeExplorerTrace(dir, 60_000);
    const options = { runs, warmups: 1 };
    const pair = async (measured: Workload, baseline: Workload): Promise<Row> => {
      const b = await measure(baseline, options);
      const m = await measure(measured, options);
      return { measured: m, baseline: b, ratio: m.medianPerSecond / b.medianPerSecond };
    };
    const specSteps: Workload = { name: 'spec statechart: 3 servers replicate 300 commands', unit: 'step', run: () => replicateThroughSpec(300) };
    const rows = [
      ...(!wants('spec') ? [] : [await pair(
        { name: `trace ingestion: readTraceBatches + Zod (${trace.count} events)`, unit: 'event', run: () => readValidated(trace.path) },
        { name: 'split + JSON.parse only', unit: 'event', run: () => parseOnly(trace.path) },
      ),
      await pair(specSteps, { name: 'XState transition(), toggle machine', unit: 'step', run: () => toggleSteps(20_000) }),
      await pair(
        { name: 'spec explore: cluster + trace + Figure 3 checks', unit: 'step', run: () => explore({ seed: 1, steps: 2000, sink: () => {} }).stats.steps },
        specSteps,
      )]),
      ...(wants('sim') ? await simBenchRows({ runs }) : []),
    ];
    // The checker runs in child processes (peak memory is its own): 3 runs of each, not `runs`.
    const checkRows = wants('check') ? await checkBenchRows({ runs: Math.min(runs, 3) }) : [];
    const corpusLines = wants('check') ? await corpusBenchLines({ runs: Math.min(runs, 3) }) : [];
    const conformLines = wants('conform') ? await conformBenchLines({ runs: Math.min(runs, 3) }) : [];
    const walLines = wants('wal') ? await walBenchLines({ runs: Math.min(runs, 3) }) : [];
    const targetLines = wants('target') ? await targetBenchLines() : [];
    // The mutation catalog takes minutes: one run of it (its own bench takes --runs).
    const mutateLines = wants('mutate') ? mutateBenchLines([await mutateBenchOnce()]) : [];
    if (asJson) {
      process.stdout.write(`${JSON.stringify({ node: process.version, cpus: cpus().length, runs, rows, checkRows, corpus: corpusLines, conform: conformLines, wal: walLines, target: targetLines, mutate: mutateLines }, null, 2)}\n`);
      return;
    }
    const lines = [
      `figure2 bench — node ${process.version}, ${cpus().length} cpus, median of ${runs} runs after 1 warm-up`,
      '',
      ...rows.flatMap((r) => [
        `${r.measured.name}`,
        `    ${formatRate(r.measured.medianPerSecond)} ${r.measured.unit}/s  (min ${formatRate(r.measured.minPerSecond)}, max ${formatRate(r.measured.maxPerSecond)})`,
        `    baseline ${r.baseline.name}: ${formatRate(r.baseline.medianPerSecond)} ${r.baseline.unit}/s   ratio ${r.ratio.toFixed(3)}×`,
      ]),
    ];
    for (const r of checkRows) {
      lines.push(
        `${r.measured.name}`,
        `    ${formatRate(r.measured.medianPerSecond)} ${r.measured.unit}/s, peak memory ${(r.peakMemoryBytes / 2 ** 20).toFixed(0)} MiB  (min ${formatRate(r.measured.minPerSecond)}, max ${formatRate(r.measured.maxPerSecond)})`,
        `    baseline ${r.baseline.name}: ${formatRate(r.baseline.medianPerSecond)} ${r.baseline.unit}/s   ratio ${r.ratio.toFixed(3)}× (checking costs ${(1 / r.ratio).toFixed(2)}× the floor)`,
      );
    }
    lines.push(...corpusLines, ...conformLines, ...walLines, ...targetLines, ...mutateLines);
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
