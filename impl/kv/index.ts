/**
 * The replicated key-value state machine with client sessions (§8, CL-ONCE): commands as they are
 * encoded in log entries, the store that applies them, and its fingerprint.
 */
export { KvCommand, decodeCommand, encodeCommand } from './command.ts';
export { DEFAULT_MAX_SESSIONS, KvStore, type KvOutcome, type KvResult, type KvStoreOptions } from './store.ts';
export { fnv1a64 } from './digest.ts';
export { KvAssertionError, KvDecodeError, KvEncodeError, KvInputError, KvSnapshotError, type KvIssue } from './errors.ts';
