/**
 * The I/O seam of the figure2 CLI. Every command takes a `CliIo` instead of touching `process`,
 * so tests run commands in-process with a fake and assert on exactly what was written, and only
 * tools/cli.ts (when it is the main module) or bin/figure2.js binds it to the real process.
 */
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';

/** Everything a command may do to the outside world. */
export interface CliIo {
  /** Writes to standard output (text is written as given; callers add newlines). */
  stdout(text: string): void;
  /** Writes to standard error. */
  stderr(text: string): void;
  /**
   * Opens a file as a byte stream (`-`: standard input); a missing file surfaces as an error when
   * the stream is read.
   */
  openRead(path: string): Readable;
  /** Writes a whole file (for `--out`). */
  writeFile(path: string, data: string): Promise<void>;
  /**
   * Where progress bars draw (standard error); a bar is drawn only when its `isTTY` is true, else
   * commands print plain progress lines through `stderr`.
   */
  readonly progressStream?: NodeJS.WritableStream & { readonly isTTY?: boolean };
  /** When true, internal errors also print their stack (FIGURE2_DEBUG=1). */
  readonly debug?: boolean;
}

/** The design's exit codes (../shared/design/README.md). */
export const EXIT = Object.freeze({ OK: 0, VIOLATIONS: 1, BAD_INPUT: 2 } as const);

/**
 * Bad input or usage: the CLI prints the message as one line and exits 2. Anything else thrown
 * is an internal error (a bug), reported as such.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The real process's I/O. */
export function nodeIo(): CliIo {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    // `-` is standard input, so traces can be piped in (`my-impl | figure2 validate -`).
    openRead: (path) => (path === '-' ? process.stdin : createReadStream(path)),
    writeFile: (path, data) => writeFile(path, data, 'utf8'),
    progressStream: process.stderr,
    debug: process.env['FIGURE2_DEBUG'] !== undefined && process.env['FIGURE2_DEBUG'] !== '',
  };
}

/**
 * Writes a command's document to `--out FILE` (then confirms on stdout) or to stdout. A write
 * failure is bad input (a path the user gave), so it becomes a UsageError, not a crash.
 */
export async function emit(io: CliIo, text: string, out: string | undefined): Promise<void> {
  const body = text.endsWith('\n') ? text : `${text}\n`;
  if (out === undefined) {
    io.stdout(body);
    return;
  }
  try {
    await io.writeFile(out, body);
  } catch (err) {
    throw new UsageError(`cannot write ${out}: ${errorMessage(err)}`);
  }
  io.stdout(`wrote ${out} (${Buffer.byteLength(body, 'utf8')} bytes)\n`);
}

/** An error's message without its stack, for one-line reports. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** A `CliIo` that records everything, for running commands in-process (tests, embedding). */
export interface MemoryIo extends CliIo {
  /** Everything written to stdout, concatenated. */
  readonly out: () => string;
  /** Everything written to stderr, concatenated. */
  readonly err: () => string;
  /** Files written with `writeFile`, by path. */
  readonly written: Map<string, string>;
}

/**
 * An in-memory `CliIo`. `files` are served from memory by `openRead` (as one chunk, or split into
 * `chunkSize`-byte chunks to exercise line splitting); other paths are read from disk.
 */
export function memoryIo(files: Readonly<Record<string, string | Uint8Array>> = {}, chunkSize?: number, options: { readonly tty?: boolean } = {}): MemoryIo {
  let out = '';
  let err = '';
  const written = new Map<string, string>();
  // A terminal stand-in: what a progress bar draws lands in `err`, escape codes and all.
  const terminal = Object.assign(
    new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        err += chunk.toString();
        done();
      },
    }),
    { isTTY: options.tty === true, columns: 100 },
  );
  return {
    progressStream: terminal,
    stdout: (text) => {
      out += text;
    },
    stderr: (text) => {
      err += text;
    },
    openRead: (path) => {
      const content = files[path];
      if (content === undefined) return createReadStream(path);
      const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
      const chunks: Buffer[] = [];
      const size = chunkSize ?? Math.max(1, bytes.length);
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      return Readable.from(chunks);
    },
    writeFile: async (path, data) => {
      written.set(path, data);
    },
    out: () => out,
    err: () => err,
    written,
  };
}
