/**
 * `figure2 mutate` end to end on a few mutants: flags validated (exit 2), the catalog listed, a
 * real mutant killed with its rule (exit 0), and the engine's other verdicts proved possible — an
 * equivalent edit survives, a mutant whose code moved and one that does not type-check are errors,
 * never skipped.
 */
import { fileURLToPath } from 'node:url';
import { SyntaxKind } from 'ts-morph';
import { describe, expect, it } from 'vitest';
import { member, swap } from '../../tools/mutate/ast.ts';
import { CATALOG } from '../../tools/mutate/catalog/index.ts';
import { registerMutate, selectMutants } from '../../tools/commands/mutate.ts';
import { isClean, runMutants } from '../../tools/mutate/runner.ts';
import type { Mutant } from '../../tools/mutate/types.ts';
import { runCommand, type CommandRun } from '../support/run-command.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

type Run = CommandRun;

/** Runs `figure2 mutate …` as runCli would: a UsageError is one line on stderr and exit 2. */
function mutate(...argv: string[]): Promise<Run> {
  return runCommand(registerMutate, 'mutate', argv);
}

/** A mutant of RaftNode.status, for the engine's verdicts other than a kill. */
function statusMutant(id: string, before: string, after: string): Mutant {
  return {
    id,
    bug: 'B00',
    title: id,
    rule: 'S-ES',
    consequences: {},
    story: 'a test of the engine',
    sources: ['this test'],
    edits: [{ file: 'impl/core/raft-node.ts', describe: id, apply: (file) => swap(member(file, 'RaftNode', 'status'), SyntaxKind.PropertyAssignment, before, after) }],
  };
}

describe('figure2 mutate: flags', () => {
  it.each([
    [['--budget-runs', '0'], '--budget-runs'],
    [['--budget-runs', 'many'], '--budget-runs'],
    [['--jobs', '0'], '--jobs'],
    [['--seed', '-1'], '--seed'],
    [['--only', 'no-such-bug'], 'no-such-bug: no such mutant'],
  ])('%j is bad input (exit 2, one line)', async (argv, said) => {
    const run = await mutate(...argv);
    expect(run.code).toBe(2);
    expect(run.err).toContain(said);
    expect(run.err.trim().split('\n')).toHaveLength(1);
  });

  it('--list prints the catalog, --json as data', async () => {
    const text = await mutate('--list');
    expect(text.code).toBe(0);
    expect(text.out.trim().split('\n')).toHaveLength(CATALOG.length);
    expect(text.out).toMatch(/^vote-cleared-same-term\s+B01\s+M-VOTE\s+votedFor is cleared/m);
    const json = await mutate('--list', '--json', '--only', 'commit-by-counting,truncate-always');
    expect((JSON.parse(json.out) as { id: string }[]).map((m) => m.id)).toEqual(['truncate-always', 'commit-by-counting']);
  });

  it('--only takes ids separated by spaces or commas, in catalog order', () => {
    expect(selectMutants(['commit-by-counting', 'truncate-always,vote-length-only']).map((m) => m.id)).toEqual(['vote-length-only', 'truncate-always', 'commit-by-counting']);
    expect(selectMutants(undefined)).toBe(CATALOG);
  });
});

describe('figure2 mutate: runs', () => {
  it('kills a real mutant with its rule and prints the matrix (exit 0)', async () => {
    const run = await mutate('--only', 'truncate-always', '--budget-runs', '20');
    expect(run.code, run.out + run.err).toBe(0);
    expect(run.out).toMatch(/baseline \(the unmutated implementation on every run that killed a mutant\): 3 nodes ok, \d+ runs/);
    expect(run.out).toMatch(/^truncate-always\s+B11\s+AE-3\s+AE-3\s+checker\s+3\s+\d+/m);
    expect(run.out).toContain('mutation score: 1/1 detected (100.0%)');
    expect(run.err).toMatch(/mutate: 1\/1 truncate-always: AE-3 after \d+ runs/);
  }, 180_000);

  it('reports an equivalent mutant as surviving, and stale or ill-typed mutants as errors', async () => {
    const equivalent = statusMutant('equivalent', 'lastIndex: this.log.lastIndex()', 'lastIndex: this.log.lastIndex() + 0');
    const stale = statusMutant('stale', 'lastIndex: this.log.lastIndexOfAll()', 'lastIndex: 0');
    const illTyped = statusMutant('ill-typed', 'lastIndex: this.log.lastIndex()', "lastIndex: 'last'");
    const report = await runMutants({ root: ROOT, mutants: [equivalent, stale, illTyped], campaign: { seed: 1, runs: 5 }, jobs: 2 });
    const byId = new Map(report.results.map((r) => [r.id, r]));
    expect(byId.get('equivalent')).toMatchObject({ status: 'survived', runs: 5 });
    expect(byId.get('stale')).toMatchObject({ status: 'error', error: expect.stringContaining('does not apply: raft-node.ts: status: no PropertyAssignment') });
    expect(byId.get('ill-typed')).toMatchObject({ status: 'error', error: expect.stringMatching(/does not type-check: impl\/core\/raft-node\.ts: line \d+: Type 'string' is not assignable to type 'number'/) });
    expect(report.baseline).toEqual([]); // nothing killed: no run to check against the unmutated implementation
    expect(report.score).toBe(0);
    expect(isClean(report)).toBe(false);
  }, 180_000);
});
