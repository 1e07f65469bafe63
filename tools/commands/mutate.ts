/**
 * `figure2 mutate`: mutation testing of the conformance suite. Each mutant of the catalog
 * (tools/mutate/catalog/) — a real Raft bug as an AST edit of impl/ — is applied to a copy of the
 * repository, type-checked, and run through `figure2 conform` with a fixed seed and run budget in
 * worker processes; the kill matrix says which rule caught each, after how many runs and seconds,
 * and how short the shrunk counterexample is.
 *
 * Exit codes: 0 every mutant killed with an explained verdict; 1 a mutant survived, was killed by
 * an unexplained verdict, timed out or could not run (a stale mutant is an error, never skipped),
 * or the unmutated implementation failed the baseline; 2 bad flags or an unknown mutant id.
 */
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { z } from 'zod';
import { CATALOG, mutantNodes } from '../mutate/catalog/index.ts';
import { renderJson, renderText, verdictCell } from '../mutate/report.ts';
import { DEFAULT_TIMEOUT_SECONDS, isClean, runMutants } from '../mutate/runner.ts';
import type { Mutant } from '../mutate/types.ts';
import { EXIT, UsageError, type CliIo } from '../io.ts';

/** The quick budget (CI, and the default): runs per mutant before it counts as surviving. */
export const QUICK_BUDGET_RUNS = 300;
export const DEFAULT_SEED = 1;
export const DEFAULT_JOBS = 2;

const Flags = z.object({
  only: z.array(z.string().min(1)).optional(),
  budgetRuns: z.coerce.number().int().min(1).max(100_000),
  seed: z.coerce.number().int().min(0).max(0x7fffffff),
  jobs: z.coerce.number().int().min(1).max(16),
  timeout: z.coerce.number().int().min(1).max(86_400),
  keep: z.boolean().optional(),
  list: z.boolean().optional(),
  json: z.boolean().optional(),
});

/** The repository this command mutates: the one it is part of. */
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

export function registerMutate(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('mutate')
    .description('mutation testing: real Raft bugs injected into impl/ as AST edits; the conformance suite must kill each (kill matrix)')
    .option('--only <ids...>', 'run only these mutants (see --list)')
    .option('--budget-runs <n>', 'conformance runs per mutant before it counts as surviving', String(QUICK_BUDGET_RUNS))
    .option('--seed <n>', 'campaign seed (every mutant runs seeds seed, seed+1, …)', String(DEFAULT_SEED))
    .option('--jobs <n>', 'worker processes at a time', String(DEFAULT_JOBS))
    .option('--timeout <seconds>', 'stop a mutant\'s campaign after this long (reported as a timeout)', String(DEFAULT_TIMEOUT_SECONDS))
    .option('--keep', 'keep each mutant\'s copy of the repository (to replay a kill there)')
    .option('--list', 'list the catalog and exit')
    .option('--json', 'print the report as JSON')
    .action(async (opts: Record<string, unknown>) => setExit(await runMutate(opts, io)));
}

/** The mutants `--only` names, in catalog order; an unknown id is a usage error. */
export function selectMutants(only: readonly string[] | undefined, catalog: readonly Mutant[] = CATALOG): readonly Mutant[] {
  if (only === undefined) return catalog;
  const ids = only.flatMap((s) => s.split(',')).filter((s) => s !== '');
  const unknown = ids.filter((id) => !catalog.some((m) => m.id === id));
  if (unknown.length > 0) throw new UsageError(`mutate: --only ${unknown.join(', ')}: no such mutant (see figure2 mutate --list)`);
  return catalog.filter((m) => ids.includes(m.id));
}

export async function runMutate(raw: Record<string, unknown>, io: CliIo, root: string = REPO_ROOT): Promise<number> {
  const parsed = Flags.safeParse(raw);
  if (!parsed.success) {
    const flag = String(parsed.error.issues[0]?.path[0] ?? '?').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const key = String(parsed.error.issues[0]?.path[0] ?? '');
    throw new UsageError(`mutate: --${flag} ${JSON.stringify(raw[key])}: invalid value`);
  }
  const f = parsed.data;
  const mutants = selectMutants(f.only);
  if (f.list === true) {
    io.stdout(f.json === true ? `${JSON.stringify(mutants.map(describe), null, 2)}\n` : listText(mutants));
    return EXIT.OK;
  }
  const report = await runMutants({
    root,
    mutants,
    campaign: { seed: f.seed, runs: f.budgetRuns },
    jobs: f.jobs,
    keep: f.keep,
    timeoutSeconds: f.timeout,
    onResult:
      f.json === true
        ? undefined
        : (r, done, total) => io.stderr(`mutate: ${done}/${total} ${r.id}: ${verdictCell(r)}${r.runs === undefined ? '' : ` after ${r.runs} runs`}\n`),
  });
  io.stdout(f.json === true ? renderJson(report) : renderText(report));
  return isClean(report) ? EXIT.OK : EXIT.VIOLATIONS;
}

function describe(m: Mutant): Record<string, unknown> {
  return { id: m.id, bug: m.bug, rule: m.rule, title: m.title, nodes: mutantNodes(m), consequences: m.consequences, story: m.story, sources: m.sources, edits: m.edits.map((e) => ({ file: e.file, describe: e.describe })) };
}

function listText(mutants: readonly Mutant[]): string {
  const width = Math.max(...mutants.map((m) => m.id.length));
  return `${mutants.map((m) => `${m.id.padEnd(width)}  ${m.bug}  ${m.rule.padEnd(8)}  ${m.title}`).join('\n')}\n`;
}
