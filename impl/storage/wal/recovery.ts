/**
 * Recovery: what a WAL directory holds, as a decision over every record, then a replay.
 *
 * Each segment is scanned (scan.ts). Every valid record is replayed, batch by batch; the first
 * record that is not — and a batch left without its end-of-batch mark — is judged by
 * RECOVERY_DECISIONS, a table over (what the record is) × (does a valid record follow it in its
 * segment?) × (is it the last segment?):
 *
 *   - a torn tail — the last segment ends in a partial or checksum-failing record, or in a batch
 *     never finished, with nothing valid after it — is a write that was never acknowledged (an
 *     acknowledged write was fully written and synced): it is truncated, with a warning;
 *   - anything else is corruption: a damaged record with valid ones after it, or a damaged
 *     record in an earlier segment (segments are synced before the next is created, so only the
 *     last can end torn). Opening refuses with a StorageError naming the file and byte offset,
 *     until an operator repairs explicitly (repair.ts, `figure2 wal repair`).
 *
 * Replay tolerates segments deleted by compaction: the first remaining segment's name says which
 * index it started at, so the entries before it are known to exist ("phantoms") and must be
 * covered by a snapshot marker by the end of the replay — otherwise a segment is missing.
 */
import { join } from 'node:path';
import type { HardState, Snapshot } from '../../core/types.ts';
import { assert } from '../assert.ts';
import { corruption, fsError } from '../errors.ts';
import type { StorageFs } from '../fs-layer.ts';
import { loadSnapshotFile, parseSnapshotFileName } from '../snapshot-file.ts';
import { LogIndex } from './log-index.ts';
import { readU64 } from '../binary.ts';
import { decodePayload, END_OF_BATCH, ENTRY_HEADER_BYTES, RECORD_HEADER_BYTES, RECORD_TYPES, type SnapshotMarker } from './record.ts';
import { findValidRecordAfter, scanSegment, type ScannedRecord } from './scan.ts';
import { classifyDirectory, SEGMENT_HEADER_BYTES, type DirectoryListing, type SegmentFile } from './segment.ts';

export const EMPTY_HARD_STATE: HardState = Object.freeze({ currentTerm: 0, votedFor: null, commitIndex: 0 });

// ---------------------------------------------------------------------------------------------
// The decision table

/** What recovery found where the valid records of a segment end. */
export type RecordState = 'valid' | 'incomplete' | 'crc-bad' | 'unterminated-batch';
export type SegmentPosition = 'last' | 'earlier';
export type Verdict = 'replay' | 'truncate-tail' | 'corruption';

export interface DecisionRow {
  readonly state: RecordState;
  /** A valid record follows in the same segment. */
  readonly validAfter: boolean;
  readonly segment: SegmentPosition;
  readonly verdict: Verdict;
  readonly why: string;
}

const TORN = 'a torn write at the tail of the log: it was never acknowledged, so it is dropped';
const FOLLOWED = 'valid records follow it, so it is not a torn write but damage to acknowledged data';
const EARLIER = 'it is not in the last segment, and a segment is synced before the next one is created, so only the last can end torn';

/** Every combination, once (a test checks); read top to bottom. */
export const RECOVERY_DECISIONS: readonly DecisionRow[] = [
  { state: 'valid', validAfter: true, segment: 'last', verdict: 'replay', why: 'checksum and framing hold' },
  { state: 'valid', validAfter: false, segment: 'last', verdict: 'replay', why: 'checksum and framing hold' },
  { state: 'valid', validAfter: true, segment: 'earlier', verdict: 'replay', why: 'checksum and framing hold' },
  { state: 'valid', validAfter: false, segment: 'earlier', verdict: 'replay', why: 'checksum and framing hold' },
  { state: 'incomplete', validAfter: false, segment: 'last', verdict: 'truncate-tail', why: TORN },
  { state: 'crc-bad', validAfter: false, segment: 'last', verdict: 'truncate-tail', why: TORN },
  { state: 'unterminated-batch', validAfter: false, segment: 'last', verdict: 'truncate-tail', why: TORN },
  { state: 'incomplete', validAfter: true, segment: 'last', verdict: 'corruption', why: FOLLOWED },
  { state: 'crc-bad', validAfter: true, segment: 'last', verdict: 'corruption', why: FOLLOWED },
  { state: 'unterminated-batch', validAfter: true, segment: 'last', verdict: 'corruption', why: FOLLOWED },
  { state: 'incomplete', validAfter: false, segment: 'earlier', verdict: 'corruption', why: EARLIER },
  { state: 'crc-bad', validAfter: false, segment: 'earlier', verdict: 'corruption', why: EARLIER },
  { state: 'unterminated-batch', validAfter: false, segment: 'earlier', verdict: 'corruption', why: EARLIER },
  { state: 'incomplete', validAfter: true, segment: 'earlier', verdict: 'corruption', why: FOLLOWED },
  { state: 'crc-bad', validAfter: true, segment: 'earlier', verdict: 'corruption', why: FOLLOWED },
  { state: 'unterminated-batch', validAfter: true, segment: 'earlier', verdict: 'corruption', why: FOLLOWED },
];

export function decide(state: RecordState, validAfter: boolean, segment: SegmentPosition): DecisionRow {
  const row = RECOVERY_DECISIONS.find((r) => r.state === state && r.validAfter === validAfter && r.segment === segment);
  assert(row !== undefined, () => `no recovery decision for ${state}/${validAfter}/${segment}`);
  return row;
}

// ---------------------------------------------------------------------------------------------
// Replay

/** One record's effect, held until its batch's end-of-batch record arrives. */
type Op =
  | { readonly type: 'hard-state'; readonly hardState: HardState }
  | { readonly type: 'truncate'; readonly from: number }
  | { readonly type: 'snapshot'; readonly marker: SnapshotMarker }
  | { readonly type: 'entries'; readonly firstIndex: number; readonly seq: number; readonly terms: number[]; readonly positions: number[]; readonly sizes: number[] };

/**
 * The log as the WAL describes it, record after record. Entries in (snapshotIndex, phantomEnd]
 * were written to segments that compaction deleted: they exist but cannot be read, and a
 * snapshot marker must cover them before the replay ends. `index` holds (phantomEnd, lastIndex].
 */
export class Replay {
  hardState: HardState = EMPTY_HARD_STATE;
  marker: SnapshotMarker | null = null;
  snapshotIndex = 0;
  snapshotTerm = 0;
  lastIndex: number;
  phantomEnd: number;
  readonly index = new LogIndex();

  constructor(firstIndex: number) {
    this.lastIndex = firstIndex - 1;
    this.phantomEnd = firstIndex - 1;
    this.index.reset(firstIndex);
  }

  /** The term of `index` when known (the snapshot point or an entry held), else undefined. */
  private termOf(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    return this.index.has(index) ? this.index.term(index) : undefined;
  }

  /** Applies one op; returns why it does not fit the log, or undefined. */
  apply(op: Op): string | undefined {
    switch (op.type) {
      case 'hard-state':
        this.hardState = op.hardState;
        return undefined;
      case 'truncate': {
        if (op.from <= this.snapshotIndex || op.from > this.lastIndex + 1) {
          return `truncation from ${op.from} outside the log ${this.snapshotIndex + 1}..${this.lastIndex}`;
        }
        this.lastIndex = op.from - 1;
        if (op.from <= this.phantomEnd) {
          this.phantomEnd = op.from - 1;
          this.index.reset(op.from);
        } else {
          this.index.truncateFrom(op.from);
        }
        return undefined;
      }
      case 'snapshot':
        return this.applySnapshot(op.marker);
      case 'entries': {
        const problem = this.entriesFit(op.firstIndex, op.terms[0] as number);
        if (problem !== undefined) return problem;
        for (let k = 0; k < op.terms.length; k++) {
          this.index.append(op.firstIndex + k, op.seq, op.positions[k] as number, op.terms[k] as number, op.sizes[k] as number);
        }
        this.lastIndex += op.terms.length;
        return undefined;
      }
    }
  }

  /** Why entries from `firstIndex`, the first in term `firstTerm`, cannot be appended, or undefined. */
  entriesFit(firstIndex: number, firstTerm: number): string | undefined {
    if (firstIndex !== this.lastIndex + 1) return `entries from ${firstIndex} do not follow the last index ${this.lastIndex}`;
    const before = this.termOf(this.lastIndex);
    if (before !== undefined && firstTerm < before) return `entry ${firstIndex} has term ${firstTerm} after term ${before}`;
    return undefined;
  }

  /**
   * The fast path for the commonest batch — one entries record, nothing else: its entries go
   * straight into the index as the payload is decoded, with no op in between (recovery of a
   * million entries spends its time here). Returns why the record does not fit, or undefined.
   */
  applyEntriesRecord(record: ScannedRecord, seq: number): string | undefined {
    const start = record.at + RECORD_HEADER_BYTES;
    const end = start + record.frame.length;
    if (record.frame.length < 12 + ENTRY_HEADER_BYTES) return 'entries payload too short';
    const problem = this.entriesFit(readU64(record.buf, start), readU64(record.buf, start + 12));
    if (problem !== undefined) return problem;
    const base = record.offset - record.at;
    const index = this.index;
    const decoded = decodePayload(record.frame.type, record.buf, start, end, (i, term, at, size) => index.append(i, seq, base + at, term, size));
    if (typeof decoded === 'string') return decoded;
    assert(decoded.type === 'entries', 'an entries record decoded as another type');
    this.lastIndex += decoded.count;
    return undefined;
  }

  private applySnapshot(m: SnapshotMarker): string | undefined {
    if (m.index < this.snapshotIndex) return `snapshot at ${m.index} behind the snapshot at ${this.snapshotIndex}`;
    if (m.keepSuffix) {
      if (m.index > this.lastIndex) return `snapshot at ${m.index} keeps the log, which ends at ${this.lastIndex}`;
      const term = this.termOf(m.index);
      if (term !== undefined && term !== m.term) return `snapshot at ${m.index}/${m.term} keeps the log, whose entry ${m.index} has term ${term}`;
      if (m.index >= this.phantomEnd) {
        this.index.dropThrough(m.index);
        this.phantomEnd = m.index;
      }
    } else {
      this.index.reset(m.index + 1);
      this.lastIndex = m.index;
      this.phantomEnd = m.index;
    }
    this.snapshotIndex = m.index;
    this.snapshotTerm = m.term;
    this.marker = m;
    return undefined;
  }
}

/** The op of a valid record, or why its payload is malformed. */
function recordOp(record: ScannedRecord, seq: number): Op | string {
  const start = record.at + RECORD_HEADER_BYTES;
  const terms: number[] = [];
  const positions: number[] = [];
  const sizes: number[] = [];
  // Entry positions are file offsets: the record's offset plus the entry's place in the record.
  const base = record.offset - record.at;
  const decoded = decodePayload(record.frame.type, record.buf, start, start + record.frame.length, (_index, term, at, size) => {
    terms.push(term);
    positions.push(base + at);
    sizes.push(size);
  });
  if (typeof decoded === 'string') return decoded;
  if (decoded.type === 'entries') return { type: 'entries', firstIndex: decoded.firstIndex, seq, terms, positions, sizes };
  return decoded;
}

// ---------------------------------------------------------------------------------------------
// Analysis

export interface SegmentState extends SegmentFile {
  readonly path: string;
  /** The file's size as found. */
  readonly size: number;
  /** Where its last whole batch ends: the append point once a torn tail is cut. */
  readonly end: number;
  /** Valid records replayed from it. */
  readonly records: number;
}

/** A torn tail to cut: the last segment from `offset` on. */
export interface TornTail {
  readonly path: string;
  readonly seq: number;
  readonly offset: number;
  readonly bytes: number;
  readonly state: RecordState;
  readonly reason: string;
}

export interface WalAnalysis {
  readonly dir: string;
  readonly listing: DirectoryListing;
  readonly segments: readonly SegmentState[];
  readonly hardState: HardState;
  /** The snapshot in force (the last marker's file, loaded and verified), or null. */
  readonly snapshot: Snapshot | null;
  readonly marker: SnapshotMarker | null;
  readonly lastIndex: number;
  /** Where each entry after the snapshot lives. */
  readonly index: LogIndex;
  /** Records replayed (those of a torn tail excluded). */
  readonly records: number;
  readonly tail: TornTail | undefined;
  /** Snapshot files newer than the one in force: written, never acknowledged. */
  readonly orphanSnapshots: readonly string[];
}

function listDirectory(fsys: StorageFs, dir: string): DirectoryListing {
  try {
    return classifyDirectory(fsys.readdirSync(dir));
  } catch (err) {
    throw fsError(err, { path: dir, action: 'list the WAL directory' });
  }
}

/** How to get out of a corruption, for the error message. */
function remedy(dir: string): string {
  return `to start anyway, run 'figure2 wal repair ${dir} --discard-after' (the records from this point on are lost), or restore this node from a replica`;
}

/**
 * Reads a WAL directory and decides what it holds. Never modifies anything: the caller cuts the
 * torn tail (`tail`) when it means to write. Throws a StorageError on corruption (naming file
 * and offset), on a file that is not a WAL, and on file-system errors.
 */
export function analyzeWal(fsys: StorageFs, dir: string): WalAnalysis {
  const listing = listDirectory(fsys, dir);
  const files = listing.segments;
  const first = files[0];
  if (first === undefined) {
    if (listing.snapshots.length > 0) {
      throw corruption(dir, undefined, `holds snapshot files (${listing.snapshots.join(', ')}) but no WAL segment: the log and hard state are gone; restore this node from a replica`);
    }
    return { dir, listing, segments: [], hardState: EMPTY_HARD_STATE, snapshot: null, marker: null, lastIndex: 0, index: new LogIndex(), records: 0, tail: undefined, orphanSnapshots: [] };
  }
  const replay = new Replay(first.firstIndex);
  const segments: SegmentState[] = [];
  let records = 0;
  let tail: TornTail | undefined;
  files.forEach((file, i) => {
    const path = join(dir, file.name);
    const previous = files[i - 1];
    if (previous !== undefined && file.seq !== previous.seq + 1) {
      throw corruption(path, undefined, `segment ${previous.seq + 1} is missing between ${previous.name} and ${file.name}; ${remedy(dir)}`);
    }
    if (i > 0 && file.firstIndex !== replay.lastIndex + 1) {
      throw corruption(path, 0, `starts at index ${file.firstIndex}, but the segments before it end at ${replay.lastIndex}`);
    }
    let pending: Op[] = [];
    let pendingStart = 0;
    let batchEnd = SEGMENT_HEADER_BYTES;
    let segmentRecords = 0;
    const scan = scanSegment(fsys, path, file, (record) => {
      if (pending.length === 0 && record.frame.type === (RECORD_TYPES.entries | END_OF_BATCH)) {
        const problem = replay.applyEntriesRecord(record, file.seq);
        if (problem !== undefined) throw corruption(path, record.offset, `${problem} (a well-formed record that contradicts the log before it)`);
        segmentRecords++;
        batchEnd = record.offset + RECORD_HEADER_BYTES + record.frame.length;
        return;
      }
      const op = recordOp(record, file.seq);
      if (typeof op === 'string') throw corruption(path, record.offset, `${op} (the record passes its checksum: written wrong, not damaged)`);
      if (pending.length === 0) pendingStart = record.offset;
      pending.push(op);
      if ((record.frame.type & END_OF_BATCH) === 0) return;
      for (const p of pending) {
        const problem = replay.apply(p);
        if (problem !== undefined) throw corruption(path, pendingStart, `${problem} (a well-formed record that contradicts the log before it)`);
      }
      segmentRecords += pending.length;
      pending = [];
      batchEnd = record.offset + RECORD_HEADER_BYTES + record.frame.length;
    });
    records += segmentRecords;
    const position = i === files.length - 1 ? 'last' : 'earlier';
    let bad: { offset: number; state: RecordState; reason: string; validAfter: boolean } | undefined;
    if (scan.problem !== undefined) {
      const validAfter = findValidRecordAfter(fsys, path, scan.problem) !== undefined;
      bad = { offset: scan.problem.offset, state: scan.problem.state, reason: scan.problem.reason, validAfter };
    } else if (pending.length > 0) {
      bad = { offset: pendingStart, state: 'unterminated-batch', reason: `the last batch (${pending.length} record${pending.length === 1 ? '' : 's'}) has no end-of-batch mark`, validAfter: false };
    }
    if (bad !== undefined) {
      const row = decide(bad.state, bad.validAfter, position);
      if (row.verdict === 'corruption') throw corruption(path, bad.offset, `${bad.reason}: ${row.why}; ${remedy(dir)}`);
      assert(row.verdict === 'truncate-tail', () => `recovery verdict ${row.verdict} for a ${bad?.state} record`);
      const cut = pending.length > 0 ? pendingStart : bad.offset;
      tail = { path, seq: file.seq, offset: cut, bytes: scan.size - cut, state: bad.state, reason: bad.reason };
    }
    segments.push({ ...file, path, size: scan.size, end: tail?.seq === file.seq ? tail.offset : batchEnd, records: segmentRecords });
  });
  if (replay.phantomEnd > replay.snapshotIndex) {
    // Named by the directory, not a segment: discarding segments cannot bring the entries back.
    throw corruption(dir, undefined, `entries ${replay.snapshotIndex + 1}..${replay.phantomEnd} were in segments before ${first.name} that are gone, and no snapshot covers them; restore this node from a replica`);
  }
  const marker = replay.marker;
  let snapshot: Snapshot | null = null;
  if (marker !== null) {
    const name = parseSnapshotFileName(marker.file);
    if (name === undefined || !listing.snapshots.includes(marker.file)) {
      throw corruption(join(dir, marker.file), undefined, `the WAL's snapshot at ${marker.index}/${marker.term} is in this file, which is missing; restore it (or this node) from a backup or a replica`);
    }
    snapshot = loadSnapshotFile(fsys, dir, { index: marker.index, term: marker.term, name: marker.file });
  }
  const orphanSnapshots = listing.snapshots.filter((n) => {
    const s = parseSnapshotFileName(n);
    return s !== undefined && (marker === null || s.index > marker.index || (s.index === marker.index && s.term > marker.term));
  });
  return { dir, listing, segments, hardState: replay.hardState, snapshot, marker, lastIndex: replay.lastIndex, index: replay.index, records, tail, orphanSnapshots };
}
