/**
 * Named steps of the multi-file operations (snapshot install and compaction, segment rotation),
 * for fault injection: a test's hook throws at a step to stand for a crash right there, then
 * reopens the directory and checks that recovery is consistent. Production code passes no hook.
 */
export type StorageStep =
  /** A snapshot's temporary file is written and fsynced, not yet renamed. */
  | 'snapshot-temp-synced'
  /** The snapshot file has its final name and the directory is fsynced; no WAL marker yet. */
  | 'snapshot-renamed'
  /** The WAL record naming the snapshot is synced: the snapshot is now the durable one. */
  | 'marker-synced'
  /** One WAL segment wholly covered by the snapshot was deleted (more may follow). */
  | 'segment-deleted'
  /** One old snapshot file beyond the K kept was deleted. */
  | 'snapshot-pruned'
  /** A new segment's temporary file is written and fsynced, not yet renamed. */
  | 'segment-temp-synced'
  /** A new segment has its final name and the directory is fsynced. */
  | 'segment-created';

/** Called after each step with the file concerned; throwing simulates a crash at that point. */
export type StepHook = (step: StorageStep, path: string) => void;
