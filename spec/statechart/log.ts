/**
 * The spec's log: an array of entries with explicit indices, after the snapshot (§7).
 * Invariant: `log[k].index === snapshot.lastIncludedIndex + 1 + k`.
 *
 * Clarity beats speed in spec/: these are linear scans over small arrays, written so that each
 * reads like the sentence of the paper it implements.
 */
import type { LogEntry } from '../schemas/trace-events.ts';

/** The point the log starts after: index 0 / term 0 when nothing is compacted. */
export interface SnapshotPoint {
  readonly lastIncludedIndex: number;
  readonly lastIncludedTerm: number;
}

export interface LogView {
  readonly log: readonly LogEntry[];
  readonly snapshot: SnapshotPoint;
}

/** Index of the last entry, compacted or not (0 when the log is empty). */
export function lastLogIndex(view: LogView): number {
  return view.snapshot.lastIncludedIndex + view.log.length;
}

/** Term of the last entry, compacted or not (0 when the log is empty). */
export function lastLogTerm(view: LogView): number {
  const last = view.log[view.log.length - 1];
  return last === undefined ? view.snapshot.lastIncludedTerm : last.term;
}

/**
 * The entry at `index`, or `undefined` when the log has none there — past its end, or compacted
 * into the snapshot.
 */
export function entryAt(view: LogView, index: number): LogEntry | undefined {
  const entry = view.log[index - view.snapshot.lastIncludedIndex - 1];
  if (entry !== undefined && entry.index !== index) {
    throw new Error(`log invariant broken: position of index ${index} holds index ${entry.index}`);
  }
  return entry;
}

/**
 * The term at `index`: 0 for index 0, the snapshot's term at its last included index, the entry's
 * term inside the log, `undefined` past the end or strictly inside the snapshot (unknown: compacted).
 */
export function termAt(view: LogView, index: number): number | undefined {
  if (index === 0) return 0;
  if (index === view.snapshot.lastIncludedIndex) return view.snapshot.lastIncludedTerm;
  return entryAt(view, index)?.term;
}

/**
 * AE-2, the Log Matching check: does the log hold an entry at `index` with term `term`?
 * Index 0 always matches (the empty prefix). An index strictly inside the snapshot matches too:
 * compacted entries are committed (SN-1), and by Leader Completeness (S-LC) every leader of this
 * or a later term holds them — the follower cannot compare terms there, and need not.
 */
export function logMatches(view: LogView, at: { readonly index: number; readonly term: number }): boolean {
  if (at.index < view.snapshot.lastIncludedIndex) return true;
  return termAt(view, at.index) === at.term;
}

/**
 * §5.4.1 (RV-2): is a candidate's log at least as up-to-date as ours? The log whose last entry has
 * the later term is more up-to-date; with equal last terms, the longer log is. Never length alone.
 */
export function isAtLeastAsUpToDate(
  candidate: { readonly lastLogIndex: number; readonly lastLogTerm: number },
  ours: { readonly lastLogIndex: number; readonly lastLogTerm: number },
): boolean {
  if (candidate.lastLogTerm !== ours.lastLogTerm) return candidate.lastLogTerm > ours.lastLogTerm;
  return candidate.lastLogIndex >= ours.lastLogIndex;
}

/** Entries with index ≥ `from`, in order (the leader's AppendEntries payload, L-3). */
export function entriesFrom(view: LogView, from: number): readonly LogEntry[] {
  return view.log.slice(Math.max(0, from - view.snapshot.lastIncludedIndex - 1));
}

/**
 * AE-3 and AE-4: merge the entries of an accepted AppendEntries into the log. An existing entry
 * that conflicts (same index, different term) is deleted with all that follow it; entries already
 * present are kept as they are — a shorter or reordered AppendEntries never truncates (B11);
 * entries the log lacks are appended; entries inside the snapshot are already committed and kept.
 */
export function mergeEntries(view: LogView, incoming: readonly LogEntry[]): readonly LogEntry[] {
  let log = view.log;
  for (const entry of incoming) {
    if (entry.index <= view.snapshot.lastIncludedIndex) continue;
    const existing = entryAt({ log, snapshot: view.snapshot }, entry.index);
    if (existing !== undefined && existing.term === entry.term) continue;
    // AE-3: a conflict — delete the existing entry and all that follow it (B12: never in place).
    if (existing !== undefined) log = log.slice(0, entry.index - view.snapshot.lastIncludedIndex - 1);
    // AE-4: append the entry; after a conflict or past the end it lands exactly at the end.
    if (entry.index !== view.snapshot.lastIncludedIndex + log.length + 1) {
      throw new Error(`AppendEntries entry index ${entry.index} leaves a gap after ${lastLogIndex({ log, snapshot: view.snapshot })}`);
    }
    log = [...log, entry];
  }
  return log;
}

/** The smallest number of voters that is a majority of `voters` (C-2, L-4). */
export function quorumSize(voters: readonly string[]): number {
  return Math.floor(voters.length / 2) + 1;
}
