/**
 * Assertions for the simulator. A failed assertion is a bug in the simulator or a host contract
 * broken (a disk asked to write a gap into a log): it throws at once with the invariant in its
 * message. Safety violations of the system under test are not assertions; they are reported as
 * `SimViolation`s with the seed that replays them (see cluster.ts).
 */
export class SimAssertionError extends Error {
  override readonly name = 'SimAssertionError';
}

/** Throws a SimAssertionError unless `condition`; `message` is built only on failure. */
export function assert(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new SimAssertionError(typeof message === 'string' ? message : message());
}
