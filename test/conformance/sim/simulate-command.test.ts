/**
 * `figure2 simulate`: flags validated at the gateway with one-line errors (exit 2), the seed and
 * replay command printed, a summary, the trace streamed to --out, --json, and exit 1 with the
 * seed when an invariant breaks. Run in-process through commander, as tools/cli.ts wires it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFaultSpec, formatFaultSpec } from '../../../conformance/sim/faults.ts';
import { registerSimulate, runSimulate } from '../../../tools/commands/simulate.ts';
import { memoryIo, UsageError } from '../../../tools/io.ts';
import { TraceEvent } from '../../../spec/schemas/trace-events.ts';

/** Runs `figure2 simulate ...args` the way tools/cli.ts does; returns exit code and output. */
async function cli(args: readonly string[]) {
  const io = memoryIo();
  let code = 0;
  const program = new Command('figure2').exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: () => {} });
  registerSimulate(program, io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(['simulate', ...args], { from: 'user' });
  } catch (err) {
    if (err instanceof UsageError) return { code: 2, out: io.out(), err: err.message };
    if (err instanceof CommanderError) return { code: 2, out: io.out(), err: err.message };
    throw err;
  }
  return { code, out: io.out(), err: io.err() };
}

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'figure2-simulate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('figure2 simulate', () => {
  it('runs, prints the seed, the replay command and a summary; exit 0', async () => {
    const r = await cli(['--nodes', '3', '--seed', '7', '--ticks', '2000', '--faults', 'loss=0.1,dup=0.05,reorder=0.2,partitions,crashes', '--clients', '3']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toBe('seed 7   replay: figure2 simulate --nodes 3 --seed 7 --ticks 2000 --faults loss=0.1,dup=0.05,reorder=0.2,partitions,crashes --clients 3');
    expect(r.out).toMatch(/^faults: loss 0\.1, dup 0\.05, reorder 0\.2, partitions [\d.]+\/tick .*crashes [\d.]+\/tick/m);
    expect(r.out).toMatch(/^leaders: \d+ terms with a leader \(max term \d+\): t\d+ n\d/m);
    expect(r.out).toMatch(/^commands committed: \d+/m);
    expect(r.out).toMatch(/^client ops: \d+ invoked, \d+ ok, \d+ fail, \d+ info, 0 pending/m);
    expect(r.out).toMatch(/^faults injected: \d+ drops .* \d+ dups, \d+ reordered, \d+ partitions, \d+ one-way cuts, \d+ crashes/m);
    expect(r.out).toMatch(/no violation$/m);
  });

  it('the replay command replays: same output', async () => {
    const a = await cli(['--nodes', '3', '--seed', '11', '--ticks', '1500', '--faults', 'all']);
    const replay = a.out.split('\n')[0]?.split('replay: figure2 simulate ')[1]?.split(' ') ?? [];
    const b = await cli(replay);
    expect(b.out).toBe(a.out);
  });

  it('streams the trace to --out: valid v1, byte-identical on replay', async () => {
    const out1 = join(dir, 'a.ndjson');
    const out2 = join(dir, 'b.ndjson');
    const args = ['--nodes', '3', '--seed', '5', '--ticks', '800', '--faults', 'all'];
    const r1 = await cli([...args, '--out', out1]);
    await cli([...args, '--out', out2]);
    expect(r1.code).toBe(0);
    const text = await readFile(out1, 'utf8');
    expect(await readFile(out2, 'utf8')).toBe(text);
    const lines = text.trim().split('\n');
    expect(r1.out).toContain(`trace: ${out1} (${lines.length} events, format v1)`);
    const header = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(header).toMatchObject({ ev: 'header', meta: { seed: 5 } });
    expect((header['meta'] as Record<string, string>)['replay']).toMatch(/^figure2 simulate --nodes 3 --seed 5/);
    for (const line of lines) expect(TraceEvent.safeParse(JSON.parse(line)).success, line).toBe(true);
  });

  it('--json prints the result as JSON', async () => {
    const r = await cli(['--nodes', '3', '--seed', '2', '--ticks', '500', '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as Record<string, unknown>;
    expect(json).toMatchObject({ ok: true, seed: 2, trace: null, summary: { nodes: 3, faultTicks: 500 } });
    expect(String(json['replay'])).toContain('--seed 2');
  });

  it('draws a seed when none is given, and prints it', async () => {
    const r = await cli(['--nodes', '1', '--ticks', '50', '--clients', '1']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^seed \d+ {3}replay: figure2 simulate --nodes 1 --seed \d+ /);
  });

  it.each([
    [['--nodes', '0'], 'simulate: --nodes "0": expected an integer from 1 to 9'],
    [['--nodes', 'x'], 'simulate: --nodes "x": expected an integer from 1 to 9'],
    [['--seed', '-1'], 'simulate: --seed "-1": expected an integer from 0 to 2147483647'],
    [['--ticks', '1.5'], 'simulate: --ticks "1.5": expected an integer from 0 to 10000000'],
    [['--clients', '65'], 'simulate: --clients "65": expected an integer from 0 to 64'],
    [['--snapshot-entries', '0'], 'simulate: --snapshot-entries "0": expected an integer ≥ 1'],
    [['--faults', 'loss=2'], 'simulate: --faults "loss=2": loss=2: expected a probability from 0 to 1'],
    [['--faults', 'fire'], "simulate: --faults \"fire\": unknown fault 'fire' (faults: loss, dup, reorder, partitions, crashes, torn, all, none)"],
  ])('rejects %j with one line, exit 2', async (args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.err).toBe(message);
    expect(r.err).not.toContain('\n');
  });

  it('an unwritable --out is bad input (exit 2), not a crash', async () => {
    await expect(runSimulate({ nodes: '1', ticks: '10', faults: 'none', clients: '0', snapshotEntries: '10000', healTicks: '0', out: join(dir, 'no/such/dir/t.ndjson') }, memoryIo())).rejects.toThrow(
      /^cannot write .*no\/such\/dir/,
    );
  });

  it('exit 1 with the seed and replay command when an invariant breaks', async () => {
    // A heal budget of 1 tick is too short for anything to converge: the liveness check fails.
    const r = await cli(['--nodes', '3', '--seed', '9', '--ticks', '5', '--heal-ticks', '1']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^VIOLATION liveness at tick \d+: the healed cluster did not converge within 1 ticks/m);
    expect(r.out).toMatch(/^replay with: figure2 simulate --nodes 3 --seed 9 --ticks 5 --faults none --clients 4 --heal-ticks 1$/m);
  });
});

describe('fault spec', () => {
  it('parses and formats round trip', () => {
    const parsed = parseFaultSpec('loss=0.1, dup ,partitions=0.01,crashes');
    expect(parsed).toEqual({ ok: true, spec: { loss: 0.1, dup: 'swarm', partitions: 0.01, crashes: 'swarm' } });
    if (parsed.ok) expect(formatFaultSpec(parsed.spec)).toBe('loss=0.1,dup,partitions=0.01,crashes');
    expect(parseFaultSpec('none')).toEqual({ ok: true, spec: {} });
    expect(parseFaultSpec('all,loss=0')).toMatchObject({ ok: true, spec: { loss: 0, torn: 'swarm' } });
    expect(parseFaultSpec('loss=')).toMatchObject({ ok: false });
    expect(parseFaultSpec('loss=0.1=2')).toMatchObject({ ok: false });
  });
});
