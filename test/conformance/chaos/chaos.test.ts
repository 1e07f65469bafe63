/**
 * The chaos test (issue 7): 3- and 5-node clusters of real processes on loopback, a fault proxy on
 * every directed peer link, concurrent clients, a seeded fault schedule (SIGKILL and restart,
 * SIGSTOP, partitions, one-way cuts, delay, loss), then heal, a power cut, and the end checks —
 * acknowledged writes on every node, CL-LIN over the client history, the merged traces clean.
 *
 * The seed is printed; `FIGURE2_CHAOS_SEED=<seed>` replays the schedule (not the timing: these are
 * real processes). On failure the message names what broke, the seed, and the data directory kept
 * with the traces and logs. The first tests prove the end checks can fail.
 */
import { createReadStream, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  checkFinal,
  checkTraceFiles,
  formatChaosResult,
  locateHistory,
  planSchedule,
  runChaos,
  seedFromEnv,
  type ChaosResult,
  type ClientEvent,
} from '../../../conformance/chaos/chaos.ts';
import { freshSeed } from '../../../conformance/prng.ts';
import type { ClientOperation } from '../../../spec/schemas/client.ts';
import { runCli, type CliIo } from '../../../tools/cli.ts';
import { checkClientHistory } from '../../../traces/linearizability/index.ts';

/** One seed for both runs (their schedules differ with the cluster size); printed by each run. */
const SEED = seedFromEnv() ?? freshSeed();
/** Faults per run: with start-up, the power cut and the checks, a run takes about twice this. */
const FAULT_MS = 8_000;
const aborts: AbortController[] = [];
const runs: Promise<unknown>[] = [];

/** Resolves when `promise` settles or after `ms`, whichever comes first. */
const settledWithin = (promise: Promise<unknown>, ms: number): Promise<unknown> =>
  Promise.race([promise.catch(() => {}), new Promise((resolve) => setTimeout(resolve, ms).unref())]);

afterAll(async () => {
  // Belt and braces (each test stops its own run when it ends, timeout included).
  for (const a of aborts) a.abort();
  await settledWithin(Promise.allSettled(runs), 15_000);
}, 20_000);

/** Builds a history event by event, with increasing ts. */
function history(): { events: ClientEvent[]; invoke: (client: string, opId: number, op: ClientOperation) => void; ok: (client: string, opId: number, value?: string | null) => void } {
  const events: ClientEvent[] = [];
  let ts = 1_000;
  return {
    events,
    invoke: (client, opId, op) => void events.push({ ev: 'invoke', client, opId, op, ts: ts++ }),
    ok: (client, opId, value) => void events.push({ ev: 'ok', client, opId, ...(value === undefined ? {} : { value }), ts: ts++ }),
  };
}

describe('the schedule', () => {
  it('is a pure function of the seed, keeps a majority up, and stays within the fault phase', () => {
    const nodes = ['n1', 'n2', 'n3', 'n4', 'n5'];
    for (const seed of [1, 2, 3, 42, SEED]) {
      const a = planSchedule(seed, { nodes, faultMs: 15_000 });
      expect(planSchedule(seed, { nodes, faultMs: 15_000 })).toEqual(a);
      expect(a.length).toBeGreaterThan(5);
      let down = 0;
      for (const step of a) {
        expect(step.atMs).toBeLessThan(15_000);
        if (step.action.kind === 'kill' || step.action.kind === 'pause') down++;
        if (step.action.kind === 'revive') down--;
        expect(down, `seed ${seed}`).toBeGreaterThanOrEqual(0);
        expect(down, `seed ${seed}`).toBeLessThanOrEqual(2);
      }
    }
    expect(planSchedule(1, { nodes, faultMs: 15_000 })).not.toEqual(planSchedule(2, { nodes, faultMs: 15_000 }));
  });
});

describe('the end checks can fail', () => {
  it('pass on a history the final reads account for', () => {
    const h = history();
    h.invoke('c1', 1, { kind: 'put', key: 'k0', value: 'c1:1' });
    h.ok('c1', 1);
    h.invoke('c2', 1, { kind: 'put', key: 'k0', value: 'c2:1' });
    h.ok('c2', 1);
    h.invoke('c1', 2, { kind: 'put', key: 'w-c1:2', value: 'c1:2' });
    h.ok('c1', 2);
    const leaderValues = { k0: 'c2:1', 'w-c1:2': 'c1:2' };
    expect(checkFinal(h.events, { leaderValues, nodeValues: { n1: leaderValues, n2: leaderValues } })).toEqual([]);
  });

  it('report an acknowledged write missing on a node', () => {
    const h = history();
    h.invoke('c1', 1, { kind: 'put', key: 'w-c1:1', value: 'c1:1' });
    h.ok('c1', 1);
    const leaderValues = { 'w-c1:1': 'c1:1' };
    const problems = checkFinal(h.events, { leaderValues, nodeValues: { n1: leaderValues, n2: { 'w-c1:1': null } } });
    expect(problems).toHaveLength(1);
    expect(problems[0]?.rule).toBe('stale-divergence');
    expect(problems[0]?.message).toMatch(/^n2 holds w-c1:1=null .* the acknowledged write client c1 op 1: put w-c1:1="c1:1" .* is missing there/);
  });

  it('report an acknowledged write the leader lost (an older value came back)', () => {
    const h = history();
    h.invoke('c1', 1, { kind: 'put', key: 'k0', value: 'c1:1' });
    h.ok('c1', 1);
    h.invoke('c2', 1, { kind: 'cas', key: 'k0', expected: 'c1:1', value: 'c2:1' });
    h.ok('c2', 1);
    const leaderValues = { k0: 'c1:1' };
    const problems = checkFinal(h.events, { leaderValues, nodeValues: {} });
    expect(problems.map((p) => p.rule)).toEqual(['lost-write']);
    expect(problems[0]?.message).toContain('client c2 op 1: cas k0 "c1:1"→"c2:1" [ok');
    // CL-LIN sees it too once the final read is part of the history.
    h.invoke('final', 1, { kind: 'get', key: 'k0' });
    h.ok('final', 1, 'c1:1');
    expect(checkClientHistory(locateHistory(h.events)).result.verdict).toBe('not-linearizable');
  });

  it('report a lost write whose key reads absent, and a value nobody wrote', () => {
    const h = history();
    h.invoke('c1', 1, { kind: 'put', key: 'w-c1:1', value: 'c1:1' });
    h.ok('c1', 1);
    h.invoke('c1', 2, { kind: 'put', key: 'k1', value: 'c1:2' });
    h.ok('c1', 2);
    const problems = checkFinal(h.events, { leaderValues: { 'w-c1:1': null, k1: 'zz' }, nodeValues: {} });
    expect(problems.map((p) => p.rule).sort()).toEqual(['lost-write', 'phantom-value']);
    // And a key that was not read at all cannot pass for accounted.
    expect(checkFinal(h.events, { leaderValues: { k1: 'c1:2' }, nodeValues: {} }).map((p) => p.rule)).toEqual(['final-read']);
  });

  it('do not blame a write that an unacknowledged one may have overwritten', () => {
    const h = history();
    h.invoke('c1', 1, { kind: 'put', key: 'k0', value: 'c1:1' });
    h.invoke('c2', 1, { kind: 'put', key: 'k0', value: 'c2:1' });
    h.ok('c2', 1);
    h.events.push({ ev: 'info', client: 'c1', opId: 1, error: 'gave up', ts: 5_000 });
    expect(checkFinal(h.events, { leaderValues: { k0: 'c1:1' }, nodeValues: { n1: { k0: 'c1:1' } } })).toEqual([]);
  });

  it('the trace check reports a violation in the merged per-node traces', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'figure2-chaos-doctored-'));
    try {
      const header = { ev: 'header', format: 'raft-trace', version: 1, cluster: ['n1', 'n2', 'n3'] };
      const lines = (events: object[]): string => `${[header, ...events].map((e) => JSON.stringify(e)).join('\n')}\n`;
      // Two leaders of term 1 (S-ES), each elected on its own file's evidence.
      const node = (id: string, ts: number): object[] => [
        { ev: 'init', node: id, term: 0, votedFor: null, lastIndex: 0, lastTerm: 0, snapshotIndex: 0, snapshotTerm: 0, ts },
        { ev: 'role', node: id, role: 'candidate', term: 1, ts: ts + 1 },
        { ev: 'persist', node: id, term: 1, votedFor: id, lastIndex: 0, ts: ts + 2 },
        { ev: 'role', node: id, role: 'leader', term: 1, ts: ts + 3 },
      ];
      writeFileSync(join(dir, 'n1.trace.ndjson'), lines(node('n1', 10)));
      writeFileSync(join(dir, 'n2.trace.ndjson'), lines(node('n2', 20)));
      const result = await checkTraceFiles([join(dir, 'n1.trace.ndjson'), join(dir, 'n2.trace.ndjson')]);
      expect(result.inputErrors).toEqual([]);
      expect(result.violations.map((v) => v.rule)).toContain('S-ES');
      // A file out of ts order is an input error, not a pass.
      writeFileSync(join(dir, 'n3.trace.ndjson'), lines([...node('n3', 30)].reverse()));
      const bad = await checkTraceFiles([join(dir, 'n1.trace.ndjson'), join(dir, 'n3.trace.ndjson')]);
      expect(bad.inputErrors.length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Runs one chaos run, registered so that afterAll can stop it if the test times out. */
async function chaos(nodes: number, seed: number, keepDataDir: 'on-failure' | 'always'): Promise<ChaosResult> {
  const abort = new AbortController();
  aborts.push(abort);
  const run = runChaos({ nodes, seed, faultMs: FAULT_MS, clients: 6, keys: 3, keepDataDir, signal: abort.signal, log: (line) => console.log(line) });
  runs.push(run);
  // A run cut short by the test's timeout must not go on beside the next test: stop it, and wait
  // (bounded) for its processes to be gone.
  onTestFinished(async () => {
    abort.abort();
    await settledWithin(run, 8_000);
  }, 10_000);
  return run;
}

function expectClean(result: ChaosResult): void {
  const report = formatChaosResult(result);
  expect(result.problems, report).toEqual([]);
  // Not vacuous: the cluster acknowledged writes that the end checks then held it to.
  expect(result.operations.acknowledgedWrites, report).toBeGreaterThanOrEqual(10);
  expect(result.linearizability?.verdict, report).toBe('linearizable');
  expect(result.traces?.violations, report).toEqual([]);
  expect(result.traces?.inputErrors, report).toEqual([]);
}

/** `figure2 check --merge` in-process on the run's trace files (the nodes' and the clients'). */
async function cliCheck(dataDir: string): Promise<{ code: number; output: string }> {
  const files = readdirSync(dataDir)
    .filter((f) => f.endsWith('.trace.ndjson'))
    .sort()
    .map((f) => join(dataDir, f));
  let output = '';
  const io: CliIo = {
    stdout: (text) => void (output += text),
    stderr: (text) => void (output += text),
    openRead: (path) => createReadStream(path),
    writeFile: async () => {},
  };
  return { code: await runCli(['check', '--merge', ...files], io), output };
}

describe('chaos on real processes', () => {
  it('3 nodes: every acknowledged write survives, the history is linearizable, the traces are clean', async () => {
    const result = await chaos(3, SEED, 'always');
    let passed = false;
    try {
      expectClean(result);
      // The CLI agrees on the same files: what a user would run on a kept data directory.
      const { code, output } = await cliCheck(result.dataDir);
      expect(code, `figure2 check --merge ${result.dataDir}/*.trace.ndjson:\n${output}\n${formatChaosResult(result)}`).toBe(0);
      passed = true;
    } finally {
      if (passed) rmSync(result.dataDir, { recursive: true, force: true });
      else console.log(`chaos: the data of the failed run is kept in ${result.dataDir}`);
    }
  }, 55_000);

  it('5 nodes: the same', async () => {
    expectClean(await chaos(5, SEED, 'on-failure'));
  }, 55_000);
});
