/**
 * Crash consistency (e): what a user can get wrong or a machine can do — a file that is not a
 * WAL, a path that is a file, a directory without permission, a full disk, a missing segment or
 * snapshot — each ends in a typed StorageError that names the path, and nothing half-written is
 * left for a later open to misread.
 */
import { chmodSync, mkdirSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StorageError } from '../../../impl/storage/errors.ts';
import { FileStorage } from '../../../impl/storage/file-storage.ts';
import { nodeFs } from '../../../impl/storage/fs-layer.ts';
import { encodeBatch } from '../../../impl/storage/wal/record.ts';
import { encodeSegmentHeader, SEGMENT_HEADER_BYTES } from '../../../impl/storage/wal/segment.ts';
import { durableView, entries, errno, faultyFs, hardState, snapshotAt, tempRoot } from './support.ts';

const nextDir = tempRoot('bad');

async function openError(dir: string, options: Parameters<typeof FileStorage.open>[1] = {}): Promise<StorageError> {
  try {
    const { storage } = await FileStorage.open(dir, options);
    await storage.close();
  } catch (err) {
    if (err instanceof StorageError) return err;
    throw err;
  }
  throw new Error(`open(${dir}) succeeded`);
}

describe('bad input', () => {
  it('a file named like a segment that is not a WAL: not-a-wal, naming the file', async () => {
    const dir = nextDir();
    mkdirSync(dir);
    const path = join(dir, '0000000000000001-0000000000000001.wal');
    writeFileSync(path, 'this is my shopping list, not a write-ahead log\n');
    const error = await openError(dir);
    expect(error).toMatchObject({ kind: 'not-a-wal', path });
    expect(error.message).toContain(path);
    expect(error.message).toMatch(/not one/);
  });

  it('a WAL segment of a later format version: unsupported-version, naming the file', async () => {
    const dir = nextDir();
    mkdirSync(dir);
    const path = join(dir, '0000000000000001-0000000000000001.wal');
    const header = encodeSegmentHeader({ seq: 1, firstIndex: 1 });
    header.writeUInt32LE(2, 8);
    // Recompute the header checksum so that only the version differs.
    const { crc32c } = await import('../../../impl/storage/crc32c.ts');
    header.writeUInt32LE(crc32c(header, 0, 0, 28), 28);
    writeFileSync(path, header);
    expect(await openError(dir)).toMatchObject({ kind: 'unsupported-version', path });
  });

  it('a path that is a file, not a directory: unreadable, naming it', async () => {
    const dir = nextDir();
    writeFileSync(dir, 'x');
    const error = await openError(dir);
    expect(error).toMatchObject({ kind: 'unreadable', path: dir });
    expect(error.message).toContain(`${dir}: it is a file`);
  });

  it('a missing directory is created; with create: false it is an unreadable error naming it', async () => {
    const dir = nextDir();
    expect(await openError(dir, { create: false })).toMatchObject({ kind: 'unreadable', path: dir, code: 'ENOENT' });
    const { storage } = await FileStorage.open(dir);
    expect(readdirSync(dir)).toEqual(['0000000000000001-0000000000000001.wal']);
    await storage.close();
  });

  it('a directory without permission: permission error naming it (as root, where modes do not bind, the open succeeds)', async () => {
    const dir = nextDir();
    const { storage } = await FileStorage.open(dir);
    await storage.save({ entries: entries(1, 3, 1) });
    await storage.close();
    chmodSync(dir, 0o000);
    try {
      const isRoot = process.getuid?.() === 0;
      if (isRoot) {
        // Root bypasses permission bits: say so rather than pretend the denial happened.
        const reopened = await FileStorage.open(dir);
        expect(reopened.storage.lastIndex()).toBe(3);
        await reopened.storage.close();
      } else {
        expect(await openError(dir)).toMatchObject({ kind: 'permission', path: dir, code: 'EACCES' });
      }
    } finally {
      chmodSync(dir, 0o755);
    }
  });

  it('EACCES from the file system (injected, so it binds even as root): permission error naming the path', async () => {
    const dir = nextDir();
    mkdirSync(dir);
    const fs = faultyFs({
      readdirSync: (path) => {
        throw errno('EACCES', `scandir '${path}'`);
      },
    });
    const error = await openError(dir, { fs });
    expect(error).toMatchObject({ kind: 'permission', path: dir, code: 'EACCES' });
    expect(error.message).toBe(`cannot list the WAL directory ${dir}: permission denied: check the owner and mode of this path and of its directory (EACCES)`);
  });

  it('ENOSPC halfway through a write: disk-full naming the segment, later saves refused, nothing half-written left, acknowledged data intact', async () => {
    const dir = nextDir();
    let full = false;
    const fs = faultyFs({
      writev: async (fd, buffers, position) => {
        if (!full) return nodeFs.writev(fd, buffers, position);
        // Half the bytes make it to the file, then the disk is full.
        const first = buffers[0] as Uint8Array;
        const written = await nodeFs.writev(fd, [first.subarray(0, first.length >> 1)], position);
        if (written > 0) throw errno('ENOSPC', 'write');
        return written;
      },
    });
    const { storage } = await FileStorage.open(dir, { fs });
    await storage.save({ entries: entries(1, 50, 1, 100), hardState: hardState(1, 10) });
    const acknowledged = durableView(storage);
    full = true;
    const error = await storage.save({ entries: entries(51, 60, 1, 100) }).catch((err: unknown) => err);
    expect(error).toMatchObject({ name: 'StorageError', kind: 'disk-full', code: 'ENOSPC', path: join(dir, '0000000000000001-0000000000000001.wal') });
    expect((error as StorageError).message).toMatch(/disk is full/);
    await expect(storage.save({ hardState: hardState(2) })).rejects.toMatchObject({ kind: 'failed' });
    await expect(storage.compact(snapshotAt(10, 1))).rejects.toMatchObject({ kind: 'failed' });
    await storage.close();
    const { storage: reopened, report } = await FileStorage.open(dir);
    expect(durableView(reopened)).toEqual(acknowledged);
    // The partial write was cut off when it failed: recovery finds nothing to repair.
    expect(report.bytesTruncated).toBe(0);
    expect(report.warnings).toEqual([]);
    await reopened.close();
  });

  it('ENOSPC while writing a snapshot file: disk-full, no temporary file left, the old snapshot still in force', async () => {
    const dir = nextDir();
    let full = false;
    const fs = faultyFs({
      open: async (path, flags) => {
        if (full && path.endsWith('.snap.tmp')) {
          const fd = await nodeFs.open(path, flags);
          await nodeFs.close(fd);
          throw errno('ENOSPC', 'open');
        }
        return nodeFs.open(path, flags);
      },
    });
    const { storage } = await FileStorage.open(dir, { fs, segmentBytes: 4096 });
    await storage.save({ entries: entries(1, 100, 1, 50) });
    await storage.compact(snapshotAt(40, 1));
    full = true;
    await expect(storage.compact(snapshotAt(80, 1))).rejects.toMatchObject({ kind: 'disk-full' });
    await storage.close();
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    const { storage: reopened, report } = await FileStorage.open(dir);
    expect(reopened.snapshot()).toEqual(snapshotAt(40, 1));
    expect(reopened.entries(41, 101)).toEqual(entries(41, 100, 1, 50));
    expect(report.warnings).toEqual([]);
    await reopened.close();
  });

  it('a missing segment in the middle, or a missing snapshot file: corruption naming the file', async () => {
    const dir = nextDir();
    const { storage } = await FileStorage.open(dir, { segmentBytes: 4096 });
    for (let k = 0; k < 10; k++) await storage.save({ entries: entries(k * 20 + 1, k * 20 + 20, 1, 50) });
    await storage.compact(snapshotAt(30, 1));
    await storage.close();
    const segments = readdirSync(dir).filter((n) => n.endsWith('.wal'));
    expect(segments.length).toBeGreaterThan(3);
    const gap = segments[2] as string;
    unlinkSync(join(dir, gap));
    const error = await openError(dir);
    expect(error).toMatchObject({ kind: 'corruption', path: join(dir, segments[3] as string) });
    expect(error.message).toMatch(/missing/);

    const dir2 = nextDir();
    const second = await FileStorage.open(dir2, { segmentBytes: 4096 });
    await second.storage.save({ entries: entries(1, 10, 1) });
    await second.storage.compact(snapshotAt(5, 1));
    await second.storage.close();
    const snap = join(dir2, 'snap-0000000000000005-0000000000000001.snap');
    unlinkSync(snap);
    expect(await openError(dir2)).toMatchObject({ kind: 'corruption', path: snap });
  });

  it.each([
    { name: 'entries that leave a gap (one-record batch)', batch: [{ type: 'entries' as const, entries: entries(5, 6, 1) }], problem: /entries from 5 do not follow the last index 2/ },
    { name: 'entries going back in term (with a hard state)', batch: [{ type: 'entries' as const, entries: entries(3, 3, 0) }, { type: 'hard-state' as const, hardState: hardState(1) }], problem: /entry 3 has term 0 after term 1/ },
    { name: 'a truncation outside the log', batch: [{ type: 'truncate' as const, from: 9 }], problem: /truncation from 9 outside the log/ },
    { name: 'a snapshot keeping a log it does not match', batch: [{ type: 'snapshot' as const, marker: { index: 2, term: 7, keepSuffix: true, file: 'x.snap' } }], problem: /keeps the log, whose entry 2 has term 1/ },
  ])('a well-formed record that contradicts the log ($name): corruption naming file and offset', async ({ batch, problem }) => {
    const dir = nextDir();
    mkdirSync(dir);
    const path = join(dir, '0000000000000001-0000000000000001.wal');
    const good = encodeBatch([{ type: 'entries', entries: entries(1, 2, 1) }]).bytes;
    writeFileSync(path, Buffer.concat([encodeSegmentHeader({ seq: 1, firstIndex: 1 }), good, encodeBatch(batch).bytes]));
    const error = await openError(dir);
    expect(error).toMatchObject({ kind: 'corruption', path, offset: SEGMENT_HEADER_BYTES + good.length });
    expect(error.message).toMatch(problem);
  });
});
