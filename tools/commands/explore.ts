/**
 * `figure2 explore`: drive a cluster of spec statecharts through a seeded random schedule of
 * elections, client commands, message loss/duplication/reordering, crashes, restarts and
 * snapshots, checking every Figure 3 property after every step. It is the main job until the
 * conformance suite lands (`npm start`). The seed is always printed; the same seed replays.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { explore, type ExploreResult } from '../../conformance/spec-explore.ts';
import { freshSeed } from '../../conformance/prng.ts';
import type { TraceEvent } from '../../spec/schemas/trace-events.ts';
import { emit, EXIT, UsageError, type CliIo } from '../io.ts';

/** Flags as commander hands them over (strings), validated here — Zod at the gateway. */
const ExploreFlags = z.object({
  seed: z.coerce.number().int().min(0).max(0x7fffffff).optional(),
  steps: z.coerce.number().int().min(0).max(1_000_000),
  nodes: z.coerce.number().int().min(1).max(9),
  faults: z.coerce.number().min(0).max(10),
  trace: z.string().min(1).optional(),
  json: z.boolean().optional(),
});
export type ExploreFlags = z.infer<typeof ExploreFlags>;

/** What each flag accepts, in words, for the one-line usage error. */
const FLAG_EXPECTATIONS: Readonly<Record<string, string>> = {
  seed: 'an integer from 0 to 2147483647',
  steps: 'an integer from 0 to 1000000',
  nodes: 'an integer from 1 to 9',
  faults: 'a number from 0 to 10',
  trace: 'a file path',
};

export function registerExplore(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('explore')
    .description('run the spec statechart as a cluster under a seeded random schedule, checking Figure 3 after every step')
    .option('--seed <n>', 'seed (an integer from 0 to 2^31-1); a fresh one is drawn and printed when absent')
    .option('--steps <n>', 'number of steps', '2000')
    .option('--nodes <n>', 'cluster size, 1 to 9', '3')
    .option('--faults <x>', 'fault intensity: 0 = perfect network, no crashes; 1 = default mix', '1')
    .option('--trace <file>', 'write the run as a trace (format v1, NDJSON) to FILE')
    .option('--json', 'print the result as JSON')
    .action(async (opts: Record<string, unknown>) => setExit(await runExplore(opts, io)));
}

/** Parses the flags, runs one exploration, reports; exit 0 clean, 1 on a violation or spec error. */
export async function runExplore(rawFlags: Record<string, unknown>, io: CliIo): Promise<number> {
  const parsed = ExploreFlags.safeParse(rawFlags);
  if (!parsed.success) {
    const flag = String(parsed.error.issues[0]?.path[0] ?? '?');
    const expected = FLAG_EXPECTATIONS[flag] ?? 'a valid value';
    throw new UsageError(`explore: --${flag} ${JSON.stringify(rawFlags[flag])}: expected ${expected}`);
  }
  const flags = parsed.data;
  const seed = flags.seed ?? freshSeed();
  const lines: string[] = [];
  const sink = flags.trace === undefined ? undefined : (event: TraceEvent): void => void lines.push(JSON.stringify(event));
  const result = explore({ seed, steps: flags.steps, nodes: flags.nodes, faults: flags.faults, sink });
  const replay = `figure2 explore --seed ${seed} --steps ${flags.steps} --nodes ${flags.nodes} --faults ${flags.faults}`;
  const failed = result.violations.length > 0 || result.error !== undefined;

  if (flags.trace !== undefined) {
    // The trace goes to its file first, so that a failing run's evidence is on disk before the report.
    await emit({ ...io, stdout: () => {} }, lines.join('\n'), flags.trace);
  }
  if (flags.json === true) {
    io.stdout(`${JSON.stringify({ ...result, replay, ok: !failed, trace: flags.trace ?? null }, null, 2)}\n`);
  } else {
    io.stdout(formatExplore(result, { replay, nodes: flags.nodes, trace: flags.trace, traceEvents: lines.length }));
  }
  return failed ? EXIT.VIOLATIONS : EXIT.OK;
}

/** The human report. */
export function formatExplore(
  result: ExploreResult,
  context: { readonly replay: string; readonly nodes: number; readonly trace?: string | undefined; readonly traceEvents: number },
): string {
  const s = result.stats;
  const out = [
    `seed ${result.seed}   replay: ${context.replay}`,
    `${s.steps} steps on ${context.nodes} spec servers: ${s.delivered} delivered, ${s.dropped} dropped, ${s.duplicated} duplicated, ` +
      `${s.crashes} crashes, ${s.restarts} restarts, ${s.snapshots} snapshots`,
    `${s.elections} election timeouts, ${s.leadersByTerm} leaders elected (max term ${s.maxTerm}), ${s.clientCommands} client commands, ${s.committed} entries committed`,
  ];
  if (context.trace !== undefined) out.push(`trace: ${context.trace} (${context.traceEvents} events, format v1)`);
  if (result.error !== undefined) {
    out.push(`FAILED at step ${result.failedAtStep}: a server or the checker threw: ${result.error}`);
  }
  for (const v of result.violations) out.push(`VIOLATION ${v.rule} at step ${result.failedAtStep}: ${v.message}`);
  if (result.violations.length > 0 || result.error !== undefined) {
    const tail = result.path.slice(-15);
    out.push(`last ${tail.length} of ${result.path.length} steps (all with --json):`);
    tail.forEach((action, i) => out.push(`  ${result.path.length - tail.length + i + 1}. ${action}`));
  } else {
    out.push('Figure 3 checked after every step (S-ES, S-LAO, S-LM, S-LC, S-SMS): no violation');
  }
  return `${out.join('\n')}\n`;
}
