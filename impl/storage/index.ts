/**
 * impl/storage's public surface: the `Storage` interface, its two implementations, the typed
 * errors, and the WAL tools (analysis, inspection, repair) that `figure2 wal` drives.
 */
export type { Storage, StorageBatch } from './storage.ts';
export { MemoryStorage } from './memory-storage.ts';
export { FileStorage, DEFAULT_CACHE_BYTES, DEFAULT_KEEP_SNAPSHOTS, type FileStorageOptions, type FileStorageStats, type RecoveryReport } from './file-storage.ts';
export { StorageError, type StorageErrorKind } from './errors.ts';
export { AssertionError } from './assert.ts';
export { nodeFs, type StorageFs } from './fs-layer.ts';
export type { StepHook, StorageStep } from './steps.ts';
export { crc32c } from './crc32c.ts';
export { analyzeWal, RECOVERY_DECISIONS, type WalAnalysis, type TornTail } from './wal/recovery.ts';
export { inspectSegment, type InspectedRecord } from './wal/inspect.ts';
export { repairWal, type Discard, type RepairOutcome } from './wal/repair.ts';
export { DEFAULT_SEGMENT_BYTES } from './wal/segment.ts';
