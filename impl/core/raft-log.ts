/**
 * The core's log: a snapshot point and the entries after it, with the bookkeeping the Ready
 * contract needs — what has been handed to the host to persist (`unstableFrom`), and what the host
 * confirmed durable (`stableIndex`). Every index computation goes through `memOffset`.
 *
 * Memory stays bounded when a `LogReader` (stable storage) backs the log: only the entries from
 * `memFirst` on are held in memory — at least everything not yet durable, and at most about
 * `memoryEntriesMax` entries once they are. Older entries (a lagging follower's catch-up, a long
 * apply after a restart) are read back from storage, which holds them because they are durable.
 * Without a reader, every entry after the snapshot stays in memory.
 *
 * Invariant: the in-memory entries are contiguous: mem[k].index === memFirst + k.
 * Invariant: snapshotIndex + 1 ≤ memFirst ≤ stableIndex + 1 (below memFirst: durable, in storage).
 * Invariant: snapshotIndex ≤ stableIndex ≤ lastIndex, and unstableFrom ≤ lastIndex + 1.
 * Terms never decrease along the log.
 */
import { assert } from './assert.ts';
import type { LogReader } from './storage.ts';
import type { Entry } from './types.ts';

export interface RaftLogInit {
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  /** The entries after the snapshot, when there is no `storage` (all held in memory). */
  readonly entries?: readonly Entry[] | undefined;
  /** Stable storage holding the durable log after the snapshot; the log then starts with nothing in memory. */
  readonly storage?: LogReader | undefined;
  /** With `storage`: how many durable entries to keep in memory (default 4096). */
  readonly memoryEntriesMax?: number | undefined;
}

export const DEFAULT_MEMORY_ENTRIES_MAX = 4096;

export class RaftLog {
  snapshotIndex: number;
  snapshotTerm: number;
  /** Highest index the host confirmed durable (P-1: the leader counts itself only up to here). */
  stableIndex: number;
  /** First index not yet handed to the host in a Ready. */
  unstableFrom: number;
  /** Index of mem[0]. */
  private memFirst: number;
  private mem: Entry[];
  private readonly storage: LogReader | undefined;
  private readonly memoryEntriesMax: number;

  constructor(init: RaftLogInit) {
    this.snapshotIndex = init.snapshotIndex;
    this.snapshotTerm = init.snapshotTerm;
    this.storage = init.storage;
    this.memoryEntriesMax = Math.max(1, init.memoryEntriesMax ?? DEFAULT_MEMORY_ENTRIES_MAX);
    if (init.storage !== undefined) {
      assert(init.entries === undefined || init.entries.length === 0, 'a log backed by storage reads its entries from it');
      assert(init.storage.firstIndex() === init.snapshotIndex + 1, () => `storage starts at ${init.storage?.firstIndex()}, the snapshot ends at ${init.snapshotIndex}`);
      this.mem = [];
      this.memFirst = init.storage.lastIndex() + 1;
    } else {
      this.mem = [...(init.entries ?? [])];
      this.memFirst = init.snapshotIndex + 1;
    }
    this.stableIndex = this.lastIndex();
    this.unstableFrom = this.lastIndex() + 1;
    this.checkInvariants();
  }

  lastIndex(): number {
    return this.memFirst + this.mem.length - 1;
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) as number;
  }

  /** Entries held in memory (diagnostics and tests of the memory bound). */
  get memoryEntries(): number {
    return this.mem.length;
  }

  /** The entry at `index`, or undefined past the end or inside the snapshot. */
  entry(index: number): Entry | undefined {
    if (index <= this.snapshotIndex || index > this.lastIndex()) return undefined;
    if (index >= this.memFirst) return this.mem[index - this.memFirst];
    return this.fromStorage(index, index + 1)[0];
  }

  /** The term at `index`; undefined when unknown (compacted below the snapshot point, or past the end). */
  term(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    if (index === 0) return 0;
    if (index < this.snapshotIndex || index > this.lastIndex()) return undefined;
    if (index >= this.memFirst) return this.mem[index - this.memFirst]?.term;
    const term = (this.storage as LogReader).term(index);
    assert(term !== undefined, () => `storage has no term at ${index}, below the in-memory log at ${this.memFirst}`);
    return term;
  }

  /** AE-2: the log holds `index` with `term`; a prefix inside the snapshot is committed and matches. */
  matches(index: number, term: number): boolean {
    if (index < this.snapshotIndex) return true;
    return this.term(index) === term;
  }

  /**
   * Entries in [from, to], both included, that the log holds (not compacted). With `maxBytes`, stops
   * early — after at least one entry — once about that many bytes of `data` are taken.
   */
  slice(from: number, to: number, maxBytes = Infinity): Entry[] {
    const lo = Math.max(from, this.snapshotIndex + 1);
    const hi = Math.min(to, this.lastIndex());
    if (lo > hi) return [];
    const out: Entry[] = lo < this.memFirst ? [...this.fromStorage(lo, Math.min(hi + 1, this.memFirst), maxBytes)] : [];
    let bytes = 0;
    for (const e of out) bytes += e.data.length;
    if (out.length > 0 && (out[out.length - 1] as Entry).index < Math.min(hi, this.memFirst - 1)) return out; // maxBytes reached in storage
    for (let index = Math.max(lo, this.memFirst); index <= hi; index++) {
      const e = this.mem[index - this.memFirst] as Entry;
      if (out.length > 0 && bytes + e.data.length > maxBytes) break;
      bytes += e.data.length;
      out.push(e);
    }
    return out;
  }

  append(entry: Entry): void {
    assert(entry.index === this.lastIndex() + 1, () => `append of index ${entry.index} after ${this.lastIndex()}`);
    assert(entry.term >= this.lastTerm(), () => `append of term ${entry.term} after term ${this.lastTerm()}`);
    this.mem.push(entry);
  }

  /** AE-3: delete the entry at `from` and all that follow it. */
  truncateFrom(from: number): void {
    assert(from > this.snapshotIndex && from <= this.lastIndex(), () => `truncate from ${from} outside (${this.snapshotIndex}, ${this.lastIndex()}]`);
    if (from <= this.memFirst) {
      // The deleted suffix reaches into storage: the log now ends at from − 1, read from storage.
      this.mem = [];
      this.memFirst = from;
    } else {
      this.mem.length = from - this.memFirst;
    }
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
      if (index >= this.memFirst) {
        this.mem = this.mem.slice(index + 1 - this.memFirst);
        this.memFirst = index + 1;
      }
      this.stableIndex = Math.max(this.stableIndex, index);
      this.unstableFrom = Math.max(this.unstableFrom, index + 1);
    } else {
      // IS-7: nothing of the old log survives; the snapshot is the whole log, persisted with the Ready that carries it.
      this.mem = [];
      this.memFirst = index + 1;
      this.stableIndex = index;
      this.unstableFrom = index + 1;
    }
    this.snapshotIndex = index;
    this.snapshotTerm = term;
    this.checkInvariants();
  }

  /**
   * The host made the log durable up to `stableIndex`: with storage behind the log, release the
   * oldest durable entries from memory, down to `memoryEntriesMax` (in steps of a quarter more, so
   * that the copy is amortized).
   */
  release(): void {
    if (this.storage === undefined || this.mem.length <= this.memoryEntriesMax + (this.memoryEntriesMax >> 2)) return;
    const drop = Math.min(this.mem.length - this.memoryEntriesMax, this.stableIndex + 1 - this.memFirst);
    if (drop <= 0) return;
    this.mem = this.mem.slice(drop);
    this.memFirst += drop;
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
    for (let index = this.lastIndex(); index > this.snapshotIndex; index--) {
      const t = this.term(index) as number;
      if (t === term) return index;
      if (t < term) return undefined;
    }
    return this.snapshotTerm === term ? this.snapshotIndex : undefined;
  }

  checkInvariants(): void {
    const first = this.mem[0];
    assert(first === undefined || first.index === this.memFirst, () => `first in-memory entry ${first?.index} is not at ${this.memFirst}`);
    assert(this.memFirst >= this.snapshotIndex + 1 && this.memFirst <= this.stableIndex + 1, () => `in-memory log starts at ${this.memFirst}, outside [${this.snapshotIndex + 1}, ${this.stableIndex + 1}]`);
    assert(this.stableIndex >= this.snapshotIndex && this.stableIndex <= this.lastIndex(), () => `stableIndex ${this.stableIndex} outside [${this.snapshotIndex}, ${this.lastIndex()}]`);
    assert(this.unstableFrom <= this.lastIndex() + 1, () => `unstableFrom ${this.unstableFrom} past ${this.lastIndex() + 1}`);
  }

  /** Entries [lo, hi) from storage; they are durable, so storage must hold them all (up to maxBytes). */
  private fromStorage(lo: number, hi: number, maxBytes?: number): readonly Entry[] {
    const storage = this.storage;
    assert(storage !== undefined, () => `entries below ${this.memFirst} requested from a log without storage`);
    const got = storage.entries(lo, hi, maxBytes);
    assert(got.length > 0 && (got[0] as Entry).index === lo, () => `storage returned no entry at ${lo} (asked [${lo}, ${hi}))`);
    return got;
  }
}
