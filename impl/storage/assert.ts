/**
 * Assertions for the storage layer. A failed assertion is a bug — in the storage or in a host
 * breaking the `Storage` contract (a gap in the log, a snapshot behind the durable one) — never an
 * operating condition: those are `StorageError`s (errors.ts). It throws at once, with the
 * invariant in its message. (impl/core has its own; impl/storage imports only types from it.)
 */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function assert(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new AssertionError(typeof message === 'string' ? message : message());
}
