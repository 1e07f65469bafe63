/**
 * The core's log backed by stable storage (issue 6: "the log is not held in memory in full; old
 * entries are read back from disk on demand, with a bounded cache"). RaftLog keeps only a window
 * of durable entries in memory and reads older ones through the LogReader; the results must be
 * exactly those of a log held wholly in memory.
 */
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RaftLog } from '../../../impl/core/raft-log.ts';
import type { Entry } from '../../../impl/core/types.ts';
import { MemoryStorage } from '../../../impl/storage/memory-storage.ts';
import { SimCluster } from '../../../conformance/sim/cluster.ts';

const entry = (index: number, term: number): Entry => ({ index, term, kind: 'command', data: `d${index}` });

/** Appends `entries` to both logs and the storage, as a host would: write, then mark stable. */
function appendDurably(logs: readonly RaftLog[], storage: MemoryStorage, entries: readonly Entry[]): void {
  for (const log of logs) for (const e of entries) log.append(e);
  void storage.save({ entries });
  for (const log of logs) {
    log.stableIndex = log.lastIndex();
    log.unstableFrom = log.lastIndex() + 1;
    log.release();
  }
}

describe('RaftLog backed by storage', () => {
  it('keeps at most about memoryEntriesMax entries in memory and reads the rest back', () => {
    const storage = new MemoryStorage();
    const backed = new RaftLog({ snapshotIndex: 0, snapshotTerm: 0, storage, memoryEntriesMax: 8 });
    const whole = new RaftLog({ snapshotIndex: 0, snapshotTerm: 0, entries: [] });
    for (let i = 1; i <= 100; i++) appendDurably([backed, whole], storage, [entry(i, 1 + Math.floor(i / 30))]);
    expect(backed.memoryEntries).toBeLessThanOrEqual(10);
    expect(whole.memoryEntries).toBe(100);
    expect(backed.slice(1, 100)).toEqual(whole.slice(1, 100));
    expect(backed.slice(3, 95, 10)).toEqual(whole.slice(3, 95, 10));
    for (const i of [1, 29, 30, 60, 99, 100]) {
      expect(backed.term(i)).toBe(whole.term(i));
      expect(backed.entry(i)).toEqual(whole.entry(i));
    }
    expect(backed.lastIndexOfTerm(2)).toBe(whole.lastIndexOfTerm(2));
    expect(backed.firstIndexOfTermAt(45)).toBe(whole.firstIndexOfTermAt(45));
  });

  it('never releases entries that are not yet durable', () => {
    const storage = new MemoryStorage();
    const log = new RaftLog({ snapshotIndex: 0, snapshotTerm: 0, storage, memoryEntriesMax: 2 });
    for (let i = 1; i <= 20; i++) log.append(entry(i, 1));
    log.release();
    expect(log.memoryEntries).toBe(20);
    expect(log.slice(1, 20).map((e) => e.index)).toEqual(Array.from({ length: 20 }, (_, k) => k + 1));
  });

  it('AE-3: a truncation that reaches into storage leaves the log ending there, read from storage', () => {
    const storage = new MemoryStorage();
    const log = new RaftLog({ snapshotIndex: 0, snapshotTerm: 0, storage, memoryEntriesMax: 4 });
    for (let i = 1; i <= 30; i++) appendDurably([log], storage, [entry(i, 1)]);
    log.truncateFrom(10);
    expect(log.lastIndex()).toBe(9);
    expect(log.lastTerm()).toBe(1);
    expect(log.stableIndex).toBe(9);
    log.append(entry(10, 2));
    expect(log.slice(8, 10).map((e) => `${e.index}/${e.term}`)).toEqual(['8/1', '9/1', '10/2']);
  });

  it('boots from storage with nothing in memory', () => {
    const storage = new MemoryStorage({ hardState: { currentTerm: 3, votedFor: null, commitIndex: 0 }, snapshot: null, entries: Array.from({ length: 50 }, (_, k) => entry(k + 1, 3)) });
    const log = new RaftLog({ snapshotIndex: 0, snapshotTerm: 0, storage });
    expect(log.memoryEntries).toBe(0);
    expect(log.lastIndex()).toBe(50);
    expect(log.lastTerm()).toBe(3);
    expect(log.entry(25)).toEqual(entry(25, 3));
  });

  it('agrees with a wholly in-memory log under random appends, truncations and compactions', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ append: fc.integer({ min: 1, max: 5 }) }), fc.record({ truncateBack: fc.integer({ min: 1, max: 10 }) }), fc.record({ compactBack: fc.integer({ min: 0, max: 10 }) })), { maxLength: 60 }),
        fc.integer({ min: 1, max: 6 }),
        (ops, memoryEntriesMax) => {
          const storage = new MemoryStorage();
          const backed = new RaftLog({ snapshotIndex: 0, snapshotTerm: 0, storage, memoryEntriesMax });
          const whole = new RaftLog({ snapshotIndex: 0, snapshotTerm: 0, entries: [] });
          let term = 1;
          for (const op of ops) {
            if ('append' in op) {
              term++;
              const from = whole.lastIndex() + 1;
              appendDurably([backed, whole], storage, Array.from({ length: op.append }, (_, k) => entry(from + k, term)));
            } else if ('truncateBack' in op) {
              const from = whole.lastIndex() - op.truncateBack + 1;
              if (from <= whole.snapshotIndex) continue;
              backed.truncateFrom(from);
              whole.truncateFrom(from);
            } else {
              const index = whole.lastIndex() - op.compactBack;
              if (index <= whole.snapshotIndex) continue;
              const t = whole.term(index) as number;
              // The host's order: the core lets go first, then storage releases the prefix.
              backed.compactTo(index, t, true);
              whole.compactTo(index, t, true);
              void storage.compact({ lastIncludedIndex: index, lastIncludedTerm: t, voters: ['n1'], data: '' });
            }
            expect(backed.lastIndex()).toBe(whole.lastIndex());
            expect(backed.slice(0, whole.lastIndex())).toEqual(whole.slice(0, whole.lastIndex()));
            expect(backed.memoryEntries).toBeLessThanOrEqual(Math.max(memoryEntriesMax + (memoryEntriesMax >> 2), whole.lastIndex() - whole.stableIndex));
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('the simulator with a small in-memory window', () => {
  it('a follower down for long catches up from entries read back from storage, and memory stays bounded', () => {
    const sim = new SimCluster({ seed: 11, nodes: 3, memoryEntriesMax: 8, snapshotThresholdEntries: 100_000, clients: { clients: 4, keys: 3 } });
    sim.run(200);
    sim.crash('n3');
    sim.run(1500);
    sim.restart('n3');
    sim.converge({ maxTicks: 3000 });
    const statuses = sim.ids.map((id) => sim.host(id).node?.status());
    const last = statuses[0]?.lastIndex ?? 0;
    expect(last).toBeGreaterThan(200);
    for (const s of statuses) {
      expect(s?.lastIndex).toBe(last);
      expect(s?.memoryEntries).toBeLessThanOrEqual(8 + (8 >> 2));
    }
    const logs = sim.ids.map((id) => JSON.stringify(sim.host(id).node?.entries()));
    expect(new Set(logs).size).toBe(1);
  });
});
