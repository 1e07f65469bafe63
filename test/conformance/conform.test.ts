import { describe, expect, it } from 'vitest';
import { campaignSeeds, runConformance } from '../../conformance/runner.ts';
import { runConform } from '../../tools/commands/conform.ts';
import { memoryIo } from '../../tools/io.ts';

describe('figure2 conform', () => {
  it('a fixed-seed campaign of the reference implementation finds no violation', async () => {
    const r = await runConformance({ seed: 20260, runs: 20, commandsMax: 60 });
    expect(r.failures).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.runs).toBe(20);
    expect(r.commands).toBeGreaterThan(50);
    expect(r.linearizability.notLinearizable).toBe(0);
    expect(r.coverage.some((c) => c.checked > 0)).toBe(true);
  }, 120_000);

  it('shards split the campaign seeds', () => {
    const all = campaignSeeds(5, 10);
    const a = campaignSeeds(5, 10, { index: 1, count: 2 });
    const b = campaignSeeds(5, 10, { index: 2, count: 2 });
    expect([...a, ...b].sort((x, y) => x - y)).toEqual(all);
  });

  it('the CLI prints a summary and exits 0', async () => {
    const io = memoryIo();
    const code = await runConform({ seed: '7', runs: '3', commands: '30', traceDir: '/tmp' }, io);
    expect(code).toBe(0);
    expect(io.out()).toContain('violations: 0');
  }, 60_000);
});
