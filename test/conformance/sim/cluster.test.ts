/**
 * The simulated cluster end to end: the reference core and KV on the simulated network and disks,
 * with clients. A fault-free run elects one leader and replicates; runs with every fault converge
 * once healed (TigerBeetle's safety phase, then liveness phase); runs replay byte for byte from
 * their seed; traces are valid v1 with causal order; client histories are balanced; and the
 * cheap invariant checks fire on deliberately broken nodes (the checker proves it can fail).
 */
import { describe, expect, it } from 'vitest';
import { RaftNode } from '../../../impl/core/raft-node.ts';
import type { Ready } from '../../../impl/core/types.ts';
import { SimCluster, SimViolation, eventCollector } from '../../../conformance/sim/cluster.ts';
import { parseFaultSpec } from '../../../conformance/sim/faults.ts';
import { faultsForSeed, simulate } from '../../../conformance/sim/simulate.ts';
import { memoryTraceWriter } from '../../../conformance/sim/trace-writer.ts';
import { TraceEvent } from '../../../spec/schemas/trace-events.ts';
import { IDENTITY_DIGEST } from '../../../impl/core/trace.ts';

const ALL_FAULTS = (() => {
  const parsed = parseFaultSpec('all');
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.spec;
})();

/** A run's trace as NDJSON text. */
function tracedRun(options: { seed: number; ticks: number; nodes?: number; faults?: typeof ALL_FAULTS; snapshotThresholdEntries?: number; fullDigests?: boolean }) {
  const { writer, text } = memoryTraceWriter();
  const { fullDigests, ...rest } = options;
  const cluster = fullDigests === true ? { traceDigest: IDENTITY_DIGEST } : {};
  const result = simulate({ nodes: 3, ...rest, trace: writer, healTicksMax: 5000, cluster });
  writer.close();
  return { result, text: text() };
}

/** Per client: opIds invoked, and completions per opId, in trace order. */
function histories(events: readonly TraceEvent[]) {
  const byClient = new Map<string, { invoked: number[]; completed: Map<number, string[]>; open: number | null }>();
  for (const e of events) {
    if (e.ev !== 'invoke' && e.ev !== 'ok' && e.ev !== 'fail' && e.ev !== 'info') continue;
    const client = String(e.client);
    const h = byClient.get(client) ?? { invoked: [], completed: new Map<number, string[]>(), open: null };
    byClient.set(client, h);
    const opId = Number(e.opId);
    if (e.ev === 'invoke') {
      // Sequential clients: nothing open when a new operation starts.
      expect(h.open, `${client} invokes ${opId} while ${h.open} is open`).toBeNull();
      expect(h.invoked).not.toContain(opId);
      h.invoked.push(opId);
      h.open = opId;
    } else {
      expect(h.open, `${client} completes ${opId} which is not open`).toBe(opId);
      h.completed.set(opId, [...(h.completed.get(opId) ?? []), e.ev]);
      h.open = null;
    }
  }
  return byClient;
}

describe('simulated cluster', () => {
  it('fault-free, 3 nodes: one leader, client commands committed, every replica applies the same entries', () => {
    const trace = eventCollector();
    const cluster = new SimCluster({ seed: 3, nodes: 3, trace });
    cluster.run(3000);
    expect(cluster.stats.leadersByTerm).toBe(1);
    expect(cluster.stats.maxTerm).toBe(1);
    expect(cluster.stats.commandsCommitted).toBeGreaterThan(300);
    expect(cluster.workload.stats.ok).toBeGreaterThan(300);
    expect(cluster.workload.stats.info).toBe(0);
    expect(cluster.network.dropped()).toBe(0);
    const ticks = cluster.converge({ maxTicks: 500 });
    expect(ticks).toBeLessThan(100);
    // The same entries at the same indices on every node (S-SMS), read off the trace.
    const applied = new Map<string, string[]>();
    for (const e of trace.events) {
      if (e.ev === 'apply') applied.set(e.node, [...(applied.get(e.node) ?? []), `${e.index}:${e.term}:${e.digest ?? ''}`]);
    }
    const [first, ...rest] = [...applied.values()];
    expect(first?.length).toBeGreaterThan(300);
    for (const other of rest) expect(other).toEqual(first);
    const digests = cluster.ids.map((id) => cluster.host(id).kv.digest());
    expect(new Set(digests).size).toBe(1);
  });

  it.each([1, 2, 3, 4, 5, 6])('every fault for 20,000 ticks, seed %i: safe as it runs, converges once healed', (seed) => {
    const result = simulate({
      seed,
      nodes: 5,
      ticks: 20_000,
      faults: ALL_FAULTS,
      snapshotThresholdEntries: 200,
      cluster: { digestEveryEntries: 32 },
    });
    expect(result.error, JSON.stringify(result.error)).toBeUndefined();
    expect(result.violation, JSON.stringify(result.violation)).toBeUndefined();
    const s = result.summary;
    expect(s.convergedAfterTicks).not.toBeNull();
    expect(s.clients.pending).toBe(0);
    expect(s.clients.invoked).toBe(s.clients.ok + s.clients.fail + s.clients.info);
    expect(s.commandsCommitted).toBeGreaterThan(100);
    // Swarm: each seed draws its own mix, but every fault is on.
    expect(s.injected.drops).toBeGreaterThan(0);
    expect(s.injected.duplicates).toBeGreaterThan(0);
    expect(s.injected.partitions + s.injected.oneWayCuts).toBeGreaterThan(0);
    expect(s.injected.crashes).toBeGreaterThan(0);
  });

  it('takes snapshots and brings lagging nodes up with InstallSnapshot', () => {
    const cluster = new SimCluster({ seed: 8, nodes: 3, snapshotThresholdEntries: 50 });
    cluster.run(300);
    cluster.crash('n3');
    cluster.run(2000);
    expect(cluster.stats.snapshotsTaken).toBeGreaterThan(2);
    cluster.restart('n3');
    cluster.converge({ maxTicks: 2000 });
    expect(cluster.stats.snapshotsInstalled).toBeGreaterThan(0);
    expect(cluster.host('n3').kv.digest()).toBe(cluster.host('n1').kv.digest());
  });

  it('a majority crash: nothing commits meanwhile, and the cluster recovers from its disks', () => {
    const cluster = new SimCluster({ seed: 4, nodes: 3 });
    cluster.run(500);
    const before = cluster.stats.commandsCommitted;
    cluster.crash('n1');
    cluster.crash('n2');
    cluster.crash('n3');
    cluster.run(200);
    expect(cluster.stats.commandsCommitted).toBe(before);
    for (const id of cluster.ids) cluster.restart(id);
    cluster.run(500);
    expect(cluster.stats.commandsCommitted).toBeGreaterThan(before);
    cluster.converge({ maxTicks: 2000 });
  });

  it('replays byte for byte from its seed; another seed gives another trace', () => {
    const a = tracedRun({ seed: 21, ticks: 1500, faults: ALL_FAULTS, snapshotThresholdEntries: 100 });
    const b = tracedRun({ seed: 21, ticks: 1500, faults: ALL_FAULTS, snapshotThresholdEntries: 100 });
    const c = tracedRun({ seed: 22, ticks: 1500, faults: ALL_FAULTS, snapshotThresholdEntries: 100 });
    expect(a.text.length).toBeGreaterThan(10_000);
    expect(b.text).toBe(a.text);
    expect(c.text).not.toBe(a.text);
    expect(b.result).toEqual(a.result);
  });

  it('tracing does not change the run', () => {
    const traced = tracedRun({ seed: 5, ticks: 2000, faults: ALL_FAULTS });
    const untraced = simulate({ seed: 5, nodes: 3, ticks: 2000, faults: ALL_FAULTS, healTicksMax: 5000 });
    expect(untraced).toEqual(traced.result);
  });

  it('writes a valid v1 trace: header first, every line valid, recv after its send, drop after its send', () => {
    // High rates, so that a short run shows every fault (and every event kind) several times.
    const faults = { loss: 0.1, dup: 0.1, reorder: 0.3, partitions: 0.01, crashes: 0.01, torn: 0.5 };
    // Seed 32 commits ~130 commands in 1000 such ticks (seed 31 churns through elections and commits 14).
    const { text, result } = tracedRun({ seed: 32, ticks: 1000, nodes: 5, faults, snapshotThresholdEntries: 20 });
    expect(result.ok).toBe(true);
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    const events: TraceEvent[] = [];
    for (const [i, line] of lines.entries()) {
      const parsed = TraceEvent.safeParse(JSON.parse(line));
      expect(parsed.success, `line ${i + 1}: ${line.slice(0, 300)}`).toBe(true);
      if (parsed.success) events.push(parsed.data);
    }
    expect(events[0]).toMatchObject({ ev: 'header', format: 'raft-trace', version: 1, cluster: ['n1', 'n2', 'n3', 'n4', 'n5'] });
    expect(events.filter((e) => e.ev === 'header')).toHaveLength(1);
    const kinds = new Set(events.map((e) => e.ev));
    for (const kind of ['init', 'crash', 'timeout', 'role', 'send', 'recv', 'drop', 'append', 'persist', 'commit', 'apply', 'snapshot', 'invoke', 'ok', 'fail']) {
      expect(kinds).toContain(kind);
    }
    // Causality: a message is received or dropped only after it was sent (duplicates: a set).
    const sent = new Set<string>();
    const key = (from: string, to: string, msg: unknown): string => `${from}>${to}:${JSON.stringify(msg)}`;
    let ts = 0;
    for (const [i, e] of events.entries()) {
      if (e.ts !== undefined) {
        expect(e.ts, `line ${i + 1}: ts goes back`).toBeGreaterThanOrEqual(ts);
        ts = e.ts;
      }
      if (e.ev === 'send') sent.add(key(e.node, e.to, e.msg));
      if (e.ev === 'recv') expect(sent.has(key(e.from, e.node, e.msg)), `line ${i + 1}: recv before its send`).toBe(true);
      if (e.ev === 'drop') expect(sent.has(key(e.from, e.to, e.msg)), `line ${i + 1}: drop before its send`).toBe(true);
    }
  });

  it('client histories are balanced: every invoke completes exactly once or ends pending', () => {
    const { text, result } = tracedRun({ seed: 17, ticks: 6000, nodes: 5, faults: ALL_FAULTS });
    const events = text.trim().split('\n').map((l) => JSON.parse(l) as TraceEvent);
    const byClient = histories(events);
    expect(byClient.size).toBe(4);
    let invoked = 0;
    for (const [client, h] of byClient) {
      invoked += h.invoked.length;
      for (const opId of h.invoked) {
        const completions = h.completed.get(opId) ?? [];
        // Exactly one completion, or none for the one operation that may still be open.
        if (completions.length === 0) expect(h.open, `${client} op ${opId} never completed`).toBe(opId);
        else expect(completions, `${client} op ${opId}`).toHaveLength(1);
      }
    }
    expect(invoked).toBe(result.summary.clients.invoked);
    expect(result.summary.clients.pending).toBe(0);
    expect(result.summary.clients.ok).toBeGreaterThan(100);
  });

  it("a write's ok follows, in the trace, an apply of that client's command since its invoke", () => {
    // Commands in full (not hashed) in the trace, so the test can read each apply's client.
    const { text } = tracedRun({ seed: 13, ticks: 3000, nodes: 3, faults: { loss: 0.05, crashes: 0.002 }, fullDigests: true });
    const events = text.trim().split('\n').map((l) => JSON.parse(l) as TraceEvent);
    const appliedSinceInvoke = new Map<string, boolean>();
    const writing = new Map<string, boolean>();
    let checked = 0;
    for (const [i, e] of events.entries()) {
      if (e.ev === 'invoke') {
        appliedSinceInvoke.set(String(e.client), false);
        writing.set(String(e.client), e.op.kind !== 'get');
      }
      if (e.ev === 'apply' && e.digest !== undefined) {
        const client = /"clientId":"([^"]+)"/.exec(e.digest)?.[1];
        if (client !== undefined) appliedSinceInvoke.set(client, true);
      }
      if ((e.ev === 'ok' || (e.ev === 'fail' && e.error === 'cas-mismatch')) && writing.get(String(e.client)) === true) {
        expect(appliedSinceInvoke.get(String(e.client)), `line ${i + 1}: ${e.ev} before any apply`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('retries with the same seq are answered from the session cache (CL-ONCE), not executed twice', () => {
    // Heavy loss of responses makes clients retry writes that had committed.
    let duplicates = 0;
    for (const seed of [1, 2, 3]) {
      const result = simulate({ seed, nodes: 3, ticks: 5000, faults: { loss: 0.3, crashes: 0.003 }, healTicksMax: 5000 });
      expect(result.ok).toBe(true);
      duplicates += result.summary.clients.duplicates;
    }
    expect(duplicates).toBeGreaterThan(0);
  });

  it('draws the fault mix from the seed (swarm): different seeds, different mixes; explicit rates kept', () => {
    const mixes = new Set([1, 2, 3, 4, 5, 6, 7, 8].map((seed) => JSON.stringify(faultsForSeed({ seed, nodes: 5, faults: ALL_FAULTS }))));
    expect(mixes.size).toBeGreaterThan(4);
    const explicit = faultsForSeed({ seed: 1, nodes: 5, faults: { loss: 0.1, dup: 0.05 } });
    expect(explicit).toMatchObject({ lossProbability: 0.1, duplicateProbability: 0.05, reorderProbability: 0, crashProbabilityPerTick: 0 });
  });

  describe('proves it can fail', () => {
    it('S-SMS: a node that applies different data at an index is caught', () => {
      class CorruptingNode extends RaftNode {
        override ready(): Ready {
          const ready = super.ready();
          if (this.id !== 'n2' || ready.committedEntries.length === 0) return ready;
          const committedEntries = ready.committedEntries.map((e) => (e.kind === 'command' ? { ...e, data: e.data.replace(/"value":"/, '"value":"X') } : e));
          return { ...ready, committedEntries };
        }
      }
      const result = simulate({ seed: 1, nodes: 3, ticks: 2000, cluster: { nodeFactory: (c, o) => new CorruptingNode(c, o) } });
      expect(result.ok).toBe(false);
      expect(result.violation?.rule).toBe('S-SMS');
    });

    it('S-ES: two nodes that both claim leadership of a term are caught', () => {
      class UsurpingNode extends RaftNode {
        override ready(): Ready {
          const ready = super.ready();
          return ready.hardState !== undefined && ready.hardState.currentTerm > 0 ? { ...ready, role: 'leader' } : ready;
        }
      }
      const result = simulate({ seed: 2, nodes: 3, ticks: 500, cluster: { nodeFactory: (c, o) => new UsurpingNode(c, o) } });
      expect(result.violation?.rule).toBe('S-ES');
      expect(result.violation?.message).toMatch(/both leaders of term/);
    });

    it('liveness: a node that never sends keeps the healed cluster from converging', () => {
      class MuteNode extends RaftNode {
        override ready(): Ready {
          const ready = super.ready();
          return this.id === 'n1' || this.id === 'n2' ? { ...ready, messages: [] } : ready;
        }
      }
      const result = simulate({ seed: 3, nodes: 3, ticks: 200, healTicksMax: 500, cluster: { nodeFactory: (c, o) => new MuteNode(c, o) } });
      expect(result.violation?.rule).toBe('liveness');
      expect(() => {
        throw new SimViolation('liveness', 1, 'x');
      }).toThrow(/liveness at tick 1/);
    });
  });
});
