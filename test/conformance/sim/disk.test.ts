/**
 * The simulated disk's fsync semantics: what was synced survives a crash, the unsynced tail does
 * not (unless a torn write keeps a prefix of it); writes truncate from their first index (AE-3);
 * snapshots keep a matching log suffix or discard the log (IS-6, IS-7); and the invariants are
 * asserted on the way in and on the way out.
 */
import { describe, expect, it } from 'vitest';
import type { Entry, HardState, Snapshot } from '../../../impl/core/types.ts';
import { SimAssertionError } from '../../../conformance/sim/assert.ts';
import { SimDisk } from '../../../conformance/sim/disk.ts';
import { streamPrng } from '../../../conformance/sim/seeds.ts';

const entry = (index: number, term: number, data = `e${index}`): Entry => ({ index, term, kind: 'command', data });
const entries = (from: number, to: number, term: number): Entry[] => Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, term));
const hard = (currentTerm: number, votedFor: string | null = null, commitIndex = 0): HardState => ({ currentTerm, votedFor, commitIndex });
const snapshot = (lastIncludedIndex: number, lastIncludedTerm: number): Snapshot => ({ lastIncludedIndex, lastIncludedTerm, voters: ['n1'], data: `s${lastIncludedIndex}` });
const indices = (d: SimDisk): number[] => d.recover().entries.map((e) => e.index);

describe('SimDisk', () => {
  it('starts empty', () => {
    expect(new SimDisk().recover()).toEqual({ hardState: hard(0), snapshot: null, entries: [] });
  });

  it('keeps synced writes across a crash', () => {
    const d = new SimDisk();
    d.write({ hardState: hard(2, 'n1'), entries: entries(1, 3, 2) });
    d.sync();
    d.crash();
    expect(d.recover()).toEqual({ hardState: hard(2, 'n1'), snapshot: null, entries: entries(1, 3, 2) });
  });

  it('loses the unsynced tail on a crash', () => {
    const d = new SimDisk();
    d.write({ hardState: hard(1), entries: entries(1, 2, 1) });
    d.sync();
    d.write({ hardState: hard(3, 'n2') });
    d.write({ entries: entries(3, 5, 3) });
    expect(d.pendingBatches).toBe(2);
    d.crash();
    expect(d.recover()).toEqual({ hardState: hard(1), snapshot: null, entries: entries(1, 2, 1) });
    expect(d.stats).toMatchObject({ lostBatches: 2, tornBatches: 0 });
  });

  it('refuses to recover with writes pending (a process must crash or sync first)', () => {
    const d = new SimDisk();
    d.write({ hardState: hard(1) });
    expect(() => d.recover()).toThrow(SimAssertionError);
  });

  it('truncates from the first written index (AE-3), also across unsynced writes', () => {
    const d = new SimDisk();
    d.write({ entries: entries(1, 5, 1) });
    d.write({ entries: [entry(3, 2), entry(4, 2)] });
    d.sync();
    expect(d.recover().entries).toEqual([entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2)]);
  });

  it('rejects a write that would leave a gap, overwrite the snapshot or break term order', () => {
    const d = new SimDisk();
    d.write({ entries: entries(1, 2, 1) });
    expect(() => d.write({ entries: [entry(4, 1)] })).toThrow(/gap/);
    expect(() => d.write({ entries: [entry(3, 2), entry(4, 1)] })).toThrow(/term/);
    expect(() => d.write({ entries: [entry(3, 1), entry(5, 1)] })).toThrow(/contiguous/);
    d.write({ snapshot: snapshot(2, 1) });
    expect(() => d.write({ entries: [entry(2, 1)] })).toThrow(/snapshot/);
  });

  it('keeps the log after a snapshot that matches it (IS-6) and discards one that does not (IS-7)', () => {
    const d = new SimDisk();
    d.write({ entries: entries(1, 6, 1) });
    d.write({ snapshot: snapshot(4, 1) });
    d.sync();
    expect(d.recover().snapshot?.lastIncludedIndex).toBe(4);
    expect(indices(d)).toEqual([5, 6]);
    d.write({ snapshot: snapshot(5, 9) });
    d.sync();
    expect(indices(d)).toEqual([]);
    expect(d.lastIndex()).toBe(5);
    d.write({ entries: [entry(6, 9)] });
    d.sync();
    expect(indices(d)).toEqual([6]);
  });

  it('a snapshot beyond the log discards it and the log continues after the snapshot', () => {
    const d = new SimDisk();
    d.write({ entries: entries(1, 2, 1) });
    d.write({ snapshot: snapshot(10, 3), entries: [entry(11, 3)] });
    d.sync();
    d.crash();
    const state = d.recover();
    expect(state.snapshot?.lastIncludedIndex).toBe(10);
    expect(state.entries).toEqual([entry(11, 3)]);
  });

  it('never goes back in term (M-TERM across restarts)', () => {
    const d = new SimDisk();
    d.write({ hardState: hard(5) });
    d.write({ hardState: hard(4) });
    expect(() => d.sync()).toThrow(/term 4 after term 5/);
  });

  it('torn writes: a crash may keep a prefix of the pending batches, never a later batch without an earlier one', () => {
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const d = new SimDisk();
      d.write({ hardState: hard(1), entries: entries(1, 1, 1) });
      d.sync();
      d.write({ hardState: hard(2), entries: [entry(2, 2)] });
      d.write({ entries: [entry(3, 2)] });
      d.write({ hardState: hard(3) });
      d.crash({ rng: streamPrng(seed, 0), tornWriteProbability: 0.8 });
      const s = d.recover();
      outcomes.add(`${s.hardState.currentTerm}:${s.entries.length}`);
    }
    // Prefixes only: (1,1) nothing kept, (2,2) first batch, (2,3) two, (3,3) all three.
    expect([...outcomes].sort()).toEqual(['1:1', '2:2', '2:3', '3:3']);
  });

  it('checks what it is given at construction', () => {
    expect(() => new SimDisk({ hardState: hard(1), snapshot: snapshot(3, 1), entries: [entry(5, 1)] })).toThrow(/starts at 5/);
    const d = new SimDisk({ hardState: hard(1), snapshot: snapshot(3, 1), entries: [entry(4, 1)] });
    expect(d.lastIndex()).toBe(4);
  });

  it('ignores empty batches', () => {
    const d = new SimDisk();
    d.write({ entries: [] });
    d.write({});
    expect(d.pendingBatches).toBe(0);
  });
});
