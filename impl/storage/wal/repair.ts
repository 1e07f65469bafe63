/**
 * Explicit repair, for an operator (`figure2 wal repair`). Opening a storage already cuts a torn
 * tail by itself; what it refuses is corruption — a damaged record with acknowledged records
 * after it — because going on would silently lose those. Repair makes that loss a decision:
 * without `discardAfter` it only says what it would discard; with it, it cuts the log at the
 * damaged record (deleting later segments first, newest first, so that a crash midway leaves a
 * WAL that repair can pick up again) and reports exactly what went: segment, offset, records,
 * index range.
 */
import { join } from 'node:path';
import { StorageError, fsError } from '../errors.ts';
import { fsyncDirSync, type StorageFs } from '../fs-layer.ts';
import { inspectSegment } from './inspect.ts';
import { analyzeWal, type WalAnalysis } from './recovery.ts';
import { classifyDirectory, SEGMENT_HEADER_BYTES, type SegmentFile } from './segment.ts';

/** A cut of the log: `path` from `offset` on (the whole file when offset is 0), and every later segment. */
export interface Discard {
  readonly reason: 'torn-tail' | 'corruption';
  readonly path: string;
  readonly offset: number;
  /** Later segment files deleted whole. */
  readonly laterSegments: readonly string[];
  readonly bytes: number;
  /** Valid records among the bytes discarded (a torn tail's finished records of an unfinished batch, or acknowledged ones after damage). */
  readonly records: number;
  /** Records that fail their checks (their content cannot be trusted, so their entries are not in `indexes`). */
  readonly damaged: number;
  /** Indexes of the entries in the valid records, when any. */
  readonly indexes: { readonly from: number; readonly to: number } | undefined;
  /** Why: the torn tail's or the corruption's message. */
  readonly message: string;
}

export type RepairOutcome =
  | { readonly status: 'healthy'; readonly analysis: WalAnalysis }
  | { readonly status: 'repaired'; readonly discards: readonly Discard[]; readonly analysis: WalAnalysis }
  /** Corruption found, not repaired because `discardAfter` was not given: what it would discard. */
  | { readonly status: 'refused'; readonly error: StorageError; readonly wouldDiscard: Discard; readonly discards: readonly Discard[] }
  /** Corruption that discarding cannot fix (a missing snapshot file, entries in no segment). */
  | { readonly status: 'unrepairable'; readonly error: StorageError; readonly discards: readonly Discard[] };

function segmentsOf(fsys: StorageFs, dir: string): readonly SegmentFile[] {
  try {
    return classifyDirectory(fsys.readdirSync(dir)).segments;
  } catch (err) {
    throw fsError(err, { path: dir, action: 'list the WAL directory' });
  }
}

/** What cutting `segment` at `offset` (0: the whole file) and deleting every later segment discards. */
function describeDiscard(fsys: StorageFs, dir: string, cut: { readonly segment: SegmentFile; readonly offset: number; readonly reason: Discard['reason']; readonly message: string }): Discard {
  const segments = segmentsOf(fsys, dir);
  const later = segments.filter((s) => s.seq > cut.segment.seq);
  let bytes = 0;
  let records = 0;
  let damaged = 0;
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;
  for (const s of [cut.segment, ...later]) {
    const first = s === cut.segment ? cut.offset : 0;
    const inspected = inspectSegment(fsys, dir, s, (r) => {
      if (r.offset < first) return;
      if (r.state !== 'valid') {
        damaged++;
        return;
      }
      records++;
      if (r.type === 'entries' && r.index !== undefined && r.lastIndex !== undefined) {
        from = Math.min(from, r.index);
        to = Math.max(to, r.lastIndex);
      }
    });
    bytes += inspected.size - first;
  }
  return {
    reason: cut.reason,
    path: join(dir, cut.segment.name),
    offset: cut.offset,
    laterSegments: later.map((s) => join(dir, s.name)),
    bytes,
    records,
    damaged,
    indexes: records > 0 && from <= to ? { from, to } : undefined,
    message: cut.message,
  };
}

/** The cut a corruption error calls for, or undefined when discarding segments cannot fix it. */
function corruptionCut(fsys: StorageFs, dir: string, error: StorageError): Discard | undefined {
  const segment = segmentsOf(fsys, dir).find((s) => join(dir, s.name) === error.path);
  if (segment === undefined) return undefined;
  // A damaged header (or a segment that does not fit its neighbours) goes whole.
  const offset = error.offset !== undefined && error.offset >= SEGMENT_HEADER_BYTES ? error.offset : 0;
  return describeDiscard(fsys, dir, { segment, offset, reason: 'corruption', message: error.message });
}

function applyDiscard(fsys: StorageFs, dir: string, discard: Discard): void {
  // Later segments first, newest first: a crash midway leaves the damage in the last segment, where a rerun finds it again.
  for (const path of [...discard.laterSegments].reverse()) {
    try {
      fsys.unlinkSync(path);
    } catch (err) {
      throw fsError(err, { path, action: 'delete' });
    }
  }
  try {
    fsyncDirSync(fsys, dir);
    if (discard.offset === 0) {
      fsys.unlinkSync(discard.path);
    } else {
      const fd = fsys.openSync(discard.path, 'r+');
      try {
        fsys.ftruncateSync(fd, discard.offset);
        fsys.fsyncSync(fd);
      } finally {
        fsys.closeSync(fd);
      }
    }
    fsyncDirSync(fsys, dir);
  } catch (err) {
    throw fsError(err, { path: discard.path, action: 'cut' });
  }
}

/**
 * Repairs the WAL in `dir`: cuts a torn tail; cuts at a corruption only when `discardAfter`.
 * Throws StorageErrors that are not corruption (not a WAL, unreadable, permissions).
 */
export function repairWal(fsys: StorageFs, dir: string, options: { readonly discardAfter: boolean }): RepairOutcome {
  const discards: Discard[] = [];
  // Each round cuts strictly more of the log, so the loop ends; the bound only guards against a bug.
  for (let round = 0; round < 1000; round++) {
    let analysis: WalAnalysis;
    try {
      analysis = analyzeWal(fsys, dir);
    } catch (err) {
      if (!(err instanceof StorageError) || err.kind !== 'corruption') throw err;
      const cut = corruptionCut(fsys, dir, err);
      if (cut === undefined) return { status: 'unrepairable', error: err, discards };
      if (!options.discardAfter) return { status: 'refused', error: err, wouldDiscard: cut, discards };
      applyDiscard(fsys, dir, cut);
      discards.push(cut);
      continue;
    }
    const tail = analysis.tail;
    if (tail === undefined) return discards.length === 0 ? { status: 'healthy', analysis } : { status: 'repaired', discards, analysis };
    const segment = segmentsOf(fsys, dir).find((s) => s.seq === tail.seq);
    if (segment === undefined) throw new StorageError({ kind: 'io', path: tail.path, message: `${tail.path} disappeared during repair` });
    const cut = describeDiscard(fsys, dir, { segment, offset: tail.offset, reason: 'torn-tail', message: `${tail.state}: ${tail.reason}` });
    applyDiscard(fsys, dir, cut);
    discards.push(cut);
  }
  throw new StorageError({ kind: 'io', path: dir, message: `repair of ${dir} did not converge (a bug in figure2)` });
}
