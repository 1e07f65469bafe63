/**
 * The logger the transport writes to: the subset of pino's API it uses, so that a pino logger (or
 * a child of one) can be passed as is. The transport never depends on pino itself.
 */

/** Structured context first, then a human sentence — pino's argument order. */
export type LogFn = (obj: object, msg?: string) => void;

export interface Logger {
  readonly debug: LogFn;
  readonly info: LogFn;
  readonly warn: LogFn;
  readonly error: LogFn;
}

const ignore: LogFn = () => {};

/** The default: a transport built without a logger says nothing. */
export const noopLogger: Logger = Object.freeze({ debug: ignore, info: ignore, warn: ignore, error: ignore });

/** An error's message for a log line; `unknown` because anything can be thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
