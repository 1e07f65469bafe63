/**
 * Record-by-record inspection of a WAL, for `figure2 wal dump` and for saying exactly what a
 * repair discards. Unlike recovery it does not stop at the first damaged record: when a damaged
 * record's length still fits the file it reports it and carries on after it, so that a dump
 * shows the damage in context.
 */
import { join } from 'node:path';
import { StorageError } from '../errors.ts';
import type { StorageFs } from '../fs-layer.ts';
import { readWholeFile } from '../snapshot-file.ts';
import { checksumOk, decodePayload, END_OF_BATCH, frameProblem, readFrame, RECORD_HEADER_BYTES, recordTypeName, type DecodedRecord, type RecordTypeName } from './record.ts';
import { checkSegmentHeader, SEGMENT_HEADER_BYTES, type SegmentFile } from './segment.ts';

export interface InspectedRecord {
  readonly segment: string;
  readonly offset: number;
  readonly type: RecordTypeName | 'unknown';
  readonly endOfBatch: boolean;
  /** Bytes the record takes (frame and payload); for an incomplete one, what is left of the file. */
  readonly size: number;
  readonly crcOk: boolean;
  readonly state: 'valid' | 'incomplete' | 'crc-bad';
  /** Entries: the first index; truncate: the first index deleted; snapshot: its index. */
  readonly index?: number;
  /** Entries: the last index. */
  readonly lastIndex?: number;
  /** Entries: the last entry's term; hard state: currentTerm; snapshot: its term. */
  readonly term?: number;
  /** What else there is to say: votedFor and commitIndex, the snapshot file, what is wrong. */
  readonly detail?: string;
}

export interface InspectedSegment extends SegmentFile {
  readonly path: string;
  readonly size: number;
  /** Set when the header itself is unusable (then there are no records). */
  readonly headerProblem: StorageError | undefined;
}

function describe(decoded: DecodedRecord): Pick<InspectedRecord, 'index' | 'lastIndex' | 'term' | 'detail'> {
  switch (decoded.type) {
    case 'entries':
      return { index: decoded.firstIndex, lastIndex: decoded.firstIndex + decoded.count - 1, term: decoded.lastTerm, detail: `${decoded.count} entr${decoded.count === 1 ? 'y' : 'ies'}, terms ${decoded.firstTerm}..${decoded.lastTerm}` };
    case 'hard-state':
      return { term: decoded.hardState.currentTerm, detail: `votedFor ${decoded.hardState.votedFor ?? 'null'}, commitIndex ${decoded.hardState.commitIndex}` };
    case 'truncate':
      return { index: decoded.from, detail: `log truncated from ${decoded.from}` };
    case 'snapshot':
      return { index: decoded.marker.index, term: decoded.marker.term, detail: `${decoded.marker.file}, ${decoded.marker.keepSuffix ? 'log after it kept' : 'log discarded'}` };
  }
}

/**
 * Visits every record of one segment, valid or not, in file order. Returns the segment's
 * description (with `headerProblem` when the header is unusable and nothing could be read).
 */
export function inspectSegment(fsys: StorageFs, dir: string, file: SegmentFile, visit: (record: InspectedRecord) => void): InspectedSegment {
  const path = join(dir, file.name);
  const bytes = readWholeFile(fsys, path);
  const segment = { ...file, path, size: bytes.length };
  try {
    checkSegmentHeader(bytes.subarray(0, SEGMENT_HEADER_BYTES), path, file);
  } catch (err) {
    if (err instanceof StorageError) return { ...segment, headerProblem: err };
    throw err;
  }
  let at = SEGMENT_HEADER_BYTES;
  while (at < bytes.length) {
    const base = { segment: file.name, offset: at };
    if (at + RECORD_HEADER_BYTES > bytes.length) {
      visit({ ...base, type: 'unknown', endOfBatch: false, size: bytes.length - at, crcOk: false, state: 'incomplete', detail: 'the file ends inside a record header' });
      break;
    }
    const frame = readFrame(bytes, at);
    const type = recordTypeName(frame.type) ?? 'unknown';
    const endOfBatch = (frame.type & END_OF_BATCH) !== 0;
    const framing = frameProblem(frame);
    const end = at + RECORD_HEADER_BYTES + frame.length;
    if (framing !== undefined) {
      // No length to trust: nothing after this point can be framed.
      visit({ ...base, type, endOfBatch, size: bytes.length - at, crcOk: false, state: 'crc-bad', detail: `${framing}; the rest of the segment cannot be framed` });
      break;
    }
    if (end > bytes.length) {
      visit({ ...base, type, endOfBatch, size: bytes.length - at, crcOk: false, state: 'incomplete', detail: `a ${frame.length}-byte payload, but the file ends ${bytes.length - at - RECORD_HEADER_BYTES} bytes into it` });
      break;
    }
    if (!checksumOk(bytes, at, frame)) {
      visit({ ...base, type, endOfBatch, size: end - at, crcOk: false, state: 'crc-bad', detail: 'CRC-32C mismatch' });
    } else {
      const decoded = decodePayload(frame.type, bytes, at + RECORD_HEADER_BYTES, end);
      if (typeof decoded === 'string') visit({ ...base, type, endOfBatch, size: end - at, crcOk: true, state: 'crc-bad', detail: `malformed payload: ${decoded}` });
      else visit({ ...base, type, endOfBatch, size: end - at, crcOk: true, state: 'valid', ...describe(decoded) });
    }
    at = end;
  }
  return { ...segment, headerProblem: undefined };
}
