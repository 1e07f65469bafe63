/**
 * Crash consistency (d): a snapshot install or a compaction — snapshot file, WAL marker, segment
 * deletion, snapshot pruning — and a segment rotation, each interrupted at every step by a
 * fault-injection hook standing for a crash there. Reopening must recover a consistent state:
 * before the marker is synced, the old snapshot and the whole old log; from then on, the new
 * snapshot and the log after it. Open also finishes what the crash left undone (deleting
 * covered segments, pruning snapshots, removing temporary files), and the storage stays usable.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DurableState, Snapshot } from '../../../impl/core/types.ts';
import { FileStorage } from '../../../impl/storage/file-storage.ts';
import { MemoryStorage } from '../../../impl/storage/memory-storage.ts';
import type { StorageStep } from '../../../impl/storage/steps.ts';
import type { Storage, StorageBatch } from '../../../impl/storage/storage.ts';
import { classifyDirectory } from '../../../impl/storage/wal/segment.ts';
import { durableView, entries, hardState, SimulatedCrash, snapshotAt, tempRoot } from './support.ts';

const nextDir = tempRoot('interrupted');
const OPTIONS = { segmentBytes: 4096, keepSnapshots: 2 } as const;

/** A storage with several segments and two snapshots already (so that the next one prunes). */
async function prepare(dir: string, onStep?: (step: StorageStep, path: string) => void): Promise<{ storage: FileStorage; mirror: MemoryStorage }> {
  const { storage } = await FileStorage.open(dir, { ...OPTIONS, ...(onStep === undefined ? {} : { onStep }) });
  const mirror = new MemoryStorage();
  const both = async (batch: StorageBatch): Promise<void> => {
    await storage.save(batch);
    await mirror.save(batch);
  };
  for (let k = 0; k < 30; k++) await both({ entries: entries(k * 10 + 1, k * 10 + 10, 1, 40) });
  await both({ hardState: hardState(1, 250) });
  for (const at of [100, 150]) {
    await storage.compact(snapshotAt(at, 1));
    await mirror.compact(snapshotAt(at, 1));
  }
  return { storage, mirror };
}

interface Operation {
  readonly name: string;
  /** Runs the operation on a storage. */
  run(s: Storage): Promise<void>;
}

const OPERATIONS: readonly Operation[] = [
  { name: 'compaction', run: (s) => s.compact(snapshotAt(280, 1)) },
  { name: 'install keeping the suffix (IS-6)', run: (s) => s.save({ snapshot: snapshotAt(290, 1), hardState: hardState(2, 290) }) },
  { name: 'install discarding the log (IS-7)', run: (s) => s.save({ snapshot: snapshotAt(400, 3), entries: entries(401, 405, 3, 10), hardState: hardState(3, 400) }) },
];

/** Steps, and which occurrence of each to crash at. */
const CRASH_POINTS: readonly { readonly step: StorageStep; readonly occurrence: number; readonly afterMarker: boolean }[] = [
  { step: 'snapshot-temp-synced', occurrence: 1, afterMarker: false },
  { step: 'snapshot-renamed', occurrence: 1, afterMarker: false },
  { step: 'marker-synced', occurrence: 1, afterMarker: true },
  { step: 'segment-deleted', occurrence: 1, afterMarker: true },
  { step: 'segment-deleted', occurrence: 2, afterMarker: true },
  { step: 'snapshot-pruned', occurrence: 1, afterMarker: true },
];

/** The directory holds no leftovers: no temporary file, at most K snapshots (the one in force among them), no wholly covered segment. */
function expectTidy(dir: string, snapshot: Snapshot | null): void {
  const names = readdirSync(dir);
  expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
  const snaps = names.filter((n) => n.endsWith('.snap'));
  expect(snaps.length).toBeLessThanOrEqual(OPTIONS.keepSnapshots);
  if (snapshot !== null) expect(snaps.some((n) => n.startsWith(`snap-${String(snapshot.lastIncludedIndex).padStart(16, '0')}`))).toBe(true);
  const covered = classifyDirectory(names).segments.filter((s) => s.firstIndex - 1 <= (snapshot?.lastIncludedIndex ?? 0));
  expect(covered.length).toBeLessThanOrEqual(1);
}

describe.each(OPERATIONS)('$name interrupted', (operation) => {
  it.each(CRASH_POINTS)('at $step (#$occurrence): recovery is consistent, finishes the job, and goes on', async ({ step, occurrence, afterMarker }) => {
    const dir = nextDir();
    let seen = 0;
    let armed = false;
    const { storage, mirror } = await prepare(dir, (s) => {
      if (armed && s === step && ++seen === occurrence) throw new SimulatedCrash(`crash at ${s}`);
    });
    const before: DurableState = durableView(mirror);
    armed = true;
    await expect(operation.run(storage)).rejects.toThrow(/crash at/);
    expect(seen).toBe(occurrence);
    await storage.close();
    await operation.run(mirror);
    const after: DurableState = durableView(mirror);

    const { storage: recovered, report } = await FileStorage.open(dir, OPTIONS);
    expect(durableView(recovered)).toEqual(afterMarker ? after : before);
    if (!afterMarker) expect(report.warnings.some((w) => w.startsWith('removed '))).toBe(true);
    expectTidy(dir, recovered.snapshot());
    // And it goes on: more entries, another compaction, another restart.
    const next = recovered.lastIndex() + 1;
    const term = recovered.term(recovered.lastIndex()) as number;
    await recovered.save({ entries: entries(next, next + 99, term, 40) });
    await recovered.compact(snapshotAt(next + 50, term));
    await recovered.close();
    const again = await FileStorage.open(dir, OPTIONS);
    expect(again.report.warnings).toEqual([]);
    expect([again.storage.firstIndex(), again.storage.lastIndex()]).toEqual([next + 51, next + 99]);
    expect(again.storage.entries(next + 51, next + 100)).toEqual(entries(next + 51, next + 99, term, 40));
    expectTidy(dir, again.storage.snapshot());
    await again.storage.close();
  });
});

describe('segment rotation interrupted', () => {
  it.each(['segment-temp-synced', 'segment-created'] as const)('at %s: every acknowledged entry is there, the unacknowledged batch is not', async (step) => {
    const dir = nextDir();
    let armed = false;
    const { storage } = await FileStorage.open(dir, {
      ...OPTIONS,
      onStep: (s) => {
        if (armed && s === step) throw new SimulatedCrash(`crash at ${s}`);
      },
    });
    // Single-entry saves until one needs a new segment: that one crashes, every one before was acknowledged.
    armed = true;
    let acked = 0;
    for (let next = 1; acked === next - 1 && next < 1000; next++) {
      try {
        await storage.save({ entries: entries(next, next, 1, 100) });
        acked = next;
      } catch (err) {
        expect(err).toMatchObject({ message: expect.stringMatching(/crash at/) });
      }
    }
    expect(acked).toBeGreaterThan(10);
    expect(acked).toBeLessThan(999);
    await expect(storage.save({ entries: entries(acked + 2, acked + 2, 1, 1) })).rejects.toMatchObject({ kind: 'failed' });
    await storage.close();
    const { storage: recovered, report } = await FileStorage.open(dir, OPTIONS);
    expect(recovered.lastIndex()).toBe(acked);
    expect(recovered.entries(1, acked + 1)).toEqual(entries(1, acked, 1, 100));
    if (step === 'segment-temp-synced') expect(report.warnings.some((w) => w.includes('temporary file'))).toBe(true);
    await recovered.save({ entries: entries(acked + 1, acked + 40, 1, 100) });
    expect(recovered.entries(1, acked + 41)).toEqual(entries(1, acked + 40, 1, 100));
    await recovered.close();
  });
});
