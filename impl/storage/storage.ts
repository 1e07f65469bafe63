/**
 * The one `Storage` interface the host uses for the core's durable state (P-1, P-2), with two
 * implementations: `MemoryStorage` (the in-memory twin, for the simulator and tests) and
 * `FileStorage` (segmented WAL with CRC-32C and group commit, snapshot files). The same contract
 * tests (test/impl/storage/contract.test.ts) run against both.
 *
 * Reads are synchronous (`LogReader`, which the core calls); writes are asynchronous and resolve
 * only once durable: a caller acknowledged by `save` may tell the world (vote, ack an entry).
 *
 * Two kinds of failure, kept apart:
 *   - a batch or compaction that breaks the log's invariants (a gap, a term going down, a
 *     snapshot behind the one in force) is a host bug: `save`/`compact` throw an AssertionError
 *     synchronously, before anything is written;
 *   - the disk failing (ENOSPC, EIO, …) rejects the promise with a `StorageError`, and every
 *     later write is refused (kind 'failed'): after a failed write or fsync the file's state is
 *     unknown, so the host must stop and reopen, and recovery decides what survived.
 */
import type { LogReader } from '../core/storage.ts';
import type { Entry, HardState, Snapshot } from '../core/types.ts';

/** One Ready's writes, applied atomically in this order: snapshot, then entries, then hard state. */
export interface StorageBatch {
  readonly hardState?: HardState | undefined;
  /** A snapshot received from the leader (IS-6/IS-7): entries it covers are discarded; a suffix after it that the batch's entries or the log still hold is kept. */
  readonly snapshot?: Snapshot | undefined;
  /** Overwrite the log from `entries[0].index` on (AE-3: the suffix from there is deleted first). */
  readonly entries?: readonly Entry[] | undefined;
}

export interface Storage extends LogReader {
  hardState(): HardState;
  snapshot(): Snapshot | null;
  /**
   * Makes `batch` durable. Resolves only after its bytes are synced; concurrent calls are
   * group-committed (one write and one sync for all that queued) and resolve in call order.
   * Reads see a batch's effect as soon as `save` is called (the core already holds it). An empty
   * batch resolves once every save before it has.
   */
  save(batch: StorageBatch): Promise<void>;
  /**
   * Local compaction (§7, SN-1): durably records `snapshot` (taken by the host at an applied
   * index the log holds, with that entry's term), then releases the entries it covers (deleting
   * wholly covered WAL segments). Entries after the snapshot stay. A snapshot at the point
   * already in force does nothing (and resolves in order with earlier saves).
   */
  compact(snapshot: Snapshot): Promise<void>;
  /** Waits for queued saves to settle, then releases files; later saves are refused (kind 'closed'). */
  close(): Promise<void>;
}
