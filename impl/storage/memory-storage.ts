/**
 * The in-memory twin of FileStorage: the same contract (log-plan.ts decides what every batch
 * does, for both), with nothing on disk, so `save` is durable as soon as it is called and
 * resolves at once. For the simulator, tests, and hosts that do not need durability.
 */
import type { DurableState, Entry, HardState, Snapshot } from '../core/types.ts';
import { assert } from './assert.ts';
import { StorageError } from './errors.ts';
import { checkRange, fitsBudget, isEmptyPlan, planBatch, planCompaction, type BatchPlan, type LogShape } from './log-plan.ts';
import type { Storage, StorageBatch } from './storage.ts';
import { EMPTY_HARD_STATE } from './wal/recovery.ts';

export class MemoryStorage implements Storage {
  private hard: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot | null = null;
  /** The entries after the snapshot: log[k].index === snapshotIndex + 1 + k. */
  private log: Entry[] = [];
  private closed = false;

  /** Storage holding `initial` (a fresh one is empty). */
  constructor(initial?: DurableState) {
    if (initial === undefined) return;
    this.hard = initial.hardState;
    this.snap = initial.snapshot;
    const plan = planBatch(this.shape(), { entries: initial.entries });
    this.apply(plan);
  }

  private get snapshotIndex(): number {
    return this.snap?.lastIncludedIndex ?? 0;
  }

  firstIndex(): number {
    return this.snapshotIndex + 1;
  }

  lastIndex(): number {
    return this.snapshotIndex + this.log.length;
  }

  term(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snap?.lastIncludedTerm ?? 0;
    return this.log[index - this.snapshotIndex - 1]?.term;
  }

  entries(lo: number, hi: number, maxBytes = Number.POSITIVE_INFINITY): readonly Entry[] {
    checkRange(lo, hi, this.firstIndex(), this.lastIndex());
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.log[i - this.snapshotIndex - 1] as Entry;
      if (!fitsBudget(out.length, bytes, e, maxBytes)) break;
      out.push(e);
      bytes += e.data.length;
    }
    return out;
  }

  hardState(): HardState {
    return this.hard;
  }

  snapshot(): Snapshot | null {
    return this.snap;
  }

  save(batch: StorageBatch): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    const plan = planBatch(this.shape(), batch);
    if (!isEmptyPlan(plan)) this.apply(plan);
    return Promise.resolve();
  }

  compact(snapshot: Snapshot): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    const plan = planCompaction(this.shape(), snapshot);
    if (plan !== undefined) this.apply(plan);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private shape(): LogShape {
    return { snapshotIndex: this.snapshotIndex, lastIndex: this.lastIndex(), hardState: this.hard, term: (i) => this.term(i) };
  }

  private apply(plan: BatchPlan): void {
    if (plan.snapshot !== undefined) {
      const s = plan.snapshot.snapshot;
      this.log = plan.snapshot.keepSuffix ? this.log.slice(s.lastIncludedIndex - this.snapshotIndex) : [];
      this.snap = s;
    }
    const first = plan.entries[0];
    if (first !== undefined) {
      this.log.length = first.index - this.snapshotIndex - 1;
      for (const e of plan.entries) this.log.push(e);
    }
    if (plan.hardState !== undefined) this.hard = plan.hardState;
    assert(this.log.length === 0 || this.log[0]?.index === this.snapshotIndex + 1, 'memory storage: the log does not start right after the snapshot');
  }
}

function closedError(): StorageError {
  return new StorageError({ kind: 'closed', path: '(memory)', message: 'the storage is closed' });
}
