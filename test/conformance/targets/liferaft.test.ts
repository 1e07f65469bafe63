/**
 * The @markwylde/liferaft target: packets translated to trace v1 (unit), the routed network
 * (unit, real timers), and the whole path from the CLI — `figure2 conform --target liferaft` finds
 * a violation in real liferaft processes, shrinks it, prints a replay, and writes a trace that
 * `figure2 check` reports with the same rule; `figure2 record` writes a trace `check` reads.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { translate } from '../../../conformance/adapters/liferaft/translate.ts';
import { LIFERAFT_TARGET } from '../../../conformance/adapters/liferaft.ts';
import { RoutedNetwork, type Routed } from '../../../conformance/realtime/routed-network.ts';
import { RULE_IDS } from '../../../spec/rules.ts';
import { runCli } from '../../../tools/cli.ts';
import { memoryIo } from '../../../tools/io.ts';

const dir = mkdtempSync(join(tmpdir(), 'figure2-liferaft-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LEADER = 1;
const CANDIDATE = 2;

describe('liferaft packets as trace v1 messages', () => {
  it('maps vote, voted, append, append ack and append fail; an empty log has last term 0', () => {
    const base = { state: CANDIDATE, address: 'n1', leader: '' };
    expect(translate({ ...base, type: 'vote', term: 3, last: { index: 0, term: 3, committedIndex: 0 } })).toEqual({
      type: 'RequestVote',
      term: 3,
      candidateId: 'n1',
      lastLogIndex: 0,
      lastLogTerm: 0,
    });
    expect(translate({ ...base, type: 'voted', term: 3, data: { granted: true } })).toEqual({ type: 'RequestVoteResponse', term: 3, voteGranted: true });
    expect(translate({ ...base, type: 'voted', term: 3, data: { granted: false } })).toMatchObject({ voteGranted: false });
    const append = translate({
      ...base,
      state: LEADER,
      type: 'append',
      term: 4,
      last: { index: 2, term: 3, committedIndex: 1 },
      data: [{ index: 3, term: 4, committed: false, responses: [], command: { id: 'c1#1.1', op: { kind: 'put', key: 'k', value: 'v' } } }],
    });
    expect(append).toEqual({
      type: 'AppendEntries',
      term: 4,
      leaderId: 'n1',
      prevLogIndex: 2,
      prevLogTerm: 3,
      entries: [{ index: 3, term: 4, kind: 'command', digest: 'c1#1.1' }],
      leaderCommit: 1,
    });
    expect(translate({ ...base, type: 'append', term: 4, last: { index: 5, term: 4, committedIndex: 5 } })).toMatchObject({ entries: [], prevLogIndex: 5 });
    expect(translate({ ...base, type: 'append ack', term: 4, data: { term: 4, index: 3 } })).toEqual({ type: 'AppendEntriesResponse', term: 4, success: true, matchIndex: 3 });
    expect(translate({ ...base, type: 'append fail', term: 4, data: { term: 3, index: 2 } })).toEqual({ type: 'AppendEntriesResponse', term: 4, success: false });
  });

  it('is not a Raft RPC: error packets, unknown types, malformed packets, what JSON makes of a Promise', () => {
    expect(translate({ state: 3, address: 'n2', leader: '', type: 'error', term: 2, data: 'Stale term detected' })).toBeUndefined();
    expect(translate({ state: 3, address: 'n2', type: 'exec', term: 2 })).toBeUndefined();
    expect(translate({ type: 'vote', term: -1, address: 'n2', last: { index: 0, term: 0, committedIndex: 0 } })).toBeUndefined();
    expect(translate({})).toBeUndefined();
    expect(translate(null)).toBeUndefined();
  });
});

describe('the routed network', () => {
  const network = (seed: number, options: { loss?: number } = {}) => {
    const delivered: Routed<string>[] = [];
    const dropped: string[] = [];
    const net = new RoutedNetwork<string>(
      { seed, delayMs: { min: 1, max: 3 }, lossProbability: options.loss ?? 0 },
      { deliver: (m) => delivered.push(m), dropped: (m, why) => dropped.push(`${m.payload}: ${why}`), describe: (p) => p },
    );
    return { net, delivered, dropped };
  };
  const settle = (ms = 30) => new Promise((r) => setTimeout(r, ms));

  it('delivers after a delay, honours partitions, one-way cuts, heal and down nodes', async () => {
    const { net, delivered, dropped } = network(1);
    net.send('n1', 'n2', 'a');
    expect(delivered).toHaveLength(0);
    await settle();
    expect(delivered.map((m) => m.payload)).toEqual(['a']);
    net.partition([['n1'], ['n2', 'n3']]);
    net.send('n1', 'n2', 'b');
    net.send('n2', 'n3', 'c');
    net.cutLink('n3', 'n2');
    net.send('n3', 'n2', 'd');
    net.send('n2', 'n3', 'e');
    await settle();
    expect(delivered.map((m) => m.payload)).toEqual(['a', 'c', 'e']);
    expect(dropped).toEqual(['b: link n1→n2 is cut', 'd: link n3→n2 is cut']);
    net.heal();
    net.setDown('n2', true);
    net.send('n1', 'n2', 'f');
    net.setDown('n2', false);
    net.send('n1', 'n2', 'g');
    await settle();
    expect(delivered.map((m) => m.payload)).toEqual(['a', 'c', 'e', 'g']);
    net.close();
  });

  it('a partition made while a message is in flight loses it at delivery', async () => {
    const { net, delivered, dropped } = network(2);
    net.send('n1', 'n2', 'late');
    net.partition([['n1'], ['n2']]);
    await settle();
    expect(delivered).toHaveLength(0);
    expect(dropped).toEqual(['late: link n1→n2 is cut']);
    net.close();
  });

  it('gives the suite control of what is in flight: deliver, drop, duplicate by position', async () => {
    const { net, delivered, dropped } = network(3);
    for (const p of ['x', 'y', 'z']) net.send('n1', 'n2', p);
    expect(net.pending()).toHaveLength(3);
    expect(net.control.describe(0)).toMatch(/^[xyz] n1→n2$/);
    const first = net.pending()[0]?.payload;
    await net.control.drop(0);
    const second = net.pending()[0]?.payload;
    await net.control.duplicate(0);
    await net.control.deliver(0);
    expect(dropped).toEqual([`${first}: dropped by the suite`]);
    expect(delivered.map((m) => m.payload)).toEqual([second]);
    await settle();
    // The duplicate and the third message are still delivered when due.
    expect(delivered).toHaveLength(3);
    expect(delivered.filter((m) => m.payload === second)).toHaveLength(2);
    net.close();
  });

  it('draws losses from its seed: the same seed loses the same messages', async () => {
    const run = async (seed: number) => {
      const { net, dropped } = network(seed, { loss: 0.3 });
      for (let i = 0; i < 40; i++) net.send('n1', 'n2', `m${i}`);
      net.close();
      return dropped;
    };
    const a = await run(9);
    expect(a.length).toBeGreaterThan(0);
    expect(a.length).toBeLessThan(40);
    expect(await run(9)).toEqual(a);
  });
});

describe('figure2 conform --target liferaft', () => {
  it('is available here (an npm dependency)', () => {
    expect(LIFERAFT_TARGET.unavailable()).toBeUndefined();
  });

  it('refuses an unknown target, and --core with --target, in one line (exit 2)', async () => {
    const io = memoryIo();
    expect(await runCli(['conform', '--target', 'etcd', '--runs', '1'], io)).toBe(2);
    expect(io.err()).toMatch(/^figure2: conform: --target etcd: expected one of liferaft, pysyncobj/);
    expect(io.err().trim().split('\n')).toHaveLength(1);
    const both = memoryIo();
    expect(await runCli(['conform', '--target', 'liferaft', '--core', 'double-vote', '--runs', '1'], both)).toBe(2);
    expect(both.err()).toMatch(/exclude each other/);
  });

  it('finds a violation in real liferaft processes, shrinks it, and the trace it writes shows the same rule', async () => {
    const io = memoryIo();
    const code = await runCli(
      ['conform', '--target', 'liferaft', '--seed', '100', '--runs', '8', '--nodes', '3', '--fail-fast', '--shrink-seconds', '4', '--replays', '1', '--trace-dir', dir, '--json'],
      io,
    );
    expect(code).toBe(1);
    const result = JSON.parse(io.out()) as {
      subject: string;
      failures: { seed: number; violation: { rule: string }; replay: string; path: string; tracePath: string; reproduced: { of: number } }[];
    };
    expect(result.subject).toMatch(/^@markwylde\/liferaft \d/);
    const failure = result.failures[0];
    expect(failure).toBeDefined();
    if (failure === undefined) return;
    expect([...RULE_IDS, 'liveness']).toContain(failure.violation.rule);
    expect(failure.replay).toBe(`figure2 conform --seed ${failure.seed} --path '${failure.path}' --target liferaft`);
    expect(failure.path).toMatch(/^c30,n3,target=liferaft,ms10~/);
    expect(failure.reproduced.of).toBe(1);
    // The written trace, checked offline, shows the rule the suite reported (unless the cut itself
    // detected it, as liveness or a log hole, which no single trace event shows).
    const check = memoryIo({ [failure.tracePath]: readFileSync(failure.tracePath, 'utf8') });
    const checkCode = await runCli(['check', failure.tracePath, '--json'], check);
    if (failure.violation.rule !== 'liveness' && !/hole/.test(JSON.stringify(result.failures[0]))) {
      expect(checkCode).toBe(1);
      expect(JSON.parse(check.out()).violations.map((v: { rule: string }) => v.rule)).toContain(failure.violation.rule);
    } else expect([0, 1]).toContain(checkCode);
  }, 240_000);

  it('replays a recorded path only against the same target', async () => {
    const io = memoryIo();
    expect(await runCli(['conform', '--seed', '1', '--path', 'c30,n3,target=liferaft~0:0@B:A'], io)).toBe(2);
    expect(io.err()).toMatch(/replay it with --target liferaft/);
  });
});

describe('figure2 record --target liferaft', () => {
  it('writes a whole trace v1 file that figure2 check reads', async () => {
    const out = join(dir, 'recorded.ndjson');
    const io = memoryIo();
    expect(await runCli(['record', '--target', 'liferaft', '--seed', '7', '--nodes', '3', '--commands', '10', '--out', out], io)).toBe(0);
    expect(io.out()).toMatch(/record: \d+ events, \d+ commands/);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(JSON.parse(lines[0] as string)).toMatchObject({ ev: 'header', format: 'raft-trace', version: 1, cluster: ['n1', 'n2', 'n3'] });
    expect(lines.filter((l) => l.includes('"ev":"init"'))).toHaveLength(3);
    const check = memoryIo({ [out]: readFileSync(out, 'utf8') });
    // 0 or 1 (liferaft's defects are timing-dependent), never 2: the trace is well-formed.
    expect([0, 1]).toContain(await runCli(['check', out], check));
  }, 120_000);
});

describe('the routed network with FIFO links (TCP targets)', () => {
  it('keeps each link in send order whatever the delays drawn, and still reorders on a reorder draw', async () => {
    const delivered: string[] = [];
    const net = new RoutedNetwork<string>({ seed: 4, delayMs: { min: 1, max: 15 }, fifoLinks: true }, { deliver: (m) => delivered.push(m.payload), describe: (p) => p });
    for (let i = 0; i < 30; i++) net.send('n1', 'n2', `a${i}`);
    await new Promise((r) => setTimeout(r, 60));
    expect(delivered).toEqual(Array.from({ length: 30 }, (_, i) => `a${i}`));
    net.close();
    const mixed: string[] = [];
    const loose = new RoutedNetwork<string>({ seed: 4, delayMs: { min: 1, max: 15 } }, { deliver: (m) => mixed.push(m.payload), describe: (p) => p });
    for (let i = 0; i < 30; i++) loose.send('n1', 'n2', `a${i}`);
    await new Promise((r) => setTimeout(r, 60));
    expect(mixed).toHaveLength(30);
    expect(mixed).not.toEqual(Array.from({ length: 30 }, (_, i) => `a${i}`));
    loose.close();
    const held: string[] = [];
    const reordering = new RoutedNetwork<string>({ seed: 4, delayMs: { min: 1, max: 2 }, fifoLinks: true, reorderProbability: 0.5, reorderDelayMsMax: 20 }, { deliver: (m) => held.push(m.payload), describe: (p) => p });
    for (let i = 0; i < 30; i++) reordering.send('n1', 'n2', `a${i}`);
    await new Promise((r) => setTimeout(r, 80));
    expect(held).toHaveLength(30);
    expect(held).not.toEqual(Array.from({ length: 30 }, (_, i) => `a${i}`));
    reordering.close();
  });
});

describe('figure2 record: bad input', () => {
  it('refuses an --out it cannot write before running anything (exit 2, one line)', async () => {
    const io = memoryIo();
    expect(await runCli(['record', '--target', 'liferaft', '--out', '/nonexistent-dir/run.ndjson'], io)).toBe(2);
    expect(io.err()).toMatch(/^figure2: record: --out \/nonexistent-dir\/run\.ndjson: cannot write there/);
    expect(io.err().trim().split('\n')).toHaveLength(1);
    expect(io.out()).toBe('');
  });
});
