/**
 * `figure2 conform`: the conformance suite (conformance/runner.ts) against the reference
 * implementation on the simulator. Progress bar on a terminal (plain lines otherwise), then a
 * summary: runs, commands, events checked, faults by kind, rule coverage, violations, time.
 * Exit 1 on any violation, 2 on bad flags.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { z } from 'zod';
import { BUGGY_CORES } from '../../conformance/buggy-cores.ts';
import { freshSeed } from '../../conformance/prng.ts';
import { ReplayError, runConformance, type ConformanceProgress, type ConformanceResult } from '../../conformance/runner.ts';
import { TARGETS, targetById } from '../../conformance/realtime/targets.ts';
import { RULE_IDS } from '../../spec/rules.ts';
import { EXIT, UsageError, type CliIo } from '../io.ts';
import { attr, text } from '../report/junit.ts';

const Flags = z.object({
  seed: z.coerce.number().int().min(0).max(0x7fffffff).optional(),
  runs: z.coerce.number().int().min(1).max(1_000_000).optional(),
  nodes: z.coerce.number().int().min(1).max(9).optional(),
  commands: z.coerce.number().int().min(1).max(10_000).optional(),
  core: z.string().min(1).optional(),
  target: z.string().min(1).optional(),
  shrinkSeconds: z.coerce.number().min(0).max(86_400).optional(),
  replays: z.coerce.number().int().min(1).max(100).optional(),
  ignore: z.string().min(1).optional(),
  tickMs: z.coerce.number().int().min(1).max(10_000).optional(),
  path: z.string().min(1).optional(),
  shard: z.string().regex(/^\d+\/\d+$/).optional(),
  failFast: z.boolean().optional(),
  json: z.boolean().optional(),
  junit: z.string().min(1).optional(),
  traceDir: z.string().min(1),
});

const CORE_IDS = ['reference', ...BUGGY_CORES.map((c) => c.id)];

export function registerConform(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('conform')
    .description('model-based conformance suite (fast-check) against the reference implementation on the simulator: online trace checking, liveness, CL-LIN')
    .option('--seed <n>', 'campaign seed (runs use seed, seed+1, …); fresh when absent')
    .option('--runs <n>', 'runs (each a fresh seeded cluster and command sequence; default 100, or the target\'s)')
    .option('--nodes <n>', 'cluster size for every run (default: 3, 5 or 7 drawn per run)')
    .option('--commands <n>', 'commands per run, at most (default 60)')
    .option('--core <id>', `the core under test: ${CORE_IDS.join(', ')} (the buggy ones show the suite failing)`)
    .option('--target <id>', `a third-party implementation instead, in real time: ${TARGETS.map((t) => t.id).join(', ')}`)
    .option('--shrink-seconds <s>', "wall-clock budget for shrinking each failure (default: the target's; unlimited on the simulator)")
    .option('--tick-ms <ms>', "a target's milliseconds per tick (default: the target's); its timers scale with it")
    .option('--ignore <rules>', 'comma-separated rule IDs whose violations do not stop a run (counted and reported): to look past a known defect')
    .option('--replays <n>', 'replays of each shrunk failure, to tell how reproducible it is (default 3 for a target, 1 on the simulator)')
    .option('--path <p>', 'replay the failing run --seed S at this path (printed on failure; it carries the flags it was recorded with)')
    .option('--shard <i/n>', 'run only shard i of n of the campaign')
    .option('--fail-fast', 'stop at the first failing run')
    .option('--json', 'print the result as JSON')
    .option('--junit <file>', 'write a JUnit XML report')
    .option('--trace-dir <dir>', 'directory for failing traces', '.')
    .action(async (opts: Record<string, unknown>) => setExit(await runConform(opts, io)));
}

/** Progress on stderr: a bar on a terminal, else a plain line about every 5% and on every failure. */
export function progressReporter(io: CliIo, quiet: boolean): { update(p: ConformanceProgress): void; stop(): void } {
  if (quiet) return { update: () => {}, stop: () => {} };
  const stream = io.progressStream;
  if (stream !== undefined && stream.isTTY === true) {
    const bar = new cliProgress.SingleBar(
      { format: 'conform [{bar}] {value}/{total} runs | seed {seed} | failed {failed}', stream, noTTYOutput: false },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    let failed = 0;
    return {
      update: (p) => {
        if (p.failed) failed++;
        if (!started) bar.start(p.total, 0, { seed: p.seed, failed });
        started = true;
        bar.update(p.done, { seed: p.seed, failed });
      },
      stop: () => {
        if (started) bar.stop();
      },
    };
  }
  return {
    update: (p) => {
      const every = Math.max(1, Math.ceil(p.total / 20));
      if (p.failed || p.done % every === 0 || p.done === p.total) io.stderr(`conform: run ${p.done}/${p.total} seed ${p.seed} ${p.failed ? 'FAILED' : 'ok'}\n`);
    },
    stop: () => {},
  };
}

export async function runConform(raw: Record<string, unknown>, io: CliIo): Promise<number> {
  const parsed = Flags.safeParse(raw);
  if (!parsed.success) {
    const flag = String(parsed.error.issues[0]?.path[0] ?? '?');
    throw new UsageError(`conform: --${flag} ${JSON.stringify(raw[flag])}: invalid value`);
  }
  const f = parsed.data;
  if (f.path !== undefined && f.seed === undefined) throw new UsageError('conform: --path needs --seed');
  if (f.core !== undefined && !CORE_IDS.includes(f.core)) throw new UsageError(`conform: --core ${f.core}: expected one of ${CORE_IDS.join(', ')}`);
  const target = f.target === undefined ? undefined : targetById(f.target);
  if (f.target !== undefined) {
    if (target === undefined) throw new UsageError(`conform: --target ${f.target}: expected one of ${TARGETS.map((t) => t.id).join(', ')}`);
    if (f.core !== undefined) throw new UsageError('conform: --core and --target exclude each other (a core runs on the simulator; a target is another implementation)');
    const why = target.unavailable();
    if (why !== undefined) throw new UsageError(`conform: --target ${target.id}: ${why}`);
  } else if (f.tickMs !== undefined) {
    throw new UsageError('conform: --tick-ms applies to a --target only (the simulator counts ticks, not milliseconds)');
  }
  let shard: { index: number; count: number } | undefined;
  if (f.shard !== undefined) {
    const [i, n] = f.shard.split('/').map(Number) as [number, number];
    if (!(n >= 1 && i >= 1 && i <= n)) throw new UsageError(`conform: --shard ${f.shard}: expected i/n with 1 ≤ i ≤ n`);
    shard = { index: i, count: n };
  }
  const ignoreRules = f.ignore?.split(',').map((r) => r.trim());
  for (const rule of ignoreRules ?? []) {
    if (!(RULE_IDS as readonly string[]).includes(rule)) throw new UsageError(`conform: --ignore ${rule}: not a rule ID (see figure2 rules)`);
  }
  const seed = f.seed ?? freshSeed();
  const progress = progressReporter(io, f.json === true);
  let result: ConformanceResult;
  try {
    result = await runConformance({
      seed,
      runs: f.runs ?? target?.defaults.runs ?? 100,
      target,
      shrinkSeconds: f.shrinkSeconds,
      ignoreRules,
      tickMs: f.tickMs,
      replays: f.replays,
      nodes: f.nodes,
      commandsMax: f.commands,
      coreId: f.core,
      path: f.path,
      shard,
      failFast: f.failFast,
      traceDir: f.traceDir,
      onProgress: (p) => progress.update(p),
    });
  } catch (err) {
    if (err instanceof ReplayError) throw new UsageError(`conform: ${err.message}`);
    throw err;
  } finally {
    progress.stop();
  }
  if (f.junit !== undefined) writeFileSync(f.junit, junit(result));
  io.stdout(f.json === true ? `${JSON.stringify(result, null, 2)}\n` : summary(result));
  return result.ok ? EXIT.OK : EXIT.VIOLATIONS;
}

export function summary(r: ConformanceResult): string {
  const width = Math.max(4, ...r.coverage.map((c) => c.rule.length));
  const lines = [
    `conform: ${r.subject}: seed ${r.seed}, ${r.runs} runs, ${r.commands} commands, ${r.events} events checked, ${r.seconds.toFixed(1)}s`,
    ...(r.shrinkExecutions > 0 ? [`shrinking: ${r.shrinkExecutions} executions (not counted above)`] : []),
    `faults injected: ${Object.entries(r.faults).sort().map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    `linearizability: ${r.linearizability.linearizable} histories linearizable, ${r.linearizability.unknown} undecided, ${r.linearizability.notLinearizable} not`,
    `coverage: ${'rule'.padEnd(width)}  ${'runs'.padStart(6)}  ${'checks'.padStart(9)}  violated`,
    ...r.coverage.map((c) =>
      c.reason !== undefined && c.checked === 0
        ? `          ${c.rule.padEnd(width)}  ${'—'.padStart(6)}  ${'—'.padStart(9)}  not checkable from a trace: ${c.reason}`
        : `          ${c.rule.padEnd(width)}  ${String(c.runs).padStart(6)}  ${String(c.checked).padStart(9)}  ${c.violated}`,
    ),
    `          (runs: runs that exercised the rule; checks: times the checker verified it)`,
    ...(Object.keys(r.ignored).length === 0 ? [] : [`ignored (--ignore; they did not stop their runs): ${Object.entries(r.ignored).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`]),
    `violations: ${r.failures.length}`,
  ];
  for (const x of r.failures) {
    lines.push(`FAIL seed ${x.seed}: ${x.violation.rule}: ${x.violation.message}`, `  replay: ${x.replay}`);
    if (x.tracePath !== undefined) lines.push(`  trace: ${x.tracePath}`);
    lines.push(
      `  reproduced: the shrunk scenario failed with ${x.violation.rule} in ${x.reproduced.same} of ${x.reproduced.of} replays${x.shrinkInterrupted ? ' (shrinking stopped at its time budget: a shorter scenario may exist)' : ''}`,
      `  shrunk to ${x.commands.length} commands:`,
      ...x.commands.map((c, i) => `    ${i + 1}. ${c}`),
    );
  }
  return `${lines.join('\n')}\n`;
}

function junit(r: ConformanceResult): string {
  const cases = r.failures.map(
    (x) => `  <testcase classname="figure2.conform" name="${attr(`seed ${x.seed}`)}"><failure message="${attr(`${x.violation.rule}: ${x.violation.message}`)}">${text(`${x.replay}\n${x.commands.join('\n')}`)}</failure></testcase>`,
  );
  const passed = r.runs - r.failures.length;
  if (passed > 0) cases.push(`  <testcase classname="figure2.conform" name="${attr(`${passed} passing runs from seed ${r.seed}`)}"/>`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="figure2 conform" tests="${cases.length}" failures="${r.failures.length}" time="${r.seconds.toFixed(3)}">\n${cases.join('\n')}\n</testsuite>\n`;
}
