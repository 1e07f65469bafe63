/**
 * The node process's structured logger: pino, with defaults chosen for a server whose stdout may
 * be used for other output — JSON lines on stderr, the level as a word (`"level":"warn"`, readable
 * without a lookup table), ISO timestamps, and the node's name on every line.
 *
 * The level comes from the command line (`--log-level`), a gateway: it is parsed with Zod, and an
 * unknown level is refused with the list of valid ones rather than silently defaulted.
 */
import { z } from 'zod';
import { pino, type DestinationStream, type Logger } from 'pino';

/** pino's levels, most severe first; `silent` logs nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

const LogLevelSchema = z.enum(LOG_LEVELS);

/** A `--log-level` value that is not one of {@link LOG_LEVELS}. */
export class LogLevelError extends Error {
  override readonly name = 'LogLevelError';
  constructor(readonly value: unknown) {
    super(`invalid log level ${JSON.stringify(value) ?? String(value)}; expected one of: ${LOG_LEVELS.join(', ')}`);
  }
}

/**
 * Parses a log level as typed on a command line. Case-insensitive, since `--log-level DEBUG` has
 * an obvious meaning.
 *
 * @throws LogLevelError naming the value and listing the valid levels.
 */
export function parseLogLevel(value: unknown): LogLevel {
  const parsed = LogLevelSchema.safeParse(typeof value === 'string' ? value.trim().toLowerCase() : value);
  if (!parsed.success) throw new LogLevelError(value);
  return parsed.data;
}

export interface CreateLoggerOptions {
  /** A level, parsed with {@link parseLogLevel} (so a raw `--log-level` string may be passed). Default `info`. */
  readonly level?: string | undefined;
  /** Put on every line as `name` (e.g. the node id, `n1`). */
  readonly name: string;
  /**
   * Where lines go: a stream (tests collect lines this way), a file path (appended to, created
   * with its directory), or a file descriptor. Default: stderr.
   */
  readonly destination?: DestinationStream | string | number | undefined;
}

/**
 * A pino logger with the defaults above.
 *
 * @throws LogLevelError if `level` is not a valid level.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const level = parseLogLevel(options.level ?? DEFAULT_LOG_LEVEL);
  return pino(
    {
      name: options.name,
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destinationOf(options.destination),
  );
}

/** A stream as given; a path or descriptor through pino's asynchronous writer (flushed on exit by pino). */
function destinationOf(destination: DestinationStream | string | number | undefined): DestinationStream {
  if (destination === undefined) return pino.destination({ dest: 2, sync: false });
  if (typeof destination === 'number') return pino.destination({ dest: destination, sync: false });
  if (typeof destination === 'string') return pino.destination({ dest: destination, sync: false, mkdir: true, append: true });
  return destination;
}
