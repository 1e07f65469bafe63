/**
 * Assertions for the core. A failed assertion is a bug in the core (or a host breaking the Ready
 * contract), never an operating condition: it throws at once, with the invariant in its message.
 */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function assert(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new AssertionError(typeof message === 'string' ? message : message());
}
