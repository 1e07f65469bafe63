/**
 * What the core reads from stable storage (etcd-raft's `Storage`): the durable log, read
 * synchronously and deterministically. The core keeps only a bounded window of recent entries in
 * memory; older ones — a lagging follower's catch-up, a long commit to apply — are read back
 * through this interface. The core never writes through it: writes go through the Ready contract
 * (types.ts), and the host makes them durable before `advance`.
 *
 * Implementations live in impl/storage/ (the in-memory twin and the file WAL). The core stays free
 * of I/O: a file-backed reader does its reads, the core only calls it.
 */
import type { Entry, HardState, Snapshot } from './types.ts';

export interface LogReader {
  /** The index after the snapshot point: the first entry the log may hold (1 when there is no snapshot). */
  firstIndex(): number;
  /** The last durable index (the snapshot's index when the log after it is empty). */
  lastIndex(): number;
  /** The term of `index` for firstIndex − 1 ≤ index ≤ lastIndex (the snapshot point included); undefined outside. */
  term(index: number): number | undefined;
  /**
   * Entries in [lo, hi), with firstIndex ≤ lo ≤ hi ≤ lastIndex + 1. Stops early, after at least one
   * entry, once about `maxBytes` of `data` are returned (counted as `data.length`, as the core
   * counts maxBytesPerMessage), batching a lagging follower's catch-up.
   */
  entries(lo: number, hi: number, maxBytes?: number): readonly Entry[];
}

/** What a node recovers at boot: the hard state, the latest snapshot, and a reader for the log after it. */
export interface BootState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  readonly log: LogReader;
}
