/**
 * A bounded LRU cache of log entries, by index. FileStorage keeps the log on disk and only its
 * index in memory; the entries the core asks for most — the recent tail, a follower's catch-up
 * window — are served from here without a read.
 *
 * A Map iterates in insertion order, so re-inserting on every hit makes its first key the least
 * recently used. Eviction walks one long-lived iterator rather than asking `keys().next()` each
 * time: a Map keeps deleted slots until it rehashes, and a fresh iterator would step over all of
 * them on every eviction (quadratic: it cost 7 s of a 200,000-append run before this). A live
 * iterator sees later insertions and skips deletions, and everything behind it has been evicted,
 * so its next key is always the least recently used.
 *
 * The budget counts `data.length` plus a fixed overhead per entry (the object, the Map slot), so
 * that many tiny entries are bounded too.
 */
import type { Entry } from '../core/types.ts';
import { assert } from './assert.ts';

/** Rough bytes of an Entry object and its Map slot, beyond its data. */
const ENTRY_OVERHEAD = 96;

function cost(e: Entry): number {
  return ENTRY_OVERHEAD + e.data.length;
}

export class EntryCache {
  private readonly map = new Map<number, Entry>();
  private bytes = 0;
  /** Walks the map from its least recently used key (see above). */
  private evictor: Iterator<number> | undefined;

  constructor(private readonly maxBytes: number) {
    assert(Number.isSafeInteger(maxBytes) && maxBytes >= 0, () => `entry cache: budget ${maxBytes}`);
  }

  get size(): number {
    return this.map.size;
  }

  /** The entry at `index`, marked most recently used. */
  get(index: number): Entry | undefined {
    const e = this.map.get(index);
    if (e !== undefined) {
      this.map.delete(index);
      this.map.set(index, e);
    }
    return e;
  }

  has(index: number): boolean {
    return this.map.has(index);
  }

  set(entry: Entry): void {
    const old = this.map.get(entry.index);
    if (old !== undefined) {
      this.map.delete(entry.index);
      this.bytes -= cost(old);
    }
    if (cost(entry) > this.maxBytes) return;
    this.map.set(entry.index, entry);
    this.bytes += cost(entry);
    while (this.bytes > this.maxBytes) {
      const oldest = this.oldest();
      if (oldest === undefined) break;
      this.remove(oldest);
    }
  }

  private oldest(): number | undefined {
    for (let attempt = 0; attempt < 2; attempt++) {
      this.evictor ??= this.map.keys();
      const next = this.evictor.next();
      if (next.done !== true) return next.value;
      // Exhausted: whatever is left was inserted behind it; start over from the front once.
      this.evictor = undefined;
    }
    return undefined;
  }

  /** Forgets every entry with an index ≥ `index` (a truncated suffix). */
  deleteFrom(index: number): void {
    for (const key of [...this.map.keys()]) if (key >= index) this.remove(key);
  }

  /** Forgets every entry with an index ≤ `index` (compacted away). */
  deleteThrough(index: number): void {
    for (const key of [...this.map.keys()]) if (key <= index) this.remove(key);
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
    this.evictor = undefined;
  }

  private remove(index: number): void {
    const e = this.map.get(index);
    if (e === undefined) return;
    this.map.delete(index);
    this.bytes -= cost(e);
  }
}
