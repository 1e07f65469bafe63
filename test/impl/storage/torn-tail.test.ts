/**
 * Crash consistency (a): a power loss tears the last write. For a WAL built from many batches —
 * entries, an AE-3 overwrite, hard states, a snapshot install (marker record, snapshot file,
 * segments deleted) — a crash is simulated during each of the last batches, at EVERY byte
 * offset: the directory as it was once the previous batch was acknowledged, with the last
 * segment holding a prefix of the torn batch's bytes. Recovery must keep every batch that was
 * acknowledged and nothing of the torn one, and report what it cut.
 */
import { copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DurableState } from '../../../impl/core/types.ts';
import { FileStorage } from '../../../impl/storage/file-storage.ts';
import { nodeFs } from '../../../impl/storage/fs-layer.ts';
import { MemoryStorage } from '../../../impl/storage/memory-storage.ts';
import { snapshotFileName } from '../../../impl/storage/snapshot-file.ts';
import type { StorageBatch } from '../../../impl/storage/storage.ts';
import { inspectSegment } from '../../../impl/storage/wal/inspect.ts';
import { classifyDirectory } from '../../../impl/storage/wal/segment.ts';
import { copyDir, durableView, entries, hardState, snapshotAt, tempRoot } from './support.ts';

const nextDir = tempRoot('torn');
const OPTIONS = { segmentBytes: 4096 } as const;
/** The last TORN batches are each torn at every byte. */
const TORN = 6;

/** Batches whose last few, all in the last segment, hold every kind of record. */
function workload(): StorageBatch[] {
  const batches: StorageBatch[] = [];
  for (let k = 0; k < 30; k++) batches.push({ entries: entries(k * 4 + 1, k * 4 + 4, 1, 60) });
  batches.push({ hardState: hardState(2, 100, 'n2') });
  batches.push({ entries: entries(118, 121, 2, 10), hardState: hardState(2, 110, 'n2') }); // AE-3: truncate + entries + hard state
  batches.push({ snapshot: snapshotAt(119, 2) }); // IS-6: snapshot file, marker record, covered segments deleted
  batches.push({ entries: entries(122, 124, 2, 7) });
  batches.push({ hardState: hardState(3, 121, null) });
  batches.push({ entries: entries(125, 125, 3, 0), hardState: hardState(3, 122, null) });
  return batches;
}

describe('torn tail: a crash during each of the last batches, at every byte', () => {
  it('recovers exactly the acknowledged batches, reports the cut, and leaves a clean WAL', async () => {
    const dir = nextDir();
    const { storage } = await FileStorage.open(dir, OPTIONS);
    const mirror = new MemoryStorage();
    const batches = workload();
    const states: DurableState[] = [durableView(mirror)];
    /** The directory once batch m − 1 was acknowledged (and its compaction done), for the last batches. */
    const acknowledged = new Map<number, string>();
    for (const [m, batch] of batches.entries()) {
      if (m >= batches.length - TORN) {
        const copy = nextDir();
        copyDir(dir, copy);
        acknowledged.set(m, copy);
      }
      await storage.save(batch);
      await mirror.save(batch);
      states.push(durableView(mirror));
    }
    await storage.close();

    const segments = classifyDirectory(readdirSync(dir)).segments;
    const last = segments[segments.length - 1];
    if (last === undefined) throw new Error('no segment');
    expect(last.seq).toBeGreaterThan(2); // rotated, and compacted by the install
    const ends: number[] = [];
    inspectSegment(nodeFs, dir, last, (r) => {
      if (r.endOfBatch) ends.push(r.offset + r.size);
    });
    const final = readFileSync(join(dir, last.name));
    expect(ends[ends.length - 1]).toBe(final.length);
    // ends[ends.length - 1 - k] is where batch (n - 1 - k) ends; each torn batch lies in the last segment.
    expect(ends.length - 1).toBeGreaterThan(TORN);
    let opened = 0;
    for (let k = 0; k < TORN; k++) {
      const m = batches.length - TORN + k;
      const start = ends[ends.length - 1 - TORN + k] as number;
      const end = ends[ends.length - TORN + k] as number;
      const before = acknowledged.get(m) as string;
      for (let cut = start; cut < end; cut++) {
        const work = nextDir();
        copyDir(before, work);
        writeFileSync(join(work, last.name), final.subarray(0, cut));
        // An install writes its snapshot file (durably) before its WAL record: the crash finds it there.
        const snapshot = batches[m]?.snapshot;
        if (snapshot !== undefined) copyFileSync(join(dir, snapshotFileName(snapshot)), join(work, snapshotFileName(snapshot)));
        const { storage: recovered, report } = await FileStorage.open(work, OPTIONS);
        const context = `batch ${m} torn at byte ${cut} (${cut - start} of ${end - start})`;
        if (snapshot !== undefined) {
          expect(report.warnings.some((w) => w.includes(snapshotFileName(snapshot)) && w.includes('never recorded')), context).toBe(true);
          expect(readdirSync(work)).not.toContain(snapshotFileName(snapshot));
        }
        expect(durableView(recovered), context).toEqual(states[m]);
        expect(report.bytesTruncated, context).toBe(cut - start);
        if (cut > start) {
          expect(report.truncated, context).toMatchObject({ path: join(work, last.name), offset: start });
          expect(report.warnings.some((w) => w.startsWith(`truncated a torn tail of ${cut - start} bytes at byte ${start}`)), context).toBe(true);
        }
        await recovered.close();
        const again = await FileStorage.open(work, OPTIONS);
        expect(again.report.bytesTruncated, context).toBe(0);
        expect(again.report.warnings, context).toEqual([]);
        expect(durableView(again.storage), context).toEqual(states[m]);
        await again.storage.close();
        rmSync(work, { recursive: true });
        opened++;
      }
    }
    expect(opened).toBeGreaterThan(150);
  });
});
