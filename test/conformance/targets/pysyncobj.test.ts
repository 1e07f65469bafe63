/**
 * The PySyncObj target (conformance/adapters/pysyncobj.ts) against the real thing, Debian's
 * python3-pysyncobj: a 3-node cluster elects a leader, serves a put and a get, keeps an
 * acknowledged write across a crash and restart of its leader, elects a new leader when the old one
 * is partitioned away — and its trace, checked by the project's TraceChecker, shows only the
 * PySyncObj deviations that docs/targets/pysyncobj.md documents. Where the package is not
 * installed, the target must say how to install it (no test skips itself).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INSTALL_HINT, PYSYNCOBJ_TARGET, PySyncObjCluster, pysyncobjUnavailable } from '../../../conformance/adapters/pysyncobj.ts';
import type { ClusterUnderTest, ClusterView } from '../../../conformance/cut.ts';
import type { TargetRunOptions } from '../../../conformance/realtime/target.ts';
import { TraceEvent } from '../../../spec/schemas/trace-events.ts';
import { TraceChecker } from '../../../traces/checker/checker.ts';
import type { LocatedEvent, Violation } from '../../../traces/checker/types.ts';
import { checkClientHistory } from '../../../traces/linearizability/index.ts';

const installed = PYSYNCOBJ_TARGET.unavailable() === undefined;

/**
 * A cluster whose links are FIFO, as over PySyncObj's own TCP transport (a constant delay: the
 * default jitter reorders messages on one link, and PySyncObj's reaction to that is a finding of
 * docs/targets/pysyncobj.md, not what these tests are about).
 */
function cluster(seed: number): ClusterUnderTest {
  return new PySyncObjCluster(options(seed), 'test', { delayMs: { min: 2, max: 2 } });
}

function options(seed: number): TargetRunOptions {
  return {
    seed,
    nodes: 3,
    clients: 2,
    keys: 2,
    tickMs: 10,
    electionTimeoutTicks: { min: 15, max: 30 },
    heartbeatIntervalTicks: 3,
    lossProbability: 0,
    duplicateProbability: 0,
    reorderProbability: 0,
    dataDir: mkdtempSync(join(tmpdir(), 'figure2-pysyncobj-')),
  };
}

/** Runs a cut with the trace checker fed online, as conformance/runner.ts does. */
class Harness {
  readonly checker = new TraceChecker();
  readonly events: LocatedEvent[] = [];

  constructor(readonly cut: ClusterUnderTest) {}

  ingest(): void {
    for (const event of this.cut.collectEvents()) this.events.push({ file: 'pysyncobj', line: this.events.length + 1, event });
    for (const located of this.events.slice(this.fed)) this.checker.feed(located);
    this.fed = this.events.length;
  }
  private fed = 0;

  async until(what: string, done: (v: ClusterView) => boolean, maxTicks = 400): Promise<ClusterView> {
    for (let t = 0; t < maxTicks; t += 2) {
      this.ingest();
      const v = this.cut.view();
      if (done(v)) return v;
      await this.cut.advance(2);
    }
    throw new Error(`timed out waiting for ${what}: ${JSON.stringify(this.cut.view().nodes)}`);
  }

  leader(v: ClusterView = this.cut.view()): string | undefined {
    const leaders = v.nodes.filter((n) => n.up && n.role === 'leader');
    return leaders.length === 1 ? leaders[0]?.id : undefined;
  }

  /** Runs one client operation to its end; returns its outcome event. */
  async op(client: number, node: string, op: Parameters<ClusterUnderTest['clientOp']>[0]['op']): Promise<TraceEvent> {
    const opId = await this.cut.clientOp({ client, node, op });
    await this.until(`operation ${opId}`, (v) => v.idleClients.includes(client));
    this.ingest();
    const end = this.events.find((l) => (l.event.ev === 'ok' || l.event.ev === 'fail' || l.event.ev === 'info') && l.event.opId === opId);
    if (end === undefined) throw new Error(`operation ${opId} has no outcome`);
    return end.event;
  }

  finish(): { violations: readonly Violation[]; linearizable: string } {
    this.ingest();
    for (const l of this.events) expect(TraceEvent.safeParse(l.event).success, JSON.stringify(l.event)).toBe(true);
    expect(this.checker.errors).toEqual([]);
    const report = this.checker.finish();
    const client = this.events.filter((l) => ['invoke', 'ok', 'fail', 'info'].includes(l.event.ev));
    return { violations: report.violations, linearizable: checkClientHistory(client).result.verdict };
  }
}

/**
 * The deviations docs/targets/pysyncobj.md documents and these scenarios can show without any
 * network fault:
 * - L-4: the commit loop counts matchIndex without checking the entry's term (syncobj.py:577-587),
 *   so a new leader commits earlier-term entries once a follower acknowledges them;
 * - AE-3, in its harmless form: an AppendEntries resent after two refusals (the leader's nextIndex
 *   reset twice, syncobj.py:957-958) makes the follower delete and re-append the same entries
 *   (syncobj.py:890-900) — "ours: term t, theirs: term t";
 * - after a restart: M-TERM and P-2 (currentTerm and votedFor are never persisted,
 *   syncobj.py:156-157), and M-COMMIT (a new leader's lower commit_index is adopted,
 *   syncobj.py:921).
 */
function expectOnlyKnownDeviations(violations: readonly Violation[], known: readonly string[]): void {
  const isKnown = (v: Violation): boolean => {
    if (!known.includes(v.rule)) return false;
    if (v.rule === 'L-4') return v.message.includes('whose entry is of term');
    if (v.rule === 'AE-3') return /ours: term (\d+), theirs: term \1\)/.test(v.message);
    return true;
  };
  expect(violations.filter((v) => !isKnown(v)).map((v) => `${v.rule} at ${v.at.line}: ${v.message}`)).toEqual([]);
}

describe('the PySyncObj target', () => {
  it('names itself, and says how to install PySyncObj where it does not import', () => {
    expect(PYSYNCOBJ_TARGET.id).toBe('pysyncobj');
    // PySyncObj compacts its log on demand (forceLogCompaction): every command applies.
    expect(PYSYNCOBJ_TARGET.unsupported).toEqual([]);
    // A Python without PySyncObj is what a machine without the package looks like.
    expect(pysyncobjUnavailable('/nonexistent/python3')).toBe(INSTALL_HINT);
    expect(INSTALL_HINT).toMatch(/apt-get install python3-pysyncobj/);
    if (installed) expect(PYSYNCOBJ_TARGET.name).toMatch(/^PySyncObj \d+\.\d+/);
    else expect(PYSYNCOBJ_TARGET.unavailable()).toBe(INSTALL_HINT);
  });

  it('elects a leader, serves a put then a get, and replaces a leader cut off by a partition; the checker finds only documented deviations', async () => {
    if (!installed) {
      expect(PYSYNCOBJ_TARGET.unavailable()).toBe(INSTALL_HINT);
      return;
    }
    const h = new Harness(cluster(11));
    try {
      await h.cut.start();
      const first = await h.until('a leader', (v) => h.leader(v) !== undefined);
      const leader = h.leader(first) as string;
      const follower = first.nodes.find((n) => n.id !== leader)?.id as string;
      // Through a follower: PySyncObj forwards the command to its leader itself.
      expect(await h.op(0, follower, { kind: 'put', key: 'k', value: 'v1' })).toMatchObject({ ev: 'ok' });
      expect(await h.op(1, leader, { kind: 'get', key: 'k' })).toMatchObject({ ev: 'ok', value: 'v1' });

      const others = first.nodes.map((n) => n.id).filter((id) => id !== leader);
      await h.cut.partition([[leader], others]);
      const after = await h.until('a new leader in the majority', (v) => v.nodes.some((n) => others.includes(n.id) && n.role === 'leader' && n.term > (first.nodes.find((x) => x.id === leader)?.term ?? 0)));
      expect(after.nodes.filter((n) => others.includes(n.id) && n.role === 'leader')).toHaveLength(1);
      await h.cut.settle(600);
      expect(await h.op(0, others[0] as string, { kind: 'get', key: 'k' })).toMatchObject({ ev: 'ok', value: 'v1' });
    } finally {
      await h.cut.stop();
    }
    const { violations, linearizable } = h.finish();
    expectOnlyKnownDeviations(violations, ['L-4', 'AE-3']);
    expect(linearizable).toBe('linearizable');
  }, 30_000);

  it('keeps an acknowledged write across a snapshot, an InstallSnapshot, a crash and restart of its leader; the checker reports the term PySyncObj does not persist', async () => {
    if (!installed) {
      expect(PYSYNCOBJ_TARGET.unavailable()).toBe(INSTALL_HINT);
      return;
    }
    const h = new Harness(cluster(12));
    try {
      await h.cut.start();
      const first = await h.until('a leader', (v) => h.leader(v) !== undefined);
      const leader = h.leader(first) as string;
      const lagging = first.nodes.find((n) => n.id !== leader)?.id as string;
      await h.cut.crash(lagging);
      // Two entries after the crash: the snapshot then covers more than the lagging node's log.
      expect(await h.op(0, leader, { kind: 'put', key: 'k', value: 'lost' })).toMatchObject({ ev: 'ok' });
      expect(await h.op(0, leader, { kind: 'put', key: 'k', value: 'kept' })).toMatchObject({ ev: 'ok' });
      expect(await h.cut.snapshot?.(leader)).toBe(true);
      // The lagging node is behind the leader's snapshot: it gets InstallSnapshot.
      await h.cut.restart(lagging);
      await h.cut.settle(600);
      h.ingest();
      expect(h.events.some((l) => l.event.ev === 'restore' && l.event.node === lagging)).toBe(true);
      await h.cut.crash(leader);
      await h.until('a new leader', (v) => { const l = h.leader(v); return l !== undefined && l !== leader; });
      await h.cut.restart(leader);
      await h.cut.settle(600);
      expect(await h.op(1, leader, { kind: 'get', key: 'k' })).toMatchObject({ ev: 'ok', value: 'kept' });
    } finally {
      await h.cut.stop();
    }
    const { violations, linearizable } = h.finish();
    // PySyncObj keeps currentTerm and votedFor in memory only (syncobj.py:156-157): the restarted
    // leader comes back in term 0, below the term it had to have persisted (Figure 2).
    const restart = violations.find((v) => v.rule === 'M-TERM');
    expect(restart?.message).toMatch(/restarted in term 0, below the term \d+ it had persisted/);
    expectOnlyKnownDeviations(violations, ['M-TERM', 'P-2', 'L-4', 'AE-3', 'M-COMMIT']);
    expect(linearizable).toBe('linearizable');
  }, 30_000);
});
