/**
 * The conformance suite proves its power: every mutant of the catalog (real Raft bugs injected
 * into impl/ as AST edits, tools/mutate/catalog/) is killed within the quick budget, by the rule
 * it targets or by a consequence its entry explains, while the unmutated implementation passes the
 * same campaigns. A survivor is a hole in the suite to fix, not a mutant to drop
 * (docs/mutation-testing.md). The campaigns are seeded, so the matrix is the same on every run.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CATALOG } from '../../tools/mutate/catalog/index.ts';
import { DEFAULT_JOBS, DEFAULT_SEED, QUICK_BUDGET_RUNS } from '../../tools/commands/mutate.ts';
import { renderText } from '../../tools/mutate/report.ts';
import { isClean, runMutants } from '../../tools/mutate/runner.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

describe('mutation testing: the whole catalog, quick budget', () => {
  it(`kills all ${CATALOG.length} mutants, each with an explained verdict`, async () => {
    const report = await runMutants({ root: ROOT, mutants: CATALOG, campaign: { seed: DEFAULT_SEED, runs: QUICK_BUDGET_RUNS }, jobs: DEFAULT_JOBS });
    const matrix = renderText(report);
    expect(report.baseline.length, matrix).toBeGreaterThan(0);
    expect(report.baseline.every((b) => b.ok), matrix).toBe(true);
    for (const r of report.results) {
      expect(r.status, `${r.id}: ${r.error ?? r.message ?? ''}\n${matrix}`).toBe('killed');
      expect(r.explained, `${r.id} killed by ${r.verdict}, which its entry does not explain\n${matrix}`).toBe(true);
    }
    expect(report.results).toHaveLength(CATALOG.length);
    expect(isClean(report)).toBe(true);
  }, 900_000);
});
