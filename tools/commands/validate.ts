/**
 * `figure2 validate <file...>`: checks that files are well-formed trace format v1, line by line,
 * without checking any Raft rule (that is `figure2 check`). It streams, so a trace of any length
 * validates in constant memory.
 *
 * Errors go to stderr as `FILE:LINE: PATH: MESSAGE` (the compiler convention, so editors and CI
 * annotate them); the per-file summary goes to stdout. An invalid line is bad input: exit 2.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { TRACE_EVENT_KINDS, type TraceEventKind } from '../../spec/schemas/index.ts';
import { DEFAULT_MAX_LINE_BYTES, readTraceBatches } from '../../traces/reader.ts';
import { errorMessage, EXIT, type CliIo } from '../io.ts';

export interface ValidateOptions {
  readonly json?: boolean;
  /** Errors reported per file; the rest are counted. */
  readonly maxErrors?: number;
  readonly maxLineBytes?: number;
}

/** One reported problem (`line` 1-based). */
export interface ValidateError {
  readonly line: number;
  readonly path: string;
  readonly message: string;
}

/** The result for one file, as `--json` prints it. */
export interface FileReport {
  readonly file: string;
  /** Valid events read. */
  events: number;
  /** Valid events per `ev`, in the format's order of event kinds. */
  byKind: Partial<Record<TraceEventKind, number>>;
  /** The first `maxErrors` problems. */
  errors: ValidateError[];
  /** All problems, including those not listed. */
  errorCount: number;
  /** Set when the file could not be read at all (then `errors` is empty). */
  readError?: string;
}

/** `--json` output. */
export interface ValidateReport {
  readonly files: FileReport[];
  readonly ok: boolean;
}

export const DEFAULT_MAX_ERRORS = 20;

/** Adds the `validate` command to `program`; its exit code goes to `setExit`. */
export function registerValidate(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('validate')
    .description('check that trace files are valid trace format v1 (schema only; no Raft rules)')
    .argument('<file...>', "NDJSON trace files ('-' for standard input)")
    .option('--json', 'print a JSON report on stdout')
    .option('--max-errors <n>', 'report at most N errors per file, then count the rest', parseCount('--max-errors', 0), DEFAULT_MAX_ERRORS)
    .option('--max-line-bytes <n>', 'reject lines longer than N bytes', parseCount('--max-line-bytes', 1), DEFAULT_MAX_LINE_BYTES)
    .action(async (files: string[], opts: ValidateOptions) => setExit(await runValidate(files, opts, io)));
}

/** Validates `files` in order; exit 0 when every line of every file is a valid event, else 2. */
export async function runValidate(files: readonly string[], opts: ValidateOptions, io: CliIo): Promise<number> {
  const maxErrors = opts.maxErrors ?? DEFAULT_MAX_ERRORS;
  const reports: FileReport[] = [];
  for (const file of files) {
    const report = await validateFile(file, io, maxErrors, opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    reports.push(report);
    if (opts.json !== true) printReport(report, io);
  }
  const ok = reports.every((r) => r.errorCount === 0 && r.readError === undefined);
  if (opts.json === true) {
    const out: ValidateReport = { files: reports, ok };
    io.stdout(`${JSON.stringify(out, null, 2)}\n`);
  }
  return ok ? EXIT.OK : EXIT.BAD_INPUT;
}

/** Reads one file through the trace reader, keeping counts and the first `maxErrors` errors. */
export async function validateFile(file: string, io: CliIo, maxErrors: number, maxLineBytes: number): Promise<FileReport> {
  const report: FileReport = { file, events: 0, byKind: {}, errors: [], errorCount: 0 };
  const counts = new Map<TraceEventKind, number>();
  try {
    for await (const batch of readTraceBatches(io.openRead(file), { maxLineBytes })) {
      for (const item of batch) {
        if ('event' in item) {
          report.events++;
          counts.set(item.event.ev, (counts.get(item.event.ev) ?? 0) + 1);
        } else {
          report.errorCount++;
          if (report.errors.length < maxErrors) report.errors.push({ line: item.line, ...item.error });
        }
      }
    }
  } catch (err) {
    // The reader never throws for bad content; what reaches here is the file system (ENOENT,
    // EACCES, EISDIR, a read failing midway).
    report.readError = `cannot read ${file}: ${errorMessage(err)}`;
  }
  for (const kind of TRACE_EVENT_KINDS) {
    const n = counts.get(kind);
    if (n !== undefined) report.byKind[kind] = n;
  }
  return report;
}

function printReport(report: FileReport, io: CliIo): void {
  if (report.readError !== undefined) {
    io.stderr(`${report.readError}\n`);
    return;
  }
  for (const e of report.errors) io.stderr(`${report.file}:${e.line}: ${e.path}: ${e.message}\n`);
  const more = report.errorCount - report.errors.length;
  if (more > 0) io.stderr(`${report.file}: ... and ${more} more error${more === 1 ? '' : 's'}\n`);
  const kinds = Object.entries(report.byKind).map(([kind, n]) => `${kind} ${n}`).join(', ');
  const events = `${report.events} valid event${report.events === 1 ? '' : 's'}${kinds === '' ? '' : ` (${kinds})`}`;
  io.stdout(
    report.errorCount === 0
      ? `${report.file}: ok, ${events}\n`
      : `${report.file}: INVALID, ${report.errorCount} error${report.errorCount === 1 ? '' : 's'}; ${events}\n`,
  );
}

/** A commander option parser for a non-negative (or ≥ `min`) integer. */
function parseCount(flag: string, min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${flag} takes an integer ≥ ${min}, got "${value}"`);
    }
    return n;
  };
}
