/**
 * WAL segment files: names, the file header, and what a storage directory holds.
 *
 * A segment is named `<seq>-<firstIndex>.wal`, both 16-digit zero-padded decimals so that names
 * sort in log order: `seq` counts segments from 1 with no gaps (a gap is a lost file), and
 * `firstIndex` is the index the log would append next when the segment was created, which
 * tells recovery which entries earlier (possibly deleted) segments held.
 *
 * Header (32 bytes): magic "FIG2WAL\n" | version u32 | seq u64 | firstIndex u64 | CRC-32C of
 * the 28 bytes before it. The magic tells "not a WAL at all" (someone else's file) from a damaged
 * WAL; the version lets a later format refuse cleanly instead of misreading.
 *
 * Segments are created complete — header and a first batch restating the snapshot marker and
 * the hard state — under a temporary name, fsynced, then renamed and the directory fsynced, so
 * a segment file with a final name always has a whole header, and deleting older segments never
 * loses the hard state or the snapshot point.
 */
import { readU64, writeU64 } from '../binary.ts';
import { crc32c } from '../crc32c.ts';
import { corruption, StorageError } from '../errors.ts';

export const SEGMENT_MAGIC = Buffer.from('FIG2WAL\n', 'latin1');
export const WAL_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 32;
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** Where a file being created waits for its fsync before its rename: never read, deleted at open. */
export const TEMP_SUFFIX = '.tmp';

const SEGMENT_NAME = /^(\d{16})-(\d{16})\.wal$/;

export interface SegmentId {
  readonly seq: number;
  readonly firstIndex: number;
}

export interface SegmentFile extends SegmentId {
  /** File name within the directory. */
  readonly name: string;
}

function pad16(n: number): string {
  return String(n).padStart(16, '0');
}

export function segmentFileName(id: SegmentId): string {
  return `${pad16(id.seq)}-${pad16(id.firstIndex)}.wal`;
}

export function parseSegmentFileName(name: string): SegmentFile | undefined {
  const m = SEGMENT_NAME.exec(name);
  if (m === null) return undefined;
  return { seq: Number(m[1]), firstIndex: Number(m[2]), name };
}

export function encodeSegmentHeader(id: SegmentId): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(b, 0);
  b.writeUInt32LE(WAL_VERSION, 8);
  writeU64(b, 12, id.seq);
  writeU64(b, 20, id.firstIndex);
  b.writeUInt32LE(crc32c(b, 0, 0, 28), 28);
  return b;
}

/**
 * Checks the header `bytes` (the first bytes of the file at `path`, named as `expected`): a WAL
 * of our version, with the seq and firstIndex its name claims. Throws a StorageError otherwise.
 */
export function checkSegmentHeader(bytes: Buffer, path: string, expected: SegmentId): void {
  const magicLength = Math.min(bytes.length, SEGMENT_MAGIC.length);
  if (!bytes.subarray(0, magicLength).equals(SEGMENT_MAGIC.subarray(0, magicLength)) || bytes.length === 0) {
    throw new StorageError({
      kind: 'not-a-wal',
      path,
      offset: 0,
      message: `${path} is named like a WAL segment but is not one (no FIG2WAL header): move it out of the WAL directory`,
    });
  }
  if (bytes.length < SEGMENT_HEADER_BYTES) throw corruption(path, bytes.length, `the file ends inside its ${SEGMENT_HEADER_BYTES}-byte header`);
  if (crc32c(bytes, 0, 0, 28) !== bytes.readUInt32LE(28)) throw corruption(path, 0, 'the segment header fails its checksum');
  const version = bytes.readUInt32LE(8);
  if (version !== WAL_VERSION) {
    throw new StorageError({
      kind: 'unsupported-version',
      path,
      offset: 8,
      message: `${path} is WAL format version ${version}; this figure2 reads version ${WAL_VERSION}: use the figure2 that wrote it`,
    });
  }
  const seq = readU64(bytes, 12);
  const firstIndex = readU64(bytes, 20);
  if (seq !== expected.seq || firstIndex !== expected.firstIndex) {
    throw corruption(path, 12, `the header says segment ${seq} from index ${firstIndex}, the file name says ${expected.seq} from ${expected.firstIndex} (renamed by hand?)`);
  }
}

/** What a storage directory holds, each list sorted by name (= log order). */
export interface DirectoryListing {
  readonly segments: readonly SegmentFile[];
  /** Snapshot file names (`*.snap`). */
  readonly snapshots: readonly string[];
  /** Temporary files a crash left behind (`*.tmp`). */
  readonly temporaries: readonly string[];
}

export function classifyDirectory(names: readonly string[]): DirectoryListing {
  const sorted = [...names].sort();
  const segments: SegmentFile[] = [];
  const snapshots: string[] = [];
  const temporaries: string[] = [];
  for (const name of sorted) {
    const segment = parseSegmentFileName(name);
    if (segment !== undefined) segments.push(segment);
    else if (name.endsWith(TEMP_SUFFIX)) temporaries.push(name);
    else if (name.endsWith('.snap')) snapshots.push(name);
    // Anything else (a README, lost+found) is not ours and is left alone.
  }
  return { segments, snapshots, temporaries };
}
