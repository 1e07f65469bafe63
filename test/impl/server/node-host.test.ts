/**
 * The reference core on the file storage, with real asynchronous fsyncs (issue 6: "the core runs
 * on the file storage in a real process"): three NodeHosts in this process, each on a FileStorage
 * in its own directory, messages passed through an in-memory transport. The trace they emit is
 * checked against every Figure 2 rule; a node restarted from its directory catches up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPrng } from '../../../conformance/prng.ts';
import { DEFAULT_CONFIG, type Envelope } from '../../../impl/core/types.ts';
import { NodeHost, NotLeaderError } from '../../../impl/server/node-host.ts';
import { FileStorage } from '../../../impl/storage/file-storage.ts';
import type { TraceEvent } from '../../../spec/schemas/trace-events.ts';
import { TraceChecker } from '../../../traces/checker/checker.ts';

const ids = ['n1', 'n2', 'n3'];
const root = mkdtempSync(join(tmpdir(), 'figure2-host-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const macrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

class Cluster {
  readonly hosts = new Map<string, NodeHost>();
  readonly events: TraceEvent[] = [{ ev: 'header', format: 'raft-trace', version: 1, cluster: ids, source: 'node-host test' }];
  private readonly queue: Envelope[] = [];

  async open(id: string, seed: number): Promise<NodeHost> {
    const { storage } = await FileStorage.open(join(root, id), { segmentBytes: 64 * 1024 });
    const host = new NodeHost({
      config: { ...DEFAULT_CONFIG, id, voters: ids },
      storage,
      rng: createPrng(seed),
      send: (m) => void this.queue.push(m),
      sink: (e) => void this.events.push(e),
      memoryEntriesMax: 16,
      snapshotThresholdEntries: 50,
      onFatal: (err) => {
        throw err;
      },
    });
    this.hosts.set(id, host);
    return host;
  }

  /** One tick everywhere, then deliver what is in flight and let the fsyncs finish. */
  async tick(): Promise<void> {
    for (const host of this.hosts.values()) host.tick();
    for (let round = 0; round < 4; round++) {
      await macrotask();
      for (const m of this.queue.splice(0)) this.hosts.get(m.to)?.step(m);
      await Promise.all([...this.hosts.values()].map((h) => h.idle()));
    }
  }

  leader(): NodeHost | undefined {
    return [...this.hosts.values()].find((h) => h.status().role === 'leader');
  }

  async untilLeader(): Promise<NodeHost> {
    for (let t = 0; t < 500; t++) {
      const leader = this.leader();
      if (leader !== undefined) return leader;
      await this.tick();
    }
    throw new Error('no leader within 500 ticks');
  }

  /** A put through whoever leads, retried on a refusal; resolves once applied on the leader. */
  async put(key: string, value: string, seq: number): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const leader = await this.untilLeader();
      const done = leader.propose({ clientId: 'c1', seq, op: { kind: 'put', key, value } });
      let settled = false;
      const outcome = done.then(
        () => void (settled = true),
        (err: unknown) => {
          settled = true;
          if (!(err instanceof NotLeaderError)) throw err;
          return 'retry' as const;
        },
      );
      while (!settled) await this.tick();
      if ((await outcome) !== 'retry') return;
    }
    throw new Error(`put ${key} not done`);
  }
}

describe('NodeHost on FileStorage', () => {
  it('replicates, survives a restart from disk, and its trace passes every Figure 2 check', async () => {
    const cluster = new Cluster();
    for (const [i, id] of ids.entries()) await cluster.open(id, 100 + i);
    const leader = await cluster.untilLeader();
    for (let i = 1; i <= 120; i++) await cluster.put(`k${i % 7}`, `v${i}`, i);

    // Restart a follower from its directory: hard state, snapshot and WAL come back.
    const follower = ids.find((id) => id !== leader.id) as string;
    const before = cluster.hosts.get(follower)?.status();
    await cluster.hosts.get(follower)?.close();
    cluster.hosts.delete(follower);
    cluster.events.push({ ev: 'crash', node: follower });
    for (let i = 121; i <= 160; i++) await cluster.put(`k${i % 7}`, `v${i}`, i);
    const reopened = await cluster.open(follower, 999);
    expect(reopened.status().currentTerm).toBeGreaterThanOrEqual(before?.currentTerm ?? Infinity);
    expect(reopened.status().lastIndex).toBeGreaterThanOrEqual(before?.commitIndex ?? Infinity);
    for (let t = 0; t < 300 && reopened.status().lastApplied < (cluster.leader()?.status().commitIndex ?? 0); t++) await cluster.tick();

    const applied = [...cluster.hosts.values()].map((h) => h.status().lastApplied);
    expect(new Set(applied).size).toBe(1);
    for (let k = 0; k < 7; k++) {
      const values = [...cluster.hosts.values()].map((h) => h.localGet(`k${k}`));
      expect(new Set(values).size, `k${k}: ${values.join(' / ')}`).toBe(1);
    }
    expect(cluster.hosts.get(leader.id)?.localGet('k6')).toBe('v160');
    for (const h of cluster.hosts.values()) expect(h.status().memoryEntries).toBeLessThanOrEqual(20);

    const checker = new TraceChecker();
    cluster.events.forEach((event, i) => checker.feed({ file: 'node-host', line: i + 1, event }));
    const report = checker.finish();
    expect(checker.errors).toEqual([]);
    expect(report.violations).toEqual([]);
    expect(report.coverage.find((c) => c.rule === 'P-1')?.checked).toBeGreaterThan(0);
    expect(cluster.events.filter((e) => e.ev === 'snapshot').length).toBeGreaterThan(0);
    for (const h of cluster.hosts.values()) await h.close();
  }, 60_000);
});
