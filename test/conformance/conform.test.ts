import { describe, expect, it } from 'vitest';
import { campaignSeeds, decodePath, ReplayError, runConformance } from '../../conformance/runner.ts';
import { progressReporter, runConform } from '../../tools/commands/conform.ts';
import { runCli } from '../../tools/cli.ts';
import { memoryIo } from '../../tools/io.ts';

describe('figure2 conform', () => {
  it('a fixed-seed campaign of the reference implementation finds no violation', async () => {
    const r = await runConformance({ seed: 20260, runs: 20, commandsMax: 60 });
    expect(r.failures).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.runs).toBe(20);
    // Client commands wait for an idle client instead of being skipped: runs are as long as generated.
    expect(r.commands / r.runs).toBeGreaterThan(15);
    expect(r.linearizability.notLinearizable).toBe(0);
    expect(r.shrinkExecutions).toBe(0);
    const rv = r.coverage.find((c) => c.rule === 'RV-2');
    expect(rv?.runs).toBeGreaterThan(0);
    expect(rv?.checked).toBeGreaterThanOrEqual(rv?.runs ?? Infinity);
    expect(r.coverage.find((c) => c.rule === 'F-1')?.reason).toBeDefined();
  }, 120_000);

  it('shards split the campaign seeds', () => {
    const all = campaignSeeds(5, 10);
    const a = campaignSeeds(5, 10, { index: 1, count: 2 });
    const b = campaignSeeds(5, 10, { index: 2, count: 2 });
    expect([...a, ...b].sort((x, y) => x - y)).toEqual(all);
  });

  it('the CLI prints a summary with the coverage table and exits 0', async () => {
    const io = memoryIo();
    const code = await runConform({ seed: '7', runs: '3', commands: '30', traceDir: '/tmp' }, io);
    expect(code).toBe(0);
    expect(io.out()).toContain('violations: 0');
    expect(io.out()).toMatch(/coverage: rule\s+runs\s+checks\s+violated/);
    expect(io.out()).toMatch(/\n\s+RV-2\s+[1-3]\s+\d+\s+0\n/);
    expect(io.out()).toMatch(/\n\s+F-1\s+—\s+—\s+not checkable from a trace: /);
  }, 60_000);

  it('shrinking is counted apart: the campaign counts only the runs themselves', async () => {
    const caught = await runConformance({ seed: 1000, runs: 5, nodes: 3, coreId: 'vote-not-persisted', failFast: true });
    expect(caught.ok).toBe(false);
    expect(caught.shrinkExecutions).toBeGreaterThan(0);
    const failing = caught.failures[0]?.seed as number;
    // The same seeds, stopped before the failing run, plus that run alone, add up to the campaign.
    const before = await runConformance({ seed: 1000, runs: failing - 1000, nodes: 3, coreId: 'vote-not-persisted' });
    const alone = await runConformance({ seed: failing, runs: 1, nodes: 3, coreId: 'vote-not-persisted' });
    expect(caught.commands).toBe(before.commands + alone.commands);
    expect(caught.coverage.find((c) => c.rule === caught.failures[0]?.violation.rule)?.violated).toBe(1);
  }, 120_000);
});

describe('figure2 conform replay paths', () => {
  it('carry the flags they were recorded with', () => {
    expect(decodePath("c60,n3,core=double-vote~0:1:2@AB:C")).toEqual({ flags: { commandsMax: 60, nodes: 3, coreId: 'double-vote' }, path: '0:1:2', replayPath: 'AB:C' });
    expect(decodePath('4:0')).toEqual({ flags: {}, path: '4:0', replayPath: undefined });
    expect(() => decodePath('x9~0:1')).toThrow(ReplayError);
    expect(() => decodePath('c60~zero')).toThrow(/expected a path such as/);
  });

  it('refuse a replay under contradicting flags, with exit 2 and one line', async () => {
    const cases: [string[], RegExp][] = [
      [['--path', 'c60,n3~0:1', '--nodes', '5'], /recorded with --nodes 3, but this run has --nodes 5/],
      [['--path', 'c60~0:1', '--commands', '20'], /recorded with --commands 60, but this run has --commands 20/],
      [['--path', 'c60,core=double-vote~0:1'], /replay it with --core double-vote/],
      [['--path', 'c60~0:1', '--core', 'nope'], /--core nope: expected one of reference, double-vote/],
      [['--path', 'garbage'], /expected a path such as/],
    ];
    for (const [args, message] of cases) {
      const io = memoryIo();
      const code = await runCli(['conform', '--seed', '3', ...args], io);
      expect(code, args.join(' ')).toBe(2);
      expect(io.err()).toMatch(message);
      expect(io.err().trim().split('\n')).toHaveLength(1);
    }
  });
});

describe('figure2 conform progress', () => {
  const p = (done: number, failed = false) => ({ done, total: 40, seed: 100 + done, failed });

  it('prints plain lines when stderr is not a terminal: about every 5%, every failure, and the last run', () => {
    const io = memoryIo();
    const progress = progressReporter(io, false);
    for (let done = 1; done <= 40; done++) progress.update(p(done, done === 7));
    progress.stop();
    const lines = io.err().trim().split('\n');
    expect(lines).toContain('conform: run 7/40 seed 107 FAILED');
    expect(lines).toContain('conform: run 2/40 seed 102 ok');
    expect(lines).toContain('conform: run 40/40 seed 140 ok');
    expect(lines).not.toContain('conform: run 3/40 seed 103 ok');
    expect(lines).toHaveLength(21);
    expect(io.err()).not.toContain('\u001b[');
  });

  it('draws a bar on a terminal', () => {
    const io = memoryIo({}, undefined, { tty: true });
    const progress = progressReporter(io, false);
    progress.update(p(1));
    progress.update(p(40, true));
    progress.stop();
    expect(io.err()).toMatch(/conform \[[█░]+\] 40\/40 runs \| seed 140 \| failed 1/);
    expect(io.err()).not.toContain('conform: run');
  });

  it('is silent with --json', () => {
    const io = memoryIo({}, undefined, { tty: true });
    const progress = progressReporter(io, true);
    progress.update(p(1));
    progress.stop();
    expect(io.err()).toBe('');
  });
});
