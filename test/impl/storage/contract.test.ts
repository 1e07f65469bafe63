/**
 * The Storage contract, run against both implementations: MemoryStorage (the twin) and
 * FileStorage (the WAL, with tiny segments and a tiny cache so that every test rotates
 * segments, deletes them on compaction and reads entries back from disk).
 *
 * Hand-written cases name each rule (AE-3 overwrite, IS-6/IS-7 snapshot install, compaction,
 * maxBytes); then a model-based property test drives random batches — bursts of concurrent
 * saves, overwrites, installs, compactions, restarts — through the storage and through SimDisk
 * (the simulator's disk, whose batch semantics are the reference) and compares everything
 * readable after every step.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimDisk } from '../../../conformance/sim/disk.ts';
import type { DurableState, Entry, HardState } from '../../../impl/core/types.ts';
import { AssertionError } from '../../../impl/storage/assert.ts';
import { FileStorage } from '../../../impl/storage/file-storage.ts';
import { MemoryStorage } from '../../../impl/storage/memory-storage.ts';
import type { Storage, StorageBatch } from '../../../impl/storage/storage.ts';
import { durableView, entries, entry, faultyFs, hardState, snapshotAt, tempRoot } from './support.ts';
import { nodeFs } from '../../../impl/storage/fs-layer.ts';

const nextDir = tempRoot('contract');

interface Subject {
  readonly name: string;
  create(): Promise<Storage>;
  /** The same storage after a restart: memory keeps its object; the file storage is closed and reopened. */
  restart(s: Storage): Promise<Storage>;
}

const FILE_OPTIONS = { segmentBytes: 4096, cacheBytes: 1024 } as const;
const dirs = new WeakMap<Storage, string>();

const SUBJECTS: readonly Subject[] = [
  { name: 'MemoryStorage', create: async () => new MemoryStorage(), restart: async (s) => s },
  {
    name: 'FileStorage',
    create: async () => {
      const dir = nextDir();
      const { storage } = await FileStorage.open(dir, FILE_OPTIONS);
      dirs.set(storage, dir);
      return storage;
    },
    restart: async (s) => {
      const dir = dirs.get(s) as string;
      await s.close();
      const { storage } = await FileStorage.open(dir, FILE_OPTIONS);
      dirs.set(storage, dir);
      return storage;
    },
  },
];

describe.each(SUBJECTS)('Storage contract: $name', (subject) => {
  it('starts empty: firstIndex 1, lastIndex 0, term(0) = 0, no snapshot, zero hard state', async () => {
    const s = await subject.create();
    expect([s.firstIndex(), s.lastIndex(), s.term(0), s.term(1)]).toEqual([1, 0, 0, undefined]);
    expect(s.snapshot()).toBeNull();
    expect(s.hardState()).toEqual({ currentTerm: 0, votedFor: null, commitIndex: 0 });
    expect(s.entries(1, 1)).toEqual([]);
    await s.close();
  });

  it('appends across saves and reads every entry and term back; reads see a save at once', async () => {
    const s = await subject.create();
    const pending = s.save({ entries: entries(1, 40, 1, 50) });
    expect(s.lastIndex()).toBe(40);
    expect(s.entries(39, 41)).toEqual(entries(39, 40, 1, 50));
    await pending;
    await s.save({ entries: entries(41, 90, 2, 50) });
    expect(s.entries(1, 91)).toEqual([...entries(1, 40, 1, 50), ...entries(41, 90, 2, 50)]);
    expect([s.term(40), s.term(41), s.term(91)]).toEqual([1, 2, undefined]);
    await s.close();
  });

  it('AE-3: entries overwrite the log from entries[0].index on, deleting the rest of the suffix', async () => {
    const s = await subject.create();
    await s.save({ entries: entries(1, 10, 1) });
    await s.save({ entries: entries(6, 8, 2) });
    expect(s.lastIndex()).toBe(8);
    expect(s.entries(1, 9)).toEqual([...entries(1, 5, 1), ...entries(6, 8, 2)]);
    expect(s.term(9)).toBeUndefined();
    const restarted = await subject.restart(s);
    expect(restarted.entries(1, 9)).toEqual([...entries(1, 5, 1), ...entries(6, 8, 2)]);
    await restarted.close();
  });

  it('hard state: saved, read back, and never allowed to go back in term', async () => {
    const s = await subject.create();
    await s.save({ hardState: hardState(3, 0, 'n2') });
    expect(s.hardState()).toEqual(hardState(3, 0, 'n2'));
    await s.save({ hardState: hardState(3, 0, null), entries: entries(1, 2, 3) });
    expect(s.hardState()).toEqual(hardState(3, 0, null));
    expect(() => s.save({ hardState: hardState(2) })).toThrow(AssertionError);
    const restarted = await subject.restart(s);
    expect(restarted.hardState()).toEqual(hardState(3, 0, null));
    await restarted.close();
  });

  it('refuses batches that break the log (a gap, a term going down, an overwrite of the snapshot) before writing anything', async () => {
    const s = await subject.create();
    await s.save({ entries: entries(1, 5, 2) });
    expect(() => s.save({ entries: [entry(7, 2)] })).toThrow(/gap/);
    expect(() => s.save({ entries: [entry(6, 1)] })).toThrow(/term/);
    await s.compact(snapshotAt(3, 2));
    expect(() => s.save({ entries: [entry(3, 2)] })).toThrow(/snapshot/);
    expect(() => s.save({ snapshot: snapshotAt(2, 2) })).toThrow(/behind/);
    expect(s.lastIndex()).toBe(5);
    await s.close();
  });

  it('IS-6: a snapshot whose last entry the log holds keeps the suffix after it', async () => {
    const s = await subject.create();
    await s.save({ entries: [...entries(1, 5, 1), ...entries(6, 10, 2)] });
    await s.save({ snapshot: snapshotAt(7, 2) });
    expect([s.firstIndex(), s.lastIndex(), s.term(7), s.term(6)]).toEqual([8, 10, 2, undefined]);
    expect(s.entries(8, 11)).toEqual(entries(8, 10, 2));
    expect(s.snapshot()).toEqual(snapshotAt(7, 2));
    const restarted = await subject.restart(s);
    expect(durableView(restarted)).toEqual({ hardState: hardState(0, 0, null), snapshot: snapshotAt(7, 2), entries: entries(8, 10, 2) });
    await restarted.close();
  });

  it('IS-7: a snapshot that disagrees with the log (or lies beyond it) discards the whole log', async () => {
    const s = await subject.create();
    await s.save({ entries: entries(1, 10, 1) });
    await s.save({ snapshot: snapshotAt(7, 3) });
    expect([s.firstIndex(), s.lastIndex(), s.term(7), s.term(8)]).toEqual([8, 7, 3, undefined]);
    await s.save({ snapshot: snapshotAt(20, 4), entries: entries(21, 22, 4), hardState: hardState(4, 20) });
    expect([s.firstIndex(), s.lastIndex(), s.term(20)]).toEqual([21, 22, 4]);
    const restarted = await subject.restart(s);
    expect(durableView(restarted)).toEqual({ hardState: hardState(4, 20), snapshot: snapshotAt(20, 4), entries: entries(21, 22, 4) });
    await restarted.close();
  });

  it('compaction releases the entries a snapshot covers and keeps the rest; term() answers at the snapshot point', async () => {
    const s = await subject.create();
    await s.save({ entries: entries(1, 200, 1, 40) });
    await s.compact(snapshotAt(150, 1));
    expect([s.firstIndex(), s.lastIndex(), s.term(150), s.term(149)]).toEqual([151, 200, 1, undefined]);
    expect(s.entries(151, 201)).toEqual(entries(151, 200, 1, 40));
    await s.compact(snapshotAt(150, 1)); // the same point again: nothing to do
    expect(() => s.compact(snapshotAt(201, 1))).toThrow(/outside the log/);
    expect(() => s.compact(snapshotAt(160, 2))).toThrow(/term/);
    const restarted = await subject.restart(s);
    expect([restarted.firstIndex(), restarted.lastIndex(), restarted.term(150)]).toEqual([151, 200, 1]);
    expect(restarted.entries(151, 201)).toEqual(entries(151, 200, 1, 40));
    await restarted.close();
  });

  it('entries(lo, hi, maxBytes) stops once about maxBytes of data are returned, and always returns at least one', async () => {
    const s = await subject.create();
    await s.save({ entries: entries(1, 20, 1, 10) });
    expect(s.entries(1, 21, 25).map((e) => e.index)).toEqual([1, 2]);
    expect(s.entries(1, 21, 30).map((e) => e.index)).toEqual([1, 2, 3]);
    expect(s.entries(5, 21, 0).map((e) => e.index)).toEqual([5]);
    expect(s.entries(5, 7, 1000).map((e) => e.index)).toEqual([5, 6]);
    expect(() => s.entries(0, 3)).toThrow(AssertionError);
    expect(() => s.entries(3, 22)).toThrow(AssertionError);
    await s.close();
  });

  it('concurrent saves resolve in call order, empty ones and no-op compactions included', async () => {
    const s = await subject.create();
    const order: string[] = [];
    const want: string[] = [];
    const saves: Promise<unknown>[] = [];
    for (let k = 1; k <= 50; k++) {
      if (k === 20) {
        saves.push(s.save({}).then(() => order.push('empty')));
        want.push('empty');
      }
      if (k === 30) {
        saves.push(s.compact(snapshotAt(0, 0)).then(() => order.push('no-op compaction')));
        want.push('no-op compaction');
      }
      saves.push(s.save({ entries: [entry(k, 1)] }).then(() => order.push(`e${k}`)));
      want.push(`e${k}`);
    }
    await Promise.all(saves);
    expect(order).toEqual(want);
    expect(s.entries(1, 51)).toEqual(entries(1, 50, 1));
    await s.close();
  });

  it('an empty save is not starved by a stream of appends', async () => {
    const s = await subject.create();
    let appended = 0;
    let emptyDone = false;
    const appender = async (): Promise<void> => {
      while (!emptyDone && appended < 5000) {
        appended++;
        await s.save({ entries: [entry(s.lastIndex() + 1, 1)] });
      }
    };
    const appenders = Array.from({ length: 8 }, appender);
    await s.save({});
    emptyDone = true;
    await Promise.all(appenders);
    expect(appended).toBeLessThan(5000);
    await s.close();
  });

  it('after close, saves are refused', async () => {
    const s = await subject.create();
    await s.close();
    await expect(s.save({ hardState: hardState(1) })).rejects.toMatchObject({ name: 'StorageError', kind: 'closed' });
  });

  it('model-based: random batches, bursts, installs, compactions and restarts match SimDisk', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(intentArb, { minLength: 1, maxLength: 24 }), async (intents) => {
        const model = new SimDisk();
        let s = await subject.create();
        try {
          for (const intent of intents) {
            if (intent.kind === 'restart') {
              s = await subject.restart(s);
            } else {
              await applyIntent(s, model, intent);
            }
            expectSameAs(s, model.recover(), intent);
          }
          s = await subject.restart(s);
          expectSameAs(s, model.recover(), { kind: 'restart' });
        } finally {
          await s.close();
        }
      }),
      { numRuns: subject.name === 'FileStorage' ? 30 : 150 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The model-based test's intents, turned into valid batches against the model's current state.

type Intent =
  | { readonly kind: 'append'; readonly count: number; readonly size: number }
  | { readonly kind: 'overwrite'; readonly back: number; readonly count: number }
  | { readonly kind: 'hard-state'; readonly bump: boolean; readonly vote: number }
  | { readonly kind: 'install'; readonly at: number; readonly match: boolean; readonly follow: number }
  | { readonly kind: 'compact'; readonly back: number }
  | { readonly kind: 'burst'; readonly saves: number; readonly size: number }
  | { readonly kind: 'read'; readonly lo: number; readonly span: number; readonly maxBytes: number }
  | { readonly kind: 'restart' };

const intentArb: fc.Arbitrary<Intent> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('append' as const), count: fc.integer({ min: 1, max: 30 }), size: fc.integer({ min: 0, max: 300 }) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('overwrite' as const), back: fc.nat(8), count: fc.integer({ min: 1, max: 6 }) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('hard-state' as const), bump: fc.boolean(), vote: fc.nat(3) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('install' as const), at: fc.nat(40), match: fc.boolean(), follow: fc.nat(3) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('compact' as const), back: fc.nat(20) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('burst' as const), saves: fc.integer({ min: 2, max: 20 }), size: fc.integer({ min: 0, max: 200 }) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('read' as const), lo: fc.nat(), span: fc.nat(40), maxBytes: fc.nat(600) }), weight: 2 },
  { arbitrary: fc.constant({ kind: 'restart' as const }), weight: 1 },
);

function lastTerm(state: DurableState): number {
  return state.entries[state.entries.length - 1]?.term ?? state.snapshot?.lastIncludedTerm ?? 0;
}

function lastIndexOf(state: DurableState): number {
  return (state.snapshot?.lastIncludedIndex ?? 0) + state.entries.length;
}

function termAt(state: DurableState, index: number): number | undefined {
  const base = state.snapshot?.lastIncludedIndex ?? 0;
  if (index === base) return state.snapshot?.lastIncludedTerm ?? 0;
  return state.entries[index - base - 1]?.term;
}

/** Saves `batch` to both, in order; the model syncs once all are written. */
async function saveBoth(s: Storage, model: SimDisk, batches: readonly StorageBatch[]): Promise<void> {
  const acks = batches.map((b) => {
    model.write(b);
    return s.save(b);
  });
  model.sync();
  await Promise.all(acks);
}

async function applyIntent(s: Storage, model: SimDisk, intent: Exclude<Intent, { kind: 'restart' }>): Promise<void> {
  const state = model.recover();
  const last = lastIndexOf(state);
  const base = state.snapshot?.lastIncludedIndex ?? 0;
  const hs: HardState = state.hardState;
  const term = Math.max(lastTerm(state), hs.currentTerm, 1);
  switch (intent.kind) {
    case 'append':
      return saveBoth(s, model, [{ entries: entries(last + 1, last + intent.count, term, intent.size) }]);
    case 'overwrite': {
      const from = Math.max(base + 1, last - intent.back);
      const newTerm = term + 1;
      return saveBoth(s, model, [{ entries: entries(from, from + intent.count - 1, newTerm, 20), hardState: { ...hs, currentTerm: newTerm } }]);
    }
    case 'hard-state':
      return saveBoth(s, model, [{ hardState: { currentTerm: hs.currentTerm + (intent.bump ? 1 : 0), votedFor: intent.vote === 0 ? null : `n${intent.vote}`, commitIndex: Math.min(last, hs.commitIndex + 3) } }]);
    case 'install': {
      const at = base + 1 + intent.at;
      const held = termAt(state, at);
      const snapTerm = intent.match && held !== undefined ? held : term + 1;
      const follow = intent.follow === 0 ? [] : entries(at + 1, at + intent.follow, snapTerm, 30);
      const keeps = held === snapTerm;
      // Entries after an install must fit the log it leaves: right after the snapshot when it discarded, or after the kept suffix.
      const batch: StorageBatch = keeps ? { snapshot: snapshotAt(at, snapTerm), hardState: { ...hs, currentTerm: Math.max(hs.currentTerm, snapTerm) } } : { snapshot: snapshotAt(at, snapTerm), entries: follow, hardState: { ...hs, currentTerm: Math.max(hs.currentTerm, snapTerm) } };
      return saveBoth(s, model, [batch]);
    }
    case 'compact': {
      if (last === base) return;
      const at = Math.max(base + 1, last - intent.back);
      const snapshot = snapshotAt(at, termAt(state, at) as number);
      model.write({ snapshot });
      model.sync();
      return s.compact(snapshot);
    }
    case 'burst': {
      const batches = Array.from({ length: intent.saves }, (_, k): StorageBatch => ({ entries: [entry(last + 1 + k, term, intent.size)], ...(k % 5 === 4 ? { hardState: { ...hs, commitIndex: last + k } } : {}) }));
      return saveBoth(s, model, batches);
    }
    case 'read': {
      const first = base + 1;
      if (last < first) return;
      const lo = first + (intent.lo % (last - first + 1));
      const hi = Math.min(last + 1, lo + intent.span);
      const got = s.entries(lo, hi, intent.maxBytes);
      const want: Entry[] = [];
      let bytes = 0;
      for (const e of state.entries.slice(lo - first, hi - first)) {
        if (want.length > 0 && bytes + e.data.length > intent.maxBytes) break;
        want.push(e);
        bytes += e.data.length;
      }
      expect(got).toEqual(want);
      return;
    }
  }
}

function expectSameAs(s: Storage, want: DurableState, after: Intent): void {
  const base = want.snapshot?.lastIncludedIndex ?? 0;
  const last = lastIndexOf(want);
  const context = `after ${JSON.stringify(after)}`;
  expect([s.firstIndex(), s.lastIndex()], context).toEqual([base + 1, last]);
  expect(s.hardState(), context).toEqual(want.hardState);
  expect(s.snapshot(), context).toEqual(want.snapshot);
  expect(s.entries(base + 1, last + 1), context).toEqual(want.entries);
  for (let i = Math.max(0, base - 1); i <= last + 1; i++) expect(s.term(i), `${context}: term(${i})`).toBe(termAt(want, i));
}

describe('FileStorage: bounded memory', () => {
  it('keeps only a bounded cache of entries and reads the rest back from disk, correctly', async () => {
    let reads = 0;
    const fs = faultyFs({
      readSync: (fd, buffer, offset, length, position) => {
        reads++;
        return nodeFs.readSync(fd, buffer, offset, length, position);
      },
    });
    const dir = nextDir();
    const { storage } = await FileStorage.open(dir, { segmentBytes: 64 * 1024, cacheBytes: 20_000, fs });
    for (let k = 0; k < 20; k++) await storage.save({ entries: entries(k * 100 + 1, k * 100 + 100, 1, 100) });
    // ~100 entries of 100 bytes (plus overhead) fit in 20 kB: nowhere near the 2000 written.
    expect(storage.stats().cachedEntries).toBeLessThan(110);
    expect(storage.stats().unwrittenEntries).toBe(0);
    reads = 0;
    expect(storage.entries(1, 2001)).toEqual(entries(1, 2000, 1, 100));
    expect(storage.stats().diskReads).toBeGreaterThan(0);
    expect(reads).toBeGreaterThan(0);
    expect(storage.stats().cachedEntries).toBeLessThan(110);
    // A catch-up read within maxBytes reads back only what it returns (plus one read span).
    expect(storage.entries(500, 2001, 1000).map((e) => e.index)).toEqual(Array.from({ length: 10 }, (_, k) => 500 + k));
    await storage.close();
  });
});
