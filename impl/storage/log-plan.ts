/**
 * What a batch does to the log — the semantics both storages share, as a pure function of the
 * log's shape, so that MemoryStorage and FileStorage cannot drift apart (the contract tests run
 * against both).
 *
 * A batch applies in this order: snapshot, then entries, then hard state (as SimDisk does):
 *   - snapshot (IS-6/IS-7): if the log holds the snapshot's last entry (same index and term), the
 *     entries after it stay; otherwise the whole log is discarded. Entries it covers go.
 *   - entries (AE-3): the log from entries[0].index on is deleted, then the entries appended.
 *   - hard state: replaced.
 * A batch that breaks the log's invariants — a gap, a term going down, an overwrite of the
 * snapshot — is a host bug: an assertion fails before anything is written.
 */
import type { Entry, HardState, Snapshot } from '../core/types.ts';
import { assert } from './assert.ts';
import type { StorageBatch } from './storage.ts';

/** The log as a plan needs to see it. `term` is LogReader.term (the snapshot point included). */
export interface LogShape {
  readonly snapshotIndex: number;
  readonly lastIndex: number;
  readonly hardState: HardState;
  term(index: number): number | undefined;
}

export interface SnapshotStep {
  readonly snapshot: Snapshot;
  /** IS-6: the log holds the snapshot's last entry, so the entries after it stay. IS-7: discard all. */
  readonly keepSuffix: boolean;
}

export interface BatchPlan {
  readonly snapshot: SnapshotStep | undefined;
  /** Delete the log from this index on before appending (AE-3); undefined: nothing to delete. */
  readonly truncateFrom: number | undefined;
  readonly entries: readonly Entry[];
  readonly hardState: HardState | undefined;
}

function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function checkEntries(entries: readonly Entry[]): void {
  let previous: Entry | undefined;
  for (const e of entries) {
    assert(isCount(e.index) && e.index >= 1 && isCount(e.term), () => `storage: entry ${e.index} with term ${e.term}`);
    assert(typeof e.data === 'string', () => `storage: entry ${e.index} data is not a string`);
    if (previous !== undefined) {
      const p = previous;
      assert(e.index === p.index + 1, () => `storage: entries ${p.index} and ${e.index} are not contiguous`);
      assert(e.term >= p.term, () => `storage: entry ${e.index} has term ${e.term} after term ${p.term}`);
    }
    previous = e;
  }
}

function checkHardState(hs: HardState, before: HardState): void {
  assert(isCount(hs.currentTerm) && isCount(hs.commitIndex), () => `storage: hard state term ${hs.currentTerm}, commit ${hs.commitIndex}`);
  // M-TERM holds across restarts only if the disk never goes back in term.
  assert(hs.currentTerm >= before.currentTerm, () => `storage: hard state term ${hs.currentTerm} after term ${before.currentTerm}`);
}

/** IS-6/IS-7 for `snapshot` against the log `shape`. */
export function snapshotStep(shape: LogShape, snapshot: Snapshot): SnapshotStep {
  const { lastIncludedIndex: index, lastIncludedTerm: term } = snapshot;
  assert(isCount(index) && isCount(term), () => `storage: snapshot at ${index}/${term}`);
  assert(index >= shape.snapshotIndex, () => `storage: snapshot at ${index} is behind the snapshot at ${shape.snapshotIndex}`);
  return { snapshot, keepSuffix: shape.term(index) === term };
}

/** Plans `batch` against `shape`; asserts it fits. */
export function planBatch(shape: LogShape, batch: StorageBatch): BatchPlan {
  const snapshot = batch.snapshot === undefined ? undefined : snapshotStep(shape, batch.snapshot);
  // The log after the snapshot step.
  const base = snapshot?.snapshot.lastIncludedIndex ?? shape.snapshotIndex;
  const last = snapshot === undefined || snapshot.keepSuffix ? shape.lastIndex : base;
  const termAfterSnapshot = (index: number): number | undefined =>
    index === base ? (snapshot?.snapshot.lastIncludedTerm ?? shape.term(index)) : index <= last ? shape.term(index) : undefined;
  const entries = batch.entries ?? [];
  let truncateFrom: number | undefined;
  const first = entries[0];
  if (first !== undefined) {
    checkEntries(entries);
    assert(first.index > base, () => `storage: entries from ${first.index} overwrite the snapshot at ${base}`);
    assert(first.index <= last + 1, () => `storage: entries from ${first.index} leave a gap after the last index ${last}`);
    const before = termAfterSnapshot(first.index - 1);
    assert(before !== undefined && first.term >= before, () => `storage: entry ${first.index} has term ${first.term} after term ${before}`);
    if (first.index <= last) truncateFrom = first.index;
  }
  if (batch.hardState !== undefined) checkHardState(batch.hardState, shape.hardState);
  return { snapshot, truncateFrom, entries, hardState: batch.hardState };
}

/**
 * Plans local compaction (§7): `snapshot` must be at an index the log holds, with its term.
 * Undefined when the log is already compacted to exactly that point (nothing to do).
 */
export function planCompaction(shape: LogShape, snapshot: Snapshot): BatchPlan | undefined {
  const { lastIncludedIndex: index, lastIncludedTerm: term } = snapshot;
  assert(index >= shape.snapshotIndex && index <= shape.lastIndex, () =>
    `storage: compaction at ${index} outside the log ${shape.snapshotIndex}..${shape.lastIndex}`);
  assert(shape.term(index) === term, () => `storage: compaction at ${index}/${term}, but the log has term ${shape.term(index)} there`);
  if (index === shape.snapshotIndex) return undefined;
  return { snapshot: { snapshot, keepSuffix: true }, truncateFrom: undefined, entries: [], hardState: undefined };
}

export function isEmptyPlan(plan: BatchPlan): boolean {
  return plan.snapshot === undefined && plan.entries.length === 0 && plan.hardState === undefined;
}

/** LogReader.entries' bounds: firstIndex ≤ lo ≤ hi ≤ lastIndex + 1. */
export function checkRange(lo: number, hi: number, firstIndex: number, lastIndex: number): void {
  assert(Number.isSafeInteger(lo) && Number.isSafeInteger(hi) && firstIndex <= lo && lo <= hi && hi <= lastIndex + 1, () =>
    `storage: entries(${lo}, ${hi}) outside ${firstIndex}..${lastIndex + 1}`);
}

/**
 * The byte budget of LogReader.entries: an entry fits while the data returned so far plus its
 * own stays within `maxBytes` — and the first always fits, so that a caller always progresses.
 * Bytes are `data.length`, as the core counts them for maxBytesPerMessage.
 */
export function fitsBudget(returned: number, bytesSoFar: number, entry: Entry, maxBytes: number): boolean {
  return returned === 0 || bytesSoFar + entry.data.length <= maxBytes;
}
