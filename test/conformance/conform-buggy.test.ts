/**
 * The conformance suite proves it can fail: run against deliberately buggy cores, it finds the
 * bug with the right rule, shrinks the command sequence, and the printed seed and path replay the
 * very same failure.
 */
import { describe, expect, it } from 'vitest';
import { BUGGY_CORES } from '../../conformance/buggy-cores.ts';
import { runConformance } from '../../conformance/runner.ts';

const core = (id: string) => {
  const found = BUGGY_CORES.find((c) => c.id === id);
  if (found === undefined) throw new Error(`no buggy core ${id}`);
  return found;
};

describe('figure2 conform against buggy cores', () => {
  it.each(['double-vote', 'truncate-always'])('%s: caught with its rule, shrunk to at most 25 commands, replayed exactly', async (id) => {
    const bug = core(id);
    const result = await runConformance({ seed: 1, runs: 20, nodes: 3, nodeFactory: bug.factory });
    expect(result.ok).toBe(false);
    const failure = result.failures[0];
    expect(failure, `${id}: no failure in 20 runs`).toBeDefined();
    if (failure === undefined) return;
    expect(bug.expectedRules as readonly string[]).toContain(failure.violation.rule);
    expect(failure.commands.length).toBeLessThanOrEqual(25);
    expect(failure.replay).toContain(`--seed ${failure.seed}`);
    expect(failure.replay).toContain('--path');
    // The replay: exactly this run, exactly this path, the same violation.
    const replayed = await runConformance({ seed: failure.seed, runs: 1, nodes: 3, path: failure.path, nodeFactory: bug.factory });
    expect(replayed.failures[0]?.violation.rule).toBe(failure.violation.rule);
    expect(replayed.failures[0]?.commands).toEqual(failure.commands);
  });

  it('the reference core passes the same campaign', async () => {
    const result = await runConformance({ seed: 1, runs: 20 });
    expect(result.failures).toEqual([]);
    expect(result.ok).toBe(true);
  });
});
