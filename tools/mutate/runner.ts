/**
 * `figure2 mutate`'s engine: for each mutant, apply its AST edits and type-check them (in this
 * process, one ts-morph project for all), copy the repository with the mutated files, and run the
 * conformance campaign in a worker process of that copy; `jobs` workers at a time. While the
 * workers run, this process prepares the mutants ahead of them, so the type-checks overlap the
 * campaigns instead of delaying them.
 *
 * Then the baseline: the unmutated implementation runs every run that killed a mutant (per
 * cluster size, the campaign up to its latest kill). A failure there would make those kills
 * meaningless.
 */
import { MutantTypeError, MutationWorkbench, type AppliedMutant } from './apply.ts';
import { mutantNodes } from './catalog/index.ts';
import { resultOf } from './classify.ts';
import { MutantNotApplicable, type Campaign, type Mutant, type MutantResult, type MutationReport } from './types.ts';
import { runCampaign, type CampaignOutcome } from './worker.ts';
import { Workspace } from './workspace.ts';

export interface MutateOptions {
  /** The repository root (holding tsconfig.json, impl/, tools/cli.ts). */
  readonly root: string;
  readonly mutants: readonly Mutant[];
  readonly campaign: Campaign;
  /** Worker processes at a time (this machine has 2 cores). */
  readonly jobs: number;
  /** Keep each mutant's copy (to replay a kill there). */
  readonly keep?: boolean | undefined;
  /** A campaign taking longer is stopped and reported as a timeout. */
  readonly timeoutSeconds?: number | undefined;
  /** Called as each mutant's result comes in. */
  readonly onResult?: ((result: MutantResult, done: number, total: number) => void) | undefined;
}

export const DEFAULT_TIMEOUT_SECONDS = 300;

type Baseline = MutationReport['baseline'][number];

type Preparation = { readonly applied: AppliedMutant | { readonly error: string }; readonly seconds: number };

export async function runMutants(options: MutateOptions): Promise<MutationReport> {
  const started = performance.now();
  const workbench = new MutationWorkbench(options.root);
  const workspace = new Workspace(options.root, options.keep === true);
  const timeoutSeconds = options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  const results: (MutantResult | undefined)[] = options.mutants.map(() => undefined);
  const preparations = options.mutants.map(() => deferred<Preparation>());
  let done = 0;

  const campaign = (dir: string, nodes: number, runs: number): Promise<CampaignOutcome> =>
    runCampaign({ dir, seed: options.campaign.seed, runs, nodes, timeoutSeconds });

  const runMutant = async (index: number): Promise<void> => {
    const mutant = options.mutants[index] as Mutant;
    const nodes = mutantNodes(mutant);
    const { applied, seconds: prepareSeconds } = await (preparations[index] as Deferred<Preparation>).promise;
    let result: MutantResult;
    if (!('files' in applied)) {
      result = { id: mutant.id, bug: mutant.bug, rule: mutant.rule, nodes, status: 'error', error: applied.error, prepareSeconds };
    } else {
      const dir = workspace.copy(mutant.id, applied.files);
      result = { ...resultOf(mutant, nodes, await campaign(dir, nodes, options.campaign.runs)), prepareSeconds, ...(options.keep === true ? { workdir: dir } : {}) };
      workspace.release(dir);
    }
    results[index] = result;
    options.onResult?.(result, ++done, options.mutants.length);
  };

  /**
   * The baseline: the unmutated implementation on every run that killed a mutant — for each
   * cluster size, the campaign's runs up to the latest kill. A kill means something only if the
   * same run passes without the mutant.
   */
  const runBaseline = async (nodes: number, runs: number): Promise<Baseline> => {
    const dir = workspace.copy(`baseline-n${nodes}`, []);
    const outcome = await campaign(dir, nodes, runs);
    workspace.release(dir);
    return baselineOf(nodes, outcome);
  };

  // Mutants are applied and type-checked here, in order, ahead of the workers: each check blocks
  // this process for about half a second, while the workers' children run on.
  const prepareAhead = async (): Promise<void> => {
    for (const [i, mutant] of options.mutants.entries()) {
      await new Promise((resolve) => setImmediate(resolve)); // let finished children be collected first
      const startedAt = performance.now();
      let applied: Preparation['applied'];
      try {
        applied = prepare(workbench, mutant);
      } catch (err) {
        (preparations[i] as Deferred<Preparation>).reject(err);
        continue;
      }
      (preparations[i] as Deferred<Preparation>).resolve({ applied, seconds: (performance.now() - startedAt) / 1000 });
    }
  };

  let baseline: Baseline[] = [];
  try {
    await Promise.all([pool(options.mutants.length, options.jobs, runMutant), prepareAhead()]);
    const plans = baselinePlans(options.mutants, results);
    baseline = await Promise.all(plans.map(({ nodes, runs }) => runBaseline(nodes, runs)));
  } finally {
    workspace.dispose();
  }
  const finished = results.filter((r): r is MutantResult => r !== undefined);
  return {
    campaign: options.campaign,
    baseline,
    results: finished,
    score: mutationScore(finished),
    seconds: (performance.now() - started) / 1000,
    jobs: options.jobs,
  };
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Awaited later by a worker, which sees the rejection then; until then it must not count as unhandled.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Runs `work(0 … count − 1)`, at most `jobs` at a time, each index once, in order of start. */
async function pool(count: number, jobs: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, count)) }, worker));
}

/** Per cluster size, the runs the baseline must pass: up to the latest run that killed a mutant of that size. */
export function baselinePlans(mutants: readonly Mutant[], results: readonly (MutantResult | undefined)[]): { nodes: number; runs: number }[] {
  const runs = new Map<number, number>();
  results.forEach((r, i) => {
    if (r?.status !== 'killed' || r.runs === undefined) return;
    const nodes = mutantNodes(mutants[i] as Mutant);
    runs.set(nodes, Math.max(runs.get(nodes) ?? 0, r.runs));
  });
  return [...runs].sort((a, b) => a[0] - b[0]).map(([nodes, n]) => ({ nodes, runs: n }));
}

/** Applies and type-checks a mutant; a stale or ill-typed mutant becomes an error, never a skip. */
function prepare(workbench: MutationWorkbench, mutant: Mutant): AppliedMutant | { readonly error: string } {
  try {
    return workbench.apply(mutant);
  } catch (err) {
    if (err instanceof MutantNotApplicable) return { error: `does not apply: ${err.message}` };
    if (err instanceof MutantTypeError) return { error: err.message };
    throw err;
  }
}

function baselineOf(nodes: number, outcome: CampaignOutcome): Baseline {
  switch (outcome.kind) {
    case 'passed':
      return { nodes, ok: true, runs: outcome.runs, seconds: outcome.seconds };
    case 'failed':
      return { nodes, ok: false, runs: outcome.runs, seconds: outcome.seconds, error: `the unmutated implementation fails: ${outcome.failure.rule}: ${outcome.failure.message} (${outcome.failure.replay})` };
    case 'timeout':
      return { nodes, ok: false, runs: 0, seconds: outcome.wallSeconds, error: 'the unmutated implementation timed out' };
    case 'error':
      return { nodes, ok: false, runs: 0, seconds: outcome.wallSeconds, error: outcome.message };
  }
}

/** Detected (killed or timed out) over the mutants that ran (errors aside). */
export function mutationScore(results: readonly MutantResult[]): number {
  const ran = results.filter((r) => r.status !== 'error');
  if (ran.length === 0) return 0;
  return ran.filter((r) => r.status === 'killed' || r.status === 'timeout').length / ran.length;
}

/** Clean: the baseline passed, and every mutant was killed with an explained verdict. */
export function isClean(report: MutationReport): boolean {
  return report.baseline.every((b) => b.ok) && report.results.every((r) => r.status === 'killed' && r.explained === true);
}
