/**
 * `figure2 simulate`: run the reference implementation (impl/core + impl/kv) as a cluster in the
 * seeded simulator (conformance/sim): virtual clock, a network that loses, duplicates, reorders
 * and partitions, disks that lose unsynced writes on a crash, and clients recording a history.
 * Then heal everything and check that the cluster converges. One seed drives it all, so the
 * printed replay command reproduces the run — and its trace — exactly.
 *
 * Exit 0 when the run completes; 1 when a cheap invariant checked along the way broke (S-ES,
 * S-SMS, digests, liveness after healing) or the core asserted; 2 on bad flags. Checking the
 * trace for every rule is `figure2 check`'s job.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { freshSeed } from '../../conformance/prng.ts';
import { formatFaultSpec, parseFaultSpec, type FaultOptions, type FaultSpec } from '../../conformance/sim/faults.ts';
import { simulate, type SimulateResult } from '../../conformance/sim/simulate.ts';
import { NdjsonTraceWriter } from '../../conformance/sim/trace-writer.ts';
import { errorMessage, EXIT, UsageError, type CliIo } from '../io.ts';

/** Flags as commander hands them over (strings), validated here — Zod at the gateway. */
const SimulateFlags = z.object({
  seed: z.coerce.number().int().min(0).max(0x7fffffff).optional(),
  nodes: z.coerce.number().int().min(1).max(9),
  ticks: z.coerce.number().int().min(0).max(10_000_000),
  faults: z.string(),
  clients: z.coerce.number().int().min(0).max(64),
  snapshotEntries: z.coerce.number().int().min(1).max(1_000_000_000),
  healTicks: z.coerce.number().int().min(0).max(1_000_000),
  out: z.string().min(1).optional(),
  json: z.boolean().optional(),
});
export type SimulateFlags = z.infer<typeof SimulateFlags>;

/** What each flag accepts, in words, for the one-line usage error. */
const FLAG_EXPECTATIONS: Readonly<Record<string, string>> = {
  seed: 'an integer from 0 to 2147483647',
  nodes: 'an integer from 1 to 9',
  ticks: 'an integer from 0 to 10000000',
  faults: 'a list like loss=0.1,dup=0.05,reorder=0.2,partitions,crashes (or all, none)',
  clients: 'an integer from 0 to 64',
  snapshotEntries: 'an integer ≥ 1',
  healTicks: 'an integer from 0 to 1000000',
  out: 'a file path',
};
const FLAG_NAMES: Readonly<Record<string, string>> = { snapshotEntries: 'snapshot-entries', healTicks: 'heal-ticks' };

export function registerSimulate(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('simulate')
    .description('run the reference implementation as a cluster in the seeded simulator (network, disk and clock faults, clients), then heal and check it converges')
    .option('--seed <n>', 'seed (an integer from 0 to 2^31-1); a fresh one is drawn and printed when absent')
    .option('--nodes <n>', 'cluster size, 1 to 9', '5')
    .option('--ticks <n>', 'ticks of the fault phase', '20000')
    .option(
      '--faults <list>',
      'faults: loss=P, dup=P, reorder=P, partitions[=P per tick], crashes[=P per tick], torn[=P]; a name alone draws its rate from the seed; all; none',
      'none',
    )
    .option('--clients <n>', 'sequential clients, 0 to 64', '4')
    .option('--snapshot-entries <n>', 'take a local snapshot every N applied entries', '10000')
    .option('--heal-ticks <n>', 'tick budget for the healed cluster to converge (0: skip the liveness phase)', '10000')
    .option('--out <file>', 'write the run as a trace (format v1, NDJSON) to FILE')
    .option('--json', 'print the result as JSON')
    .action(async (opts: Record<string, unknown>) => setExit(await runSimulate(opts, io)));
}

/** Parses the flags, runs one simulation, reports; exit 0 clean, 1 on a violation or an assertion. */
export async function runSimulate(rawFlags: Record<string, unknown>, io: CliIo): Promise<number> {
  const flags = parseFlags(rawFlags);
  const parsedFaults = parseFaultSpec(flags.faults);
  if (!parsedFaults.ok) throw new UsageError(`simulate: --faults ${JSON.stringify(flags.faults)}: ${parsedFaults.error}`);
  const faults: FaultSpec = parsedFaults.spec;
  const seed = flags.seed ?? freshSeed();
  const replay =
    `figure2 simulate --nodes ${flags.nodes} --seed ${seed} --ticks ${flags.ticks} --faults ${formatFaultSpec(faults)} --clients ${flags.clients}` +
    (flags.snapshotEntries === 10_000 ? '' : ` --snapshot-entries ${flags.snapshotEntries}`) +
    (flags.healTicks === 10_000 ? '' : ` --heal-ticks ${flags.healTicks}`);

  // The trace streams to its file as the run goes (a long run's trace does not fit in memory).
  const file = flags.out === undefined ? undefined : openTrace(flags.out);
  const writer = file === undefined ? undefined : new NdjsonTraceWriter({ write: file.write, chunkChars: 1 << 20 });
  let result: SimulateResult;
  try {
    result = simulate({
      seed,
      nodes: flags.nodes,
      ticks: flags.ticks,
      faults,
      clients: flags.clients,
      snapshotThresholdEntries: flags.snapshotEntries,
      healTicksMax: flags.healTicks,
      trace: writer,
      traceMeta: { replay },
    });
  } finally {
    // Whatever happened, the evidence so far is on disk before the report.
    writer?.close();
    file?.close();
  }
  if (file?.failure !== undefined) throw new UsageError(`cannot write ${flags.out}: ${file.failure}`);
  const traceEvents = writer?.events ?? 0;
  if (flags.json === true) {
    io.stdout(`${JSON.stringify({ ...result, seed, replay, trace: flags.out ?? null, traceEvents }, null, 2)}\n`);
  } else {
    io.stdout(formatSimulate(result, { seed, replay, trace: flags.out, traceEvents }));
  }
  return result.ok ? EXIT.OK : EXIT.VIOLATIONS;
}

function parseFlags(rawFlags: Record<string, unknown>): SimulateFlags {
  const parsed = SimulateFlags.safeParse(rawFlags);
  if (parsed.success) return parsed.data;
  const flag = String(parsed.error.issues[0]?.path[0] ?? '?');
  const expected = FLAG_EXPECTATIONS[flag] ?? 'a valid value';
  throw new UsageError(`simulate: --${FLAG_NAMES[flag] ?? flag} ${JSON.stringify(rawFlags[flag])}: expected ${expected}`);
}

/**
 * A file opened for the trace. A write error is the user's path problem (exit 2), not a bug; it
 * is remembered rather than thrown, because throwing inside the run would look like the system
 * under test failing.
 */
function openTrace(path: string): { readonly write: (chunk: string) => void; readonly close: () => void; readonly failure: string | undefined } {
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (err) {
    throw new UsageError(`cannot write ${path}: ${errorMessage(err)}`);
  }
  let open = true;
  let failure: string | undefined;
  return {
    write: (chunk) => {
      if (failure !== undefined) return;
      try {
        writeSync(fd, chunk);
      } catch (err) {
        failure = errorMessage(err);
      }
    },
    close: () => {
      if (open) closeSync(fd);
      open = false;
    },
    get failure() {
      return failure;
    },
  };
}

/** The human report. */
export function formatSimulate(
  result: SimulateResult,
  context: { readonly seed: number; readonly replay: string; readonly trace?: string | undefined; readonly traceEvents: number },
): string {
  const s = result.summary;
  const c = s.clients;
  const i = s.injected;
  const n = s.network;
  const leaders = s.leaders.byTerm.slice(0, 12).map(([term, node]) => `t${term} ${node}`);
  if (s.leaders.byTerm.length > 12) leaders.push(`… (${s.leaders.byTerm.length - 12} more)`);
  const healed = s.convergedAfterTicks === null ? '' : ` + ${s.convergedAfterTicks} healed ticks to converge`;
  const out = [
    `seed ${context.seed}   replay: ${context.replay}`,
    `faults: ${describeFaults(s.faults)}`,
    `${s.faultTicks} ticks${healed} on ${s.nodes} nodes`,
    `leaders: ${s.leaders.terms} terms with a leader (max term ${s.leaders.maxTerm})${leaders.length > 0 ? `: ${leaders.join(', ')}` : ''}`,
    `commands committed: ${s.commandsCommitted} (${s.entriesCommitted} log entries)`,
    `client ops: ${c.invoked} invoked, ${c.ok} ok, ${c.fail} fail, ${c.info} info, ${c.pending} pending ` +
      `(${c.retries} retries, ${c.redirects} redirects, ${c.duplicates} answered from the session cache)`,
    `snapshots: ${s.snapshots.taken} taken, ${s.snapshots.installed} installed from a leader`,
    `messages: ${n.sent} sent, ${n.delivered} delivered`,
    `faults injected: ${i.drops} drops (loss ${n.droppedLoss}, partition ${n.droppedPartition}, down ${n.droppedDown}, overflow ${n.droppedOverflow}), ` +
      `${i.duplicates} dups, ${i.reorders} reordered, ${i.partitions} partitions, ${i.oneWayCuts} one-way cuts, ` +
      `${i.crashes} crashes (${i.restarts} restarts), ${i.lostDiskBatches} unsynced disk batches lost, ${i.tornDiskBatches} kept torn`,
  ];
  if (context.trace !== undefined) out.push(`trace: ${context.trace} (${context.traceEvents} events, format v1)`);
  if (result.violation !== undefined) {
    out.push(`VIOLATION ${result.violation.message}`);
    out.push(`replay with: ${context.replay}`);
  } else if (result.error !== undefined) {
    out.push(`FAILED at tick ${result.error.tick}: ${result.error.name}: ${result.error.message}`);
    out.push(`replay with: ${context.replay}`);
  } else {
    const liveness = s.convergedAfterTicks === null ? '' : ', liveness after healing';
    out.push(`checked as it ran (S-ES, S-SMS, state machine digests${liveness}): no violation`);
  }
  return `${out.join('\n')}\n`;
}

function describeFaults(f: FaultOptions): string {
  const parts: string[] = [];
  if (f.lossProbability > 0) parts.push(`loss ${f.lossProbability}`);
  if (f.duplicateProbability > 0) parts.push(`dup ${f.duplicateProbability}`);
  if (f.reorderProbability > 0) parts.push(`reorder ${f.reorderProbability}`);
  if (f.partitionProbabilityPerTick > 0) {
    parts.push(`partitions ${f.partitionProbabilityPerTick}/tick (${f.partitionTicksMin}–${f.partitionTicksMax} ticks, ${Math.round(f.oneWayCutShare * 100)}% one-way)`);
  }
  if (f.crashProbabilityPerTick > 0) {
    parts.push(`crashes ${f.crashProbabilityPerTick}/tick (down ${f.downTicksMin}–${f.downTicksMax} ticks, at most ${f.maxDownNodes} down)`);
  }
  if (f.tornWriteProbability > 0) parts.push(`torn writes ${f.tornWriteProbability}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}
