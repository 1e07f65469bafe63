/**
 * A simulated disk with fsync semantics, one per node. The host writes what a Ready asks it to
 * (hard state, entries, snapshot) as one batch; a batch is only *pending* until `sync()`, and a
 * crash loses what is pending — the unsynced tail — while everything synced survives. With torn
 * writes on, a crash may instead keep a prefix of the pending batches, as a real disk that flushed
 * some of its cache would: still safe for Raft, since nothing unsynced was ever promised to anyone.
 *
 * A batch is atomic (one Ready's writes land together or not at all), like etcd's WAL record or a
 * single write + fsync: hard state and the entries it refers to never come apart.
 *
 * Invariants (asserted on every write, and again on what recovery returns — paired, as
 * TigerBeetle does): the durable log is contiguous right after the snapshot
 * (`entries[k].index === snapshot.lastIncludedIndex + 1 + k`) and its terms never decrease.
 */
import type { DurableState, Entry, HardState, Snapshot } from '../../impl/core/types.ts';
import type { Prng } from '../prng.ts';
import { assert } from './assert.ts';

/** One Ready's writes, as the host hands them over. */
export interface DiskBatch {
  readonly hardState?: HardState | undefined;
  /** Installed before `entries`: a snapshot discards the log it covers (keeping a matching suffix, IS-6/IS-7). */
  readonly snapshot?: Snapshot | undefined;
  /** Overwrite the log from `entries[0].index` on (AE-3: the suffix from there is deleted first). */
  readonly entries?: readonly Entry[] | undefined;
}

export interface DiskStats {
  batches: number;
  syncs: number;
  /** Batches a crash discarded. */
  lostBatches: number;
  /** Batches a crash kept although they were not synced (torn writes). */
  tornBatches: number;
}

const EMPTY_HARD_STATE: HardState = Object.freeze({ currentTerm: 0, votedFor: null, commitIndex: 0 });

export class SimDisk {
  readonly stats: DiskStats = { batches: 0, syncs: 0, lostBatches: 0, tornBatches: 0 };

  // What is synced: survives any crash.
  private hardState: HardState = EMPTY_HARD_STATE;
  private snapshot: Snapshot | null = null;
  /** Invariant: entries[k].index === snapshotIndex + 1 + k, terms non-decreasing. */
  private entries: Entry[] = [];

  /** Written, not yet synced, oldest first. */
  private pending: DiskBatch[] = [];
  /** The log's shape as written (synced or not): what the next write is checked against. */
  private writtenSnapshotIndex = 0;
  private writtenLastIndex = 0;

  /** A disk holding `initial` as synced state (a fresh node's disk is empty). */
  constructor(initial?: DurableState) {
    if (initial !== undefined) {
      checkDurableState(initial);
      this.hardState = initial.hardState;
      this.snapshot = initial.snapshot;
      this.entries = [...initial.entries];
    }
    this.resetWritten();
  }

  /** Batches written and not yet synced. */
  get pendingBatches(): number {
    return this.pending.length;
  }

  /** Writes one batch (pending until `sync`). Empty batches are not recorded. */
  write(batch: DiskBatch): void {
    const entries = batch.entries;
    const hasEntries = entries !== undefined && entries.length > 0;
    if (batch.hardState === undefined && batch.snapshot === undefined && !hasEntries) return;
    // Validate before writing: the batch must fit the log as written so far.
    if (batch.snapshot !== undefined) {
      const s = batch.snapshot;
      assert(s.lastIncludedIndex >= 0 && s.lastIncludedTerm >= 0, 'disk: snapshot with a negative index or term');
      assert(s.lastIncludedIndex >= this.writtenSnapshotIndex, () =>
        `disk: snapshot at ${s.lastIncludedIndex} is older than the one written at ${this.writtenSnapshotIndex}`);
      this.writtenSnapshotIndex = s.lastIncludedIndex;
      // A snapshot that disagrees with the written log at its index discards that log (IS-7); these
      // scalars cannot tell, so they stay lenient and the exact check happens when the batch is applied.
      this.writtenLastIndex = Math.max(this.writtenLastIndex, s.lastIncludedIndex);
    }
    if (hasEntries) {
      checkContiguous(entries);
      const first = entries[0] as Entry;
      const last = entries[entries.length - 1] as Entry;
      assert(first.index > this.writtenSnapshotIndex, () =>
        `disk: entries from ${first.index} overwrite the snapshot at ${this.writtenSnapshotIndex}`);
      assert(first.index <= this.writtenLastIndex + 1, () =>
        `disk: entries from ${first.index} leave a gap after the last written index ${this.writtenLastIndex}`);
      this.writtenLastIndex = last.index;
    }
    this.pending.push(batch);
    this.stats.batches++;
  }

  /** Makes every pending batch durable (fsync). */
  sync(): void {
    this.stats.syncs++;
    for (const batch of this.pending) this.applyBatch(batch);
    this.pending.length = 0;
  }

  /**
   * The node crashed: pending batches are lost — all of them, or, with `tornWrites`, all but a
   * random prefix that made it to the platter.
   */
  crash(options: { readonly rng?: Prng | undefined; readonly tornWriteProbability?: number | undefined } = {}): void {
    let kept = 0;
    const p = options.tornWriteProbability ?? 0;
    if (options.rng !== undefined && p > 0 && this.pending.length > 0 && options.rng.chance(p)) {
      kept = options.rng.int(1, this.pending.length);
    }
    for (let i = 0; i < kept; i++) this.applyBatch(this.pending[i] as DiskBatch);
    this.stats.tornBatches += kept;
    this.stats.lostBatches += this.pending.length - kept;
    this.pending.length = 0;
    this.resetWritten();
  }

  /**
   * What a node booting from this disk recovers (P-2): the synced state only. Asserts there is
   * nothing pending — recover after `crash()`, as a real process would.
   */
  recover(): DurableState {
    assert(this.pending.length === 0, 'disk: recover with unsynced writes pending (crash first)');
    const state: DurableState = { hardState: this.hardState, snapshot: this.snapshot, entries: this.entries.slice() };
    checkDurableState(state);
    return state;
  }

  /** Index of the last durable entry (or of the snapshot when the log is empty). */
  lastIndex(): number {
    return (this.snapshot?.lastIncludedIndex ?? 0) + this.entries.length;
  }

  /** The durable hard state. */
  durableHardState(): HardState {
    return this.hardState;
  }

  private resetWritten(): void {
    this.writtenSnapshotIndex = this.snapshot?.lastIncludedIndex ?? 0;
    const last = this.entries[this.entries.length - 1];
    this.writtenLastIndex = last?.index ?? this.writtenSnapshotIndex;
  }

  private applyBatch(batch: DiskBatch): void {
    if (batch.hardState !== undefined) {
      const hs = batch.hardState;
      // M-TERM holds across restarts only if the disk never goes back in term.
      assert(hs.currentTerm >= this.hardState.currentTerm, () =>
        `disk: hard state term ${hs.currentTerm} after term ${this.hardState.currentTerm}`);
      this.hardState = hs;
    }
    if (batch.snapshot !== undefined) this.installSnapshot(batch.snapshot);
    const entries = batch.entries;
    if (entries !== undefined && entries.length > 0) {
      const base = this.snapshot?.lastIncludedIndex ?? 0;
      const first = (entries[0] as Entry).index;
      assert(first > base && first <= base + this.entries.length + 1, () =>
        `disk: entries from ${first} do not fit a log of ${base + 1}..${base + this.entries.length}`);
      this.entries.length = first - base - 1; // AE-3: delete the conflicting suffix
      for (const e of entries) this.entries.push(e);
      this.checkLog();
    }
  }

  /** IS-6/IS-7: keep the log after the snapshot if it holds the snapshot's last entry, else discard it. */
  private installSnapshot(s: Snapshot): void {
    const base = this.snapshot?.lastIncludedIndex ?? 0;
    if (s.lastIncludedIndex === base && this.snapshot !== null && this.snapshot.lastIncludedTerm === s.lastIncludedTerm) {
      this.snapshot = s; // the same point again (a resent snapshot): nothing to discard
      return;
    }
    assert(s.lastIncludedIndex >= base, () => `disk: snapshot at ${s.lastIncludedIndex} behind the durable one at ${base}`);
    const at = this.entries[s.lastIncludedIndex - base - 1];
    if (at !== undefined && at.term === s.lastIncludedTerm) {
      this.entries = this.entries.slice(s.lastIncludedIndex - base);
    } else {
      this.entries = [];
    }
    this.snapshot = s;
    this.checkLog();
  }

  private checkLog(): void {
    const first = this.entries[0];
    if (first === undefined) return;
    const base = this.snapshot?.lastIncludedIndex ?? 0;
    assert(first.index === base + 1, () => `disk: log starts at ${first.index}, right after the snapshot is ${base + 1}`);
    assert(first.term >= (this.snapshot?.lastIncludedTerm ?? 0), 'disk: first entry older than the snapshot');
    const last = this.entries[this.entries.length - 1] as Entry;
    assert(last.index === base + this.entries.length, () => `disk: log ${first.index}..${last.index} has a gap`);
  }
}

/** Entries of one write are contiguous, in order, with non-decreasing terms. */
function checkContiguous(entries: readonly Entry[]): void {
  let previous: Entry | undefined;
  for (const e of entries) {
    assert(Number.isInteger(e.index) && e.index >= 1, () => `disk: entry index ${e.index}`);
    if (previous !== undefined) {
      assert(e.index === previous.index + 1, () => `disk: entries ${previous?.index} and ${e.index} are not contiguous`);
      assert(e.term >= previous.term, () => `disk: entry ${e.index} has term ${e.term} after term ${previous?.term}`);
    }
    previous = e;
  }
}

/** The recovery-side check: what a node boots from is well-formed. */
export function checkDurableState(state: DurableState): void {
  const base = state.snapshot?.lastIncludedIndex ?? 0;
  const baseTerm = state.snapshot?.lastIncludedTerm ?? 0;
  assert(state.hardState.currentTerm >= 0 && state.hardState.commitIndex >= 0, 'durable state: negative term or commitIndex');
  checkContiguous(state.entries);
  const first = state.entries[0];
  if (first !== undefined) {
    assert(first.index === base + 1, () => `durable state: log starts at ${first.index}, expected ${base + 1}`);
    assert(first.term >= baseTerm, 'durable state: first entry older than the snapshot');
  }
}
