/**
 * Snapshot files: one per snapshot, named `snap-<index>-<term>.snap` (16-digit zero-padded, so
 * names sort by index), written to a temporary file, fsynced, renamed, and the directory fsynced
 * — so a snapshot file with a final name is always complete.
 *
 * Format: magic "FIG2SNAP" | version u32 | CRC-32C of the body u32 | body length u64 | body:
 *   lastIncludedIndex u64 | lastIncludedTerm u64 | voter count u32 | voters (strings) | data (string)
 * The checksum is verified on every load: a damaged snapshot must not be installed silently.
 *
 * Which snapshot is in force is decided by the WAL, not by the newest file: a snapshot counts
 * once the WAL record naming it is synced (see file-storage.ts). A newer file without its record
 * is a write that was never acknowledged, and recovery deletes it.
 */
import type { Snapshot } from '../core/types.ts';
import { assert } from './assert.ts';
import { readStringField, readU64, stringFieldBytes, writeStringField, writeU64 } from './binary.ts';
import { crc32c } from './crc32c.ts';
import { corruption, fsError, StorageError } from './errors.ts';
import { fsyncDir, writeAll, type StorageFs } from './fs-layer.ts';
import type { StepHook } from './steps.ts';
import { withFile } from './wal/scan.ts';
import { TEMP_SUFFIX } from './wal/segment.ts';
import { join } from 'node:path';

export const SNAPSHOT_MAGIC = Buffer.from('FIG2SNAP', 'latin1');
export const SNAPSHOT_VERSION = 1;
const PREAMBLE_BYTES = 24;
const SNAPSHOT_NAME = /^snap-(\d{16})-(\d{16})\.snap$/;

export interface SnapshotFileName {
  readonly index: number;
  readonly term: number;
  readonly name: string;
}

export function snapshotFileName(s: { readonly lastIncludedIndex: number; readonly lastIncludedTerm: number }): string {
  return `snap-${String(s.lastIncludedIndex).padStart(16, '0')}-${String(s.lastIncludedTerm).padStart(16, '0')}.snap`;
}

export function parseSnapshotFileName(name: string): SnapshotFileName | undefined {
  const m = SNAPSHOT_NAME.exec(name);
  return m === null ? undefined : { index: Number(m[1]), term: Number(m[2]), name };
}

export function encodeSnapshot(s: Snapshot): Buffer {
  let bodyBytes = 16 + 4 + stringFieldBytes(s.data);
  for (const v of s.voters) bodyBytes += stringFieldBytes(v);
  const buf = Buffer.allocUnsafe(PREAMBLE_BYTES + bodyBytes);
  SNAPSHOT_MAGIC.copy(buf, 0);
  buf.writeUInt32LE(SNAPSHOT_VERSION, 8);
  writeU64(buf, 16, bodyBytes);
  let p = PREAMBLE_BYTES;
  writeU64(buf, p, s.lastIncludedIndex);
  writeU64(buf, p + 8, s.lastIncludedTerm);
  buf.writeUInt32LE(s.voters.length, p + 16);
  p += 20;
  for (const v of s.voters) p = writeStringField(buf, p, v);
  p = writeStringField(buf, p, s.data);
  assert(p === buf.length, () => `snapshot encoding wrote ${p} bytes of ${buf.length}`);
  buf.writeUInt32LE(crc32c(buf, 0, PREAMBLE_BYTES, buf.length), 12);
  return buf;
}

/** Decodes and verifies a snapshot file's bytes; throws a StorageError naming `path` otherwise. */
export function decodeSnapshot(buf: Buffer, path: string): Snapshot {
  if (buf.length < SNAPSHOT_MAGIC.length || !buf.subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC)) {
    throw new StorageError({ kind: 'not-a-wal', path, offset: 0, message: `${path} is named like a snapshot but is not a figure2 snapshot file` });
  }
  if (buf.length < PREAMBLE_BYTES) throw corruption(path, buf.length, 'the snapshot file ends inside its header');
  const version = buf.readUInt32LE(8);
  if (version !== SNAPSHOT_VERSION) {
    throw new StorageError({ kind: 'unsupported-version', path, offset: 8, message: `${path} is snapshot format version ${version}; this figure2 reads version ${SNAPSHOT_VERSION}` });
  }
  const bodyBytes = readU64(buf, 16);
  if (PREAMBLE_BYTES + bodyBytes !== buf.length) throw corruption(path, 16, `the header says ${bodyBytes} body bytes, the file holds ${buf.length - PREAMBLE_BYTES}`);
  if (crc32c(buf, 0, PREAMBLE_BYTES, buf.length) !== buf.readUInt32LE(12)) throw corruption(path, PREAMBLE_BYTES, 'the snapshot fails its checksum');
  let p = PREAMBLE_BYTES;
  const lastIncludedIndex = readU64(buf, p);
  const lastIncludedTerm = readU64(buf, p + 8);
  const voterCount = buf.readUInt32LE(p + 16);
  p += 20;
  const voters: string[] = [];
  for (let k = 0; k < voterCount; k++) {
    const v = readStringField(buf, p, buf.length);
    if (v === undefined || v.value === null) throw corruption(path, p, `voter ${k + 1} is malformed`);
    voters.push(v.value);
    p = v.next;
  }
  const data = readStringField(buf, p, buf.length);
  if (data === undefined || data.value === null || data.next !== buf.length) throw corruption(path, p, 'the snapshot data field is malformed');
  return { lastIncludedIndex, lastIncludedTerm, voters, data: data.value };
}

/** Reads a whole file synchronously through the fs layer. */
export function readWholeFile(fsys: StorageFs, path: string): Buffer {
  return withFile(fsys, path, (fd, size) => {
    const buf = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const n = fsys.readSync(fd, buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  });
}

/** Loads and verifies the snapshot in `dir/name`, which must be at index/term. */
export function loadSnapshotFile(fsys: StorageFs, dir: string, expected: SnapshotFileName): Snapshot {
  const path = join(dir, expected.name);
  const snapshot = decodeSnapshot(readWholeFile(fsys, path), path);
  if (snapshot.lastIncludedIndex !== expected.index || snapshot.lastIncludedTerm !== expected.term) {
    throw corruption(path, PREAMBLE_BYTES, `holds the snapshot at ${snapshot.lastIncludedIndex}/${snapshot.lastIncludedTerm}, the WAL expects ${expected.index}/${expected.term}`);
  }
  return snapshot;
}

/**
 * Writes `snapshot` durably under its final name: temporary file, fsync, rename, directory
 * fsync. Resolves with the file name. A crash at any point leaves either no file with the final
 * name, or a complete one.
 */
export async function writeSnapshotFile(options: { readonly fs: StorageFs; readonly dir: string; readonly snapshot: Snapshot; readonly onStep?: StepHook | undefined }): Promise<string> {
  const { fs: fsys, dir, snapshot } = options;
  const name = snapshotFileName(snapshot);
  const path = join(dir, name);
  const temp = `${path}${TEMP_SUFFIX}`;
  const bytes = encodeSnapshot(snapshot);
  try {
    const fd = await fsys.open(temp, 'w');
    try {
      await writeAll(fsys, fd, [bytes], 0);
      await fsys.fsync(fd);
    } finally {
      await fsys.close(fd);
    }
  } catch (err) {
    // Leave nothing half-written behind (open deletes *.tmp anyway; this keeps the disk clean now).
    await fsys.unlink(temp).catch(() => undefined);
    throw fsError(err, { path: temp, action: 'write snapshot' });
  }
  options.onStep?.('snapshot-temp-synced', temp);
  try {
    await fsys.rename(temp, path);
    await fsyncDir(fsys, dir);
  } catch (err) {
    throw fsError(err, { path, action: 'rename snapshot into' });
  }
  options.onStep?.('snapshot-renamed', path);
  return name;
}
