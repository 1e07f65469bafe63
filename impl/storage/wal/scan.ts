/**
 * Reading a segment file record by record, and classifying the first record that is not valid.
 *
 * The scan reads in large chunks (a few MiB; a record larger than a chunk gets a buffer of its
 * own), checks each record's framing and CRC-32C, and hands every valid record to a visitor. It
 * stops at the first record that is not valid — `incomplete` (the file ends inside it) or
 * `crc-bad` (its checksum fails, or its frame cannot be a record) — and reports it; recovery
 * (recovery.ts) decides what that means.
 */
import { errnoCode, fsError } from '../errors.ts';
import type { StorageFs } from '../fs-layer.ts';
import { checksumOk, decodePayload, frameProblem, readFrame, RECORD_HEADER_BYTES, type Frame } from './record.ts';
import { checkSegmentHeader, SEGMENT_HEADER_BYTES, type SegmentId } from './segment.ts';

const CHUNK_BYTES = 4 * 1024 * 1024;

export type BadRecordState = 'incomplete' | 'crc-bad';

/** A valid record, as the visitor sees it. `buf` is reused after the visitor returns. */
export interface ScannedRecord {
  /** File offset of the record's frame. */
  readonly offset: number;
  readonly frame: Frame;
  readonly buf: Buffer;
  /** Where the frame starts in `buf` (the payload starts RECORD_HEADER_BYTES later). */
  readonly at: number;
}

export interface ScanProblem {
  readonly offset: number;
  readonly state: BadRecordState;
  readonly reason: string;
  /** The damaged record's frame when its 9 header bytes were there to read. */
  readonly frame: Frame | undefined;
}

export interface SegmentScan {
  readonly path: string;
  readonly size: number;
  /** End of the last valid record (the header's end when there is none). */
  readonly validEnd: number;
  readonly records: number;
  /** The first record that is not valid; the scan stopped there. */
  readonly problem: ScanProblem | undefined;
}

function readAt(fsys: StorageFs, fd: number, buf: Buffer, length: number, position: number): number {
  let got = 0;
  while (got < length) {
    const n = fsys.readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** Opens `path`, runs `body` with its fd and size, and maps file-system errors to StorageErrors. */
export function withFile<T>(fsys: StorageFs, path: string, body: (fd: number, size: number) => T): T {
  let fd: number;
  try {
    fd = fsys.openSync(path, 'r');
  } catch (err) {
    throw fsError(err, { path, action: 'open' });
  }
  try {
    return body(fd, fsys.fstatSync(fd).size);
  } catch (err) {
    // A failing read becomes a StorageError; anything else (a bad header, a bug) passes through.
    throw errnoCode(err) === undefined ? err : fsError(err, { path, action: 'read' });
  } finally {
    fsys.closeSync(fd);
  }
}

/**
 * Scans the segment at `path` (named `id`): checks its header, visits every valid record in
 * order, and stops at the first that is not valid.
 */
export function scanSegment(fsys: StorageFs, path: string, id: SegmentId, visit: (record: ScannedRecord) => void): SegmentScan {
  return withFile(fsys, path, (fd, size) => {
    let buf = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, Math.max(size, SEGMENT_HEADER_BYTES)));
    const headerBytes = readAt(fsys, fd, buf, Math.min(SEGMENT_HEADER_BYTES, size), 0);
    checkSegmentHeader(buf.subarray(0, headerBytes), path, id);
    let bufStart = 0;
    let bufEnd = 0;
    /** Makes buf hold [from, from + length) of the file. */
    const load = (from: number, length: number): void => {
      if (from >= bufStart && from + length <= bufEnd) return;
      if (length > buf.length) buf = Buffer.allocUnsafe(length);
      bufStart = from;
      bufEnd = from + readAt(fsys, fd, buf, Math.min(buf.length, size - from), from);
    };
    let offset = SEGMENT_HEADER_BYTES;
    let records = 0;
    let problem: ScanProblem | undefined;
    while (offset < size) {
      if (offset + RECORD_HEADER_BYTES > size) {
        problem = { offset, state: 'incomplete', reason: `the file ends ${size - offset} bytes into a record header`, frame: undefined };
        break;
      }
      load(offset, RECORD_HEADER_BYTES);
      const frame = readFrame(buf, offset - bufStart);
      const framing = frameProblem(frame);
      if (framing !== undefined) {
        problem = { offset, state: 'crc-bad', reason: framing, frame };
        break;
      }
      const end = offset + RECORD_HEADER_BYTES + frame.length;
      if (end > size) {
        problem = { offset, state: 'incomplete', reason: `a ${frame.length}-byte record, but the file ends ${size - offset - RECORD_HEADER_BYTES} bytes into it`, frame };
        break;
      }
      load(offset, end - offset);
      const at = offset - bufStart;
      if (!checksumOk(buf, at, frame)) {
        problem = { offset, state: 'crc-bad', reason: 'CRC-32C mismatch', frame };
        break;
      }
      visit({ offset, frame, buf, at });
      records++;
      offset = end;
    }
    return { path, size, validEnd: problem?.offset ?? offset, records, problem };
  });
}

/** True when a whole valid record (frame, checksum and payload structure) starts at `at` in `bytes`. */
function validRecordAt(bytes: Buffer, at: number): boolean {
  if (at + RECORD_HEADER_BYTES > bytes.length) return false;
  const frame = readFrame(bytes, at);
  if (frameProblem(frame) !== undefined) return false;
  const end = at + RECORD_HEADER_BYTES + frame.length;
  if (end > bytes.length) return false;
  // The structure check is cheap and rejects almost all garbage before the checksum is computed.
  if (typeof decodePayload(frame.type, bytes, at + RECORD_HEADER_BYTES, end) === 'string') return false;
  return checksumOk(bytes, at, frame);
}

/**
 * The file offset of a valid record after the damaged one at `problem.offset`, or undefined.
 * First where the damaged record's own length says the next one starts (a flipped bit in a
 * payload leaves the chain intact), then at every byte after it (a damaged length field).
 */
export function findValidRecordAfter(fsys: StorageFs, path: string, problem: ScanProblem): number | undefined {
  return withFile(fsys, path, (fd, size) => {
    const from = problem.offset + 1;
    if (from >= size) return undefined;
    const rest = Buffer.allocUnsafe(size - from);
    readAt(fsys, fd, rest, rest.length, from);
    if (problem.frame !== undefined) {
      const next = problem.offset + RECORD_HEADER_BYTES + problem.frame.length;
      if (next > problem.offset && next < size && validRecordAt(rest, next - from)) return next;
    }
    for (let at = 0; at + RECORD_HEADER_BYTES <= rest.length; at++) {
      if (validRecordAt(rest, at)) return from + at;
    }
    return undefined;
  });
}
