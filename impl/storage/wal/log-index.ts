/**
 * Where each entry of the log lives on disk — segment, byte offset, encoded size — and its term,
 * in parallel typed arrays: 24 bytes an entry, no object per entry, so a node with millions of
 * entries keeps its log index in tens of MB while the entries themselves stay on disk (read back
 * through an LRU cache, file-storage.ts).
 *
 * Holds the contiguous range [first, last]; appends at the end, truncates the end (AE-3), drops
 * the front (compaction). The arrays are a window over a growable buffer: dropping the front
 * only moves `head`, and the buffer is compacted when the dead prefix would otherwise double it.
 */
import { assert } from '../assert.ts';

const INITIAL_CAPACITY = 1024;

export class LogIndex {
  private seqs = new Uint32Array(INITIAL_CAPACITY);
  private positions = new Float64Array(INITIAL_CAPACITY);
  private terms = new Float64Array(INITIAL_CAPACITY);
  private sizes = new Uint32Array(INITIAL_CAPACITY);
  /** Slot of `first`. */
  private head = 0;
  private count = 0;
  private start = 1;

  /** The first index held (the next to append when empty). */
  get first(): number {
    return this.start;
  }

  /** The last index held (first − 1 when empty). */
  get last(): number {
    return this.start + this.count - 1;
  }

  get length(): number {
    return this.count;
  }

  /** Empties the index; the next append is `nextIndex`. */
  reset(nextIndex: number): void {
    this.head = 0;
    this.count = 0;
    this.start = nextIndex;
  }

  append(index: number, seq: number, position: number, term: number, size: number): void {
    assert(index === this.start + this.count, () => `log index: append ${index} after ${this.last}`);
    if (this.head + this.count === this.seqs.length) this.makeRoom();
    const slot = this.head + this.count;
    this.seqs[slot] = seq;
    this.positions[slot] = position;
    this.terms[slot] = term;
    this.sizes[slot] = size;
    this.count++;
  }

  /** Deletes `index` and everything after it (AE-3). */
  truncateFrom(index: number): void {
    assert(index >= this.start, () => `log index: truncate from ${index} before the first index ${this.start}`);
    this.count = Math.min(this.count, index - this.start);
  }

  /** Deletes everything up to and including `index` (compaction). */
  dropThrough(index: number): void {
    if (index < this.start) return;
    if (index >= this.last) {
      this.reset(index + 1);
      return;
    }
    const n = index - this.start + 1;
    this.head += n;
    this.count -= n;
    this.start = index + 1;
  }

  has(index: number): boolean {
    return index >= this.start && index <= this.last;
  }

  private slot(index: number): number {
    assert(this.has(index), () => `log index: ${index} outside ${this.start}..${this.last}`);
    return this.head + index - this.start;
  }

  term(index: number): number {
    return this.terms[this.slot(index)] as number;
  }

  seq(index: number): number {
    return this.seqs[this.slot(index)] as number;
  }

  position(index: number): number {
    return this.positions[this.slot(index)] as number;
  }

  size(index: number): number {
    return this.sizes[this.slot(index)] as number;
  }

  /** Segments holding any entry of the index (for deciding which files are still needed). */
  lowestSeq(): number | undefined {
    return this.count === 0 ? undefined : (this.seqs[this.head] as number);
  }

  /** Compacts the window to the front, or doubles the buffer when it is more than half full. */
  private makeRoom(): void {
    const capacity = this.seqs.length;
    if (this.head >= capacity / 2) {
      const end = this.head + this.count;
      this.seqs.copyWithin(0, this.head, end);
      this.positions.copyWithin(0, this.head, end);
      this.terms.copyWithin(0, this.head, end);
      this.sizes.copyWithin(0, this.head, end);
      this.head = 0;
      return;
    }
    const grow = <T extends Uint32Array | Float64Array>(old: T, make: (n: number) => T): T => {
      const next = make(capacity * 2);
      next.set(old.subarray(this.head, this.head + this.count));
      return next;
    };
    this.seqs = grow(this.seqs, (n) => new Uint32Array(n));
    this.positions = grow(this.positions, (n) => new Float64Array(n));
    this.terms = grow(this.terms, (n) => new Float64Array(n));
    this.sizes = grow(this.sizes, (n) => new Uint32Array(n));
    this.head = 0;
  }
}
