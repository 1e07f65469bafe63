/** `figure2 explore`: seed printed and replayable, trace written and valid, flags checked at the gateway. */
import { describe, expect, it } from 'vitest';
import { TraceEvent } from '../../spec/schemas/trace-events.ts';
import { runCli } from '../../tools/cli.ts';
import { formatExplore } from '../../tools/commands/explore.ts';
import { memoryIo } from '../../tools/io.ts';

describe('figure2 explore', () => {
  it('runs clean on the spec, prints its seed and the command that replays it', async () => {
    const io = memoryIo();
    const code = await runCli(['explore', '--seed', '9', '--steps', '400'], io);
    expect(code).toBe(0);
    expect(io.out()).toContain('seed 9   replay: figure2 explore --seed 9 --steps 400 --nodes 3 --faults 1');
    expect(io.out()).toContain('no violation');
    expect(io.err()).toBe('');
  });

  it('draws a fresh seed when none is given, and prints it', async () => {
    const io = memoryIo();
    expect(await runCli(['explore', '--steps', '50'], io)).toBe(0);
    const seed = /seed (\d+) {3}replay/.exec(io.out())?.[1];
    expect(seed).toBeDefined();
    // The printed seed replays the same run.
    const again = memoryIo();
    await runCli(['explore', '--steps', '50', '--seed', seed ?? ''], again);
    expect(again.out()).toBe(io.out());
  });

  it('writes the run as a valid v1 trace with --trace, and --json reports the same run', async () => {
    const io = memoryIo();
    expect(await runCli(['explore', '--seed', '3', '--steps', '300', '--nodes', '5', '--trace', 'run.ndjson', '--json'], io)).toBe(0);
    const report = JSON.parse(io.out()) as { ok: boolean; seed: number; stats: { steps: number }; trace: string; path: string[] };
    expect(report).toMatchObject({ ok: true, seed: 3, trace: 'run.ndjson', stats: { steps: 300 } });
    expect(report.path).toHaveLength(300);
    const lines = (io.written.get('run.ndjson') ?? '').trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(300);
    for (const line of lines) expect(TraceEvent.safeParse(JSON.parse(line)).success, line).toBe(true);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ ev: 'header', cluster: ['n1', 'n2', 'n3', 'n4', 'n5'] });
  });

  it.each([
    [['--steps', 'abc'], '--steps "abc": expected an integer from 0 to 1000000'],
    [['--nodes', '12'], '--nodes "12": expected an integer from 1 to 9'],
    [['--seed', '-1'], '--seed "-1": expected an integer from 0 to 2147483647'],
    [['--faults', 'x'], '--faults "x": expected a number from 0 to 10'],
  ])('refuses %j with one line and exit 2', async (flags, message) => {
    const io = memoryIo();
    expect(await runCli(['explore', ...flags], io)).toBe(2);
    expect(io.err()).toBe(`figure2: explore: ${message}\n`);
    expect(io.out()).toBe('');
  });

  it('reports a violation with its rule, step and the tail of the replay path', () => {
    const text = formatExplore(
      {
        seed: 5,
        stats: { steps: 3, delivered: 1, dropped: 0, duplicated: 0, crashes: 0, restarts: 0, elections: 2, clientCommands: 0, snapshots: 0, maxTerm: 1, committed: 0, leadersByTerm: 2 },
        violations: [{ rule: 'S-ES', message: 'S-ES: term 1 has 2 leaders: n1 and n2 (at most one leader per term)', nodes: ['n1', 'n2'], term: 1 }],
        failedAtStep: 3,
        path: ['election timeout at n1 (follower, term 0)', 'election timeout at n2 (follower, term 0)', 'deliver RequestVoteResponse(term 1) n3→n2'],
      },
      { replay: 'figure2 explore --seed 5 --steps 3 --nodes 3 --faults 1', nodes: 3, traceEvents: 0 },
    );
    expect(text).toContain('VIOLATION S-ES at step 3: S-ES: term 1 has 2 leaders');
    expect(text).toContain('  3. deliver RequestVoteResponse(term 1) n3→n2');
    expect(text).not.toContain('no violation');
  });
});
