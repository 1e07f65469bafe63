/**
 * `figure2 record --target <id> --out trace.ndjson`: one seeded run of the conformance commands
 * against a third-party target, recorded as a trace v1 file and not checked — for
 * `figure2 check trace.ndjson`, or for any other tool. Exit 0 when the trace is written, 2 on bad
 * flags or an unavailable target.
 */
import { accessSync, constants, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { freshSeed } from '../../conformance/prng.ts';
import { TARGETS, targetById } from '../../conformance/realtime/targets.ts';
import { recordRun } from '../../conformance/runner.ts';
import { EXIT, UsageError, type CliIo } from '../io.ts';

const Flags = z.object({
  target: z.string().min(1),
  out: z.string().min(1),
  seed: z.coerce.number().int().min(0).max(0x7fffffff).optional(),
  nodes: z.coerce.number().int().min(1).max(9).optional(),
  commands: z.coerce.number().int().min(1).max(10_000).optional(),
  tickMs: z.coerce.number().int().min(1).max(10_000).optional(),
});

export function registerRecord(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('record')
    .description('record one seeded run of the conformance commands against a third-party target as a trace (not checked: see figure2 check)')
    .requiredOption('--target <id>', `the implementation: ${TARGETS.map((t) => t.id).join(', ')}`)
    .requiredOption('--out <file>', 'the trace file to write (NDJSON, trace format v1)')
    .option('--seed <n>', 'seed of the command list and the faults; fresh when absent (printed)')
    .option('--nodes <n>', 'cluster size (default: drawn from the seed: 3, 5 or 7)')
    .option('--commands <n>', "commands, at most (default: the target's)")
    .option('--tick-ms <ms>', "milliseconds per tick (default: the target's); the target's timers scale with it")
    .action(async (opts: Record<string, unknown>) => setExit(await runRecord(opts, io)));
}

export async function runRecord(raw: Record<string, unknown>, io: CliIo): Promise<number> {
  const parsed = Flags.safeParse(raw);
  if (!parsed.success) {
    const flag = String(parsed.error.issues[0]?.path[0] ?? '?');
    throw new UsageError(`record: --${flag} ${JSON.stringify(raw[flag])}: invalid value`);
  }
  const f = parsed.data;
  const target = targetById(f.target);
  if (target === undefined) throw new UsageError(`record: --target ${f.target}: expected one of ${TARGETS.map((t) => t.id).join(', ')}`);
  const why = target.unavailable();
  if (why !== undefined) throw new UsageError(`record: --target ${target.id}: ${why}`);
  // A run takes seconds of real time: say now, not after it, that the trace could not be written.
  const dir = dirname(f.out);
  try {
    if (!statSync(dir).isDirectory()) throw new Error(`${dir} is not a directory`);
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new UsageError(`record: --out ${f.out}: cannot write there (${err instanceof Error ? err.message : String(err)})`);
  }
  const seed = f.seed ?? freshSeed();
  io.stderr(`record: ${target.name}, seed ${seed} (replay with --seed ${seed}; real time, so timing varies)\n`);
  const result = await recordRun({ target, seed, nodes: f.nodes, commandsMax: f.commands, tickMs: f.tickMs });
  // Written whole, then renamed: a reader never sees half a trace.
  const partial = `${f.out}.partial`;
  try {
    writeFileSync(partial, result.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    renameSync(partial, f.out);
  } catch (err) {
    throw new UsageError(`record: --out ${f.out}: ${err instanceof Error ? err.message : String(err)}`);
  }
  io.stdout(
    [
      `record: ${result.events.length} events, ${result.commands.length} commands, ${result.seconds.toFixed(1)}s → ${f.out}`,
      ...(result.stoppedBy === undefined ? [] : [`record: the run stopped early: ${result.stoppedBy}`]),
      `check it: figure2 check ${f.out}`,
    ].join('\n') + '\n',
  );
  return EXIT.OK;
}
