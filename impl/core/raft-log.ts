/**
 * The core's log: a snapshot point and the entries after it, with the bookkeeping the Ready
 * contract needs — what has been handed to the host to persist (`unstableFrom`), and what the host
 * confirmed durable (`stableIndex`). Every index computation goes through `offset`.
 *
 * Invariant: entries[k].index === snapshotIndex + 1 + k; terms never decrease along the log.
 * Invariant: snapshotIndex ≤ stableIndex ≤ lastIndex, and unstableFrom ≤ lastIndex + 1.
 */
import { assert } from './assert.ts';
import type { Entry } from './types.ts';

export class RaftLog {
  snapshotIndex: number;
  snapshotTerm: number;
  entries: Entry[];
  /** Highest index the host confirmed durable (P-1: the leader counts itself only up to here). */
  stableIndex: number;
  /** First index not yet handed to the host in a Ready. */
  unstableFrom: number;

  constructor(init: { snapshotIndex: number; snapshotTerm: number; entries: readonly Entry[] }) {
    this.snapshotIndex = init.snapshotIndex;
    this.snapshotTerm = init.snapshotTerm;
    this.entries = [...init.entries];
    this.stableIndex = this.lastIndex();
    this.unstableFrom = this.lastIndex() + 1;
    this.checkInvariants();
  }

  lastIndex(): number {
    return this.snapshotIndex + this.entries.length;
  }

  lastTerm(): number {
    const last = this.entries[this.entries.length - 1];
    return last === undefined ? this.snapshotTerm : last.term;
  }

  /** The entry at `index`, or undefined past the end or inside the snapshot. */
  entry(index: number): Entry | undefined {
    return this.entries[index - this.snapshotIndex - 1];
  }

  /** The term at `index`; undefined when unknown (compacted below the snapshot point, or past the end). */
  term(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    if (index === 0) return 0;
    return this.entry(index)?.term;
  }

  /** AE-2: the log holds `index` with `term`; a prefix inside the snapshot is committed and matches. */
  matches(index: number, term: number): boolean {
    if (index < this.snapshotIndex) return true;
    return this.term(index) === term;
  }

  /** Entries in [from, to], both included, that the log holds (not compacted). */
  slice(from: number, to: number): Entry[] {
    const lo = Math.max(from, this.snapshotIndex + 1) - this.snapshotIndex - 1;
    const hi = Math.min(to, this.lastIndex()) - this.snapshotIndex;
    return lo >= hi ? [] : this.entries.slice(lo, hi);
  }

  append(entry: Entry): void {
    assert(entry.index === this.lastIndex() + 1, () => `append of index ${entry.index} after ${this.lastIndex()}`);
    assert(entry.term >= this.lastTerm(), () => `append of term ${entry.term} after term ${this.lastTerm()}`);
    this.entries.push(entry);
  }

  /** AE-3: delete the entry at `from` and all that follow it. */
  truncateFrom(from: number): void {
    assert(from > this.snapshotIndex && from <= this.lastIndex(), () => `truncate from ${from} outside (${this.snapshotIndex}, ${this.lastIndex()}]`);
    this.entries.length = from - this.snapshotIndex - 1;
    this.stableIndex = Math.min(this.stableIndex, from - 1);
    this.unstableFrom = Math.min(this.unstableFrom, from);
  }

  /**
   * Replace the prefix up to `index` by a snapshot point. `keepSuffix` keeps the entries after it
   * (local compaction, IS-6); otherwise the whole log is discarded (IS-7).
   */
  compactTo(index: number, term: number, keepSuffix: boolean): void {
    assert(index > this.snapshotIndex, () => `compaction to ${index} is not past the snapshot at ${this.snapshotIndex}`);
    if (keepSuffix) {
      assert(index <= this.lastIndex(), () => `compaction keeping the suffix to ${index}, past the last index ${this.lastIndex()}`);
      this.entries = this.entries.slice(index - this.snapshotIndex);
      this.stableIndex = Math.max(this.stableIndex, index);
      this.unstableFrom = Math.max(this.unstableFrom, index + 1);
    } else {
      // IS-7: nothing of the old log survives; the snapshot is the whole log, persisted with the Ready that carries it.
      this.entries = [];
      this.stableIndex = index;
      this.unstableFrom = index + 1;
    }
    this.snapshotIndex = index;
    this.snapshotTerm = term;
    this.checkInvariants();
  }

  /**
   * Students' Guide fast backtracking: the first index of the run of entries whose term is the
   * term at `index` (never inside the snapshot).
   */
  firstIndexOfTermAt(index: number): number {
    const term = this.term(index);
    let first = index;
    while (first - 1 > this.snapshotIndex && this.term(first - 1) === term) first--;
    return first;
  }

  /** The last index whose entry has `term`, or undefined when the log holds none. */
  lastIndexOfTerm(term: number): number | undefined {
    for (let k = this.entries.length - 1; k >= 0; k--) {
      const e = this.entries[k] as Entry;
      if (e.term === term) return e.index;
      if (e.term < term) return undefined;
    }
    return this.snapshotTerm === term ? this.snapshotIndex : undefined;
  }

  checkInvariants(): void {
    const first = this.entries[0];
    assert(first === undefined || first.index === this.snapshotIndex + 1, () => `first entry ${first?.index} does not follow snapshot ${this.snapshotIndex}`);
    assert(this.stableIndex >= this.snapshotIndex && this.stableIndex <= this.lastIndex(), () => `stableIndex ${this.stableIndex} outside [${this.snapshotIndex}, ${this.lastIndex()}]`);
    assert(this.unstableFrom <= this.lastIndex() + 1, () => `unstableFrom ${this.unstableFrom} past ${this.lastIndex() + 1}`);
  }
}
