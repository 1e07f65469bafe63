/**
 * Crash consistency (b): bit rot. A single bit is flipped somewhere in a WAL of several segments
 * — header, frame, checksum, type byte, payload; mid-segment, at a segment's end — and the
 * storage is opened. Every flip must be detected and named: either opening refuses with a
 * corruption error giving the file and the byte offset of the damaged record, or — only for the
 * last record of the last segment, which a torn write could have produced — the record is cut
 * with a warning saying where. Never a silent difference.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPrng, freshSeed } from '../../../conformance/prng.ts';
import type { DurableState } from '../../../impl/core/types.ts';
import { StorageError } from '../../../impl/storage/errors.ts';
import { FileStorage } from '../../../impl/storage/file-storage.ts';
import { nodeFs } from '../../../impl/storage/fs-layer.ts';
import { MemoryStorage } from '../../../impl/storage/memory-storage.ts';
import { inspectSegment, type InspectedRecord } from '../../../impl/storage/wal/inspect.ts';
import { classifyDirectory, SEGMENT_HEADER_BYTES, type SegmentFile } from '../../../impl/storage/wal/segment.ts';
import { copyDir, durableView, entries, hardState, tempRoot } from './support.ts';

const nextDir = tempRoot('flip');
const OPTIONS = { segmentBytes: 4096 } as const;

interface Layout {
  readonly segment: SegmentFile;
  readonly last: boolean;
  readonly size: number;
  readonly records: readonly InspectedRecord[];
}

describe('bit flips', () => {
  it('every single-bit flip is detected and named (file and offset), never silently accepted', async () => {
    const seed = Number(process.env['WAL_FLIP_SEED'] ?? freshSeed());
    console.log(`bit-flip positions: seed ${seed} (WAL_FLIP_SEED=${seed} to replay)`);
    const rng = createPrng(seed);
    const dir = nextDir();
    const { storage } = await FileStorage.open(dir, OPTIONS);
    const mirror = new MemoryStorage();
    let beforeLast: DurableState = durableView(mirror);
    let next = 1;
    for (let k = 0; k < 60; k++) {
      const batch = k % 9 === 8 ? { hardState: hardState(1, next - 1, 'n1') } : { entries: entries(next, (next += 3) - 1, 1, 50) };
      beforeLast = durableView(mirror);
      await storage.save(batch);
      await mirror.save(batch);
    }
    await storage.close();

    const segments = classifyDirectory(readdirSync(dir)).segments;
    expect(segments.length).toBeGreaterThanOrEqual(3);
    const layouts: Layout[] = segments.map((segment, i) => {
      const records: InspectedRecord[] = [];
      const inspected = inspectSegment(nodeFs, dir, segment, (r) => records.push(r));
      return { segment, last: i === segments.length - 1, size: inspected.size, records };
    });
    const lastLayout = layouts[layouts.length - 1] as Layout;
    const lastRecord = lastLayout.records[lastLayout.records.length - 1] as InspectedRecord;

    // Chosen positions (frame, checksum, type, end-of-batch bit, a non-last segment's last record), then random ones.
    const picks: { layout: Layout; bit: number }[] = [];
    const first = layouts[0] as Layout;
    const firstEnd = first.records[first.records.length - 1] as InspectedRecord;
    const mid = first.records[5] as InspectedRecord;
    picks.push(
      { layout: first, bit: 3 },
      { layout: first, bit: 8 * 13 },
      { layout: first, bit: 8 * mid.offset + 2 },
      { layout: first, bit: 8 * (mid.offset + 5) },
      { layout: first, bit: 8 * (mid.offset + 8) + 7 },
      { layout: first, bit: 8 * (mid.offset + 8) },
      { layout: first, bit: 8 * (mid.offset + 20) },
      { layout: first, bit: 8 * (firstEnd.offset + firstEnd.size - 1) },
      { layout: lastLayout, bit: 8 * (lastRecord.offset + 10) },
    );
    const totalBytes = layouts.reduce((n, l) => n + l.size, 0);
    for (let k = 0; k < 150; k++) {
      let at = rng.int(0, totalBytes - 1);
      const layout = layouts.find((l) => (at < l.size ? true : ((at -= l.size), false))) as Layout;
      picks.push({ layout, bit: 8 * at + rng.int(0, 7) });
    }

    for (const { layout, bit } of picks) {
      const byte = bit >> 3;
      const work = nextDir();
      copyDir(dir, work);
      const path = join(work, layout.segment.name);
      const bytes = readFileSync(path);
      bytes[byte] = (bytes[byte] as number) ^ (1 << (bit & 7));
      writeFileSync(path, bytes);
      const context = `bit ${bit & 7} of byte ${byte} of ${layout.segment.name} (seed ${seed})`;
      const record = layout.records.find((r) => r.offset <= byte && byte < r.offset + r.size);
      let opened: Awaited<ReturnType<typeof FileStorage.open>> | undefined;
      let error: unknown;
      try {
        opened = await FileStorage.open(work, OPTIONS);
      } catch (err) {
        error = err;
      }
      if (byte < SEGMENT_HEADER_BYTES) {
        expect(error, context).toBeInstanceOf(StorageError);
        expect((error as StorageError).kind, context).toMatch(/^(corruption|not-a-wal)$/);
        expect((error as StorageError).path, context).toBe(path);
        expect((error as StorageError).message, context).toContain(path);
      } else if (layout.last && record === lastRecord) {
        // Indistinguishable from a torn write of the last batch: cut, with a warning naming the place.
        expect(error, context).toBeUndefined();
        expect(opened?.report.truncated, context).toMatchObject({ path, offset: lastRecord.offset });
        expect(durableView(opened?.storage as FileStorage), context).toEqual(beforeLast);
      } else {
        expect(error, context).toBeInstanceOf(StorageError);
        expect(error, context).toMatchObject({ kind: 'corruption', path, offset: record?.offset });
        expect((error as StorageError).message, context).toContain(`${path} at byte ${record?.offset}`);
      }
      await opened?.storage.close();
      rmSync(work, { recursive: true });
    }
  });
});
