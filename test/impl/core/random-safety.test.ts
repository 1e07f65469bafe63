/**
 * Random schedules against the reference core: fast-check chooses ticks, deliveries (in any
 * order), drops, duplicates, crashes, restarts and proposals; after every step, at most one
 * leader per term (S-ES) and every node's applied sequence is a prefix of one common sequence
 * (S-SMS). fast-check prints the seed and shrunk schedule of any failure.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CoreCluster } from '../../support/core-harness.ts';

type Action =
  | { kind: 'tick'; node: number; ticks: number }
  | { kind: 'deliver'; pick: number; count: number }
  | { kind: 'drop'; pick: number }
  | { kind: 'duplicate'; pick: number }
  | { kind: 'crash'; node: number }
  | { kind: 'restart'; node: number }
  | { kind: 'propose'; node: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('tick' as const), node: fc.nat(4), ticks: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat(), count: fc.integer({ min: 1, max: 30 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), node: fc.nat(4) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('restart' as const), node: fc.nat(4) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('propose' as const), node: fc.nat(4) }) },
);

function run(nodes: number, actions: readonly Action[], snapshotThresholdEntries?: number): void {
  const ids = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
  const c = new CoreCluster({ ids, ...(snapshotThresholdEntries === undefined ? {} : { snapshotThresholdEntries }), config: { snapshotChunkBytes: 64 } });
  const leaders = new Map<number, string>();
  let proposals = 0;
  const check = (): void => {
    for (const id of ids) {
      const h = c.host(id);
      if (!h.up) continue;
      const s = h.node.status();
      if (s.role !== 'leader') continue;
      const known = leaders.get(s.currentTerm);
      expect(known === undefined || known === id, `S-ES: term ${s.currentTerm} has leaders ${known} and ${id}`).toBe(true);
      leaders.set(s.currentTerm, id);
    }
    // S-SMS: every applied sequence is a prefix of the longest.
    const sequences = ids.map((id) => c.host(id).applied.map((e) => `${e.index}:${e.term}:${e.data}`));
    const longest = sequences.reduce((a, b) => (b.length > a.length ? b : a), []);
    for (const [k, seq] of sequences.entries()) {
      expect(seq, `S-SMS: ${ids[k]} applied a different sequence`).toEqual(longest.slice(0, seq.length));
    }
  };
  for (const a of actions) {
    const id = ids[('node' in a ? a.node : 0) % nodes] as string;
    switch (a.kind) {
      case 'tick':
        c.tick(id, a.ticks);
        break;
      case 'deliver':
        for (let i = 0; i < a.count && c.network.length > 0; i++) {
          const k = (a.pick + i) % c.network.length;
          const [m] = c.network.splice(k, 1);
          if (m !== undefined && c.host(m.to).up) {
            c.node(m.to).step(m);
            c.process(m.to);
          }
        }
        break;
      case 'drop':
        if (c.network.length > 0) c.network.splice(a.pick % c.network.length, 1);
        break;
      case 'duplicate':
        if (c.network.length > 0) c.network.push(c.network[a.pick % c.network.length]!);
        break;
      case 'crash':
        if (c.host(id).up && ids.filter((x) => !c.host(x).up).length < Math.floor((nodes - 1) / 2)) c.crash(id);
        break;
      case 'restart':
        if (!c.host(id).up) c.restart(id);
        break;
      case 'propose':
        if (c.host(id).up) {
          c.node(id).propose(`p${++proposals}`);
          c.process(id);
        }
        break;
    }
    check();
  }
}

describe('core under random schedules', () => {
  it('S-ES and S-SMS hold for 3 nodes', () => {
    fc.assert(fc.property(fc.array(action, { minLength: 20, maxLength: 250 }), (actions) => run(3, actions)), { numRuns: 150 });
  });

  it('S-ES and S-SMS hold for 5 nodes with frequent snapshots (chunked InstallSnapshot)', () => {
    fc.assert(fc.property(fc.array(action, { minLength: 20, maxLength: 300 }), (actions) => run(5, actions, 8)), { numRuns: 120 });
  });
});
