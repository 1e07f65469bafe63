/**
 * The conformance suite proves it can fail: run against each deliberately buggy core, it finds the
 * bug with one of the core's rules within a bounded number of runs, shrinks the command sequence
 * to at most 25 commands, and the replay command it prints — run through the CLI as a user would
 * paste it — reproduces the very same failure and the same shrunk commands.
 *
 * Campaign seeds are pinned (CI pins seeds). `npm run bench` measures detection over more seeds.
 */
import { describe, expect, it } from 'vitest';
import { BUGGY_CORES } from '../../conformance/buggy-cores.ts';
import { runConformance } from '../../conformance/runner.ts';
import { runCli } from '../../tools/cli.ts';
import { memoryIo } from '../../tools/io.ts';

/** Pinned campaign seeds: the first seed of a 3-node campaign of at most 40 runs. */
const CAMPAIGN: Record<string, number> = {
  'double-vote': 1000,
  'commit-by-counting': 1000,
  'truncate-always': 1000,
  'vote-not-persisted': 1000,
  'read-without-readindex': 1000,
  'stale-vote-counted': 4000,
};

/** `figure2 conform --seed 5 --path 'c60~0:1@A' --core x` → argv, as a shell would split it. */
function argvOf(replay: string): string[] {
  const words = replay.match(/'[^']*'|\S+/g) ?? [];
  return words.slice(1).map((w) => (w.startsWith("'") ? w.slice(1, -1) : w));
}

describe('figure2 conform against buggy cores', () => {
  it('pins a campaign for every buggy core', () => {
    expect(Object.keys(CAMPAIGN).sort()).toEqual(BUGGY_CORES.map((c) => c.id).sort());
  });

  it.each(BUGGY_CORES.map((c) => [c.id, c] as const))('%s: caught with its rule, shrunk to ≤ 25 commands, and the printed replay reproduces it', async (id, bug) => {
    const result = await runConformance({ seed: CAMPAIGN[id] as number, runs: 40, nodes: 3, coreId: id, failFast: true });
    expect(result.ok).toBe(false);
    const failure = result.failures[0];
    expect(failure, `${id}: not caught in 40 runs`).toBeDefined();
    if (failure === undefined) return;
    expect(bug.expectedRules as readonly string[]).toContain(failure.violation.rule);
    expect(failure.commands.length).toBeLessThanOrEqual(25);
    expect(failure.replay).toMatch(new RegExp(`^figure2 conform --seed ${failure.seed} --path '[^']+' --core ${id}$`));

    const io = memoryIo();
    const code = await runCli([...argvOf(failure.replay), '--trace-dir', '/tmp'], io);
    expect(code, io.err()).toBe(1);
    expect(io.out()).toContain(`FAIL seed ${failure.seed}: ${failure.violation.rule}: ${failure.violation.message}`);
    const shown = failure.commands.map((c, i) => `    ${i + 1}. ${c}`).join('\n');
    expect(io.out()).toContain(`shrunk to ${failure.commands.length} commands:\n${shown}`);
  }, 120_000);

  it('the reference core passes the same campaigns', async () => {
    const result = await runConformance({ seed: 1000, runs: 40, nodes: 3 });
    expect(result.failures).toEqual([]);
    expect(result.ok).toBe(true);
  }, 120_000);
});
