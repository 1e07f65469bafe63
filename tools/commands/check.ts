/**
 * `figure2 check <files...>`: checks traces against every rule of the catalog (spec/rules.ts) and
 * reports each violation with its rule, line, node, expected vs actual state and the events that
 * led to it — then the per-rule coverage and the linearizability (CL-LIN) verdict.
 *
 * Inputs, by `--format`:
 * - `v1` (default): trace format v1 (NDJSON), read by the streaming reader. Several files are one
 *   trace, read in the order given; with `--merge` they are per-node files merged by `ts`
 *   (traces/merge.ts).
 * - `etcd`: etcd-io/raft's TLA+ trace events, translated by traces/importers/etcd.ts.
 * - `jepsen`: one Jepsen history (register or list-append), checked for linearizability only.
 *
 * Exit codes: 0 no violation; 1 a violation (or a history that is not linearizable); 2 unusable
 * input — the first input errors are printed as `FILE:LINE: PATH: MESSAGE` — or bad flags; 3 a
 * Jepsen history whose linearizability stayed undecided (the search budget ran out).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { z } from 'zod';
import { RULES } from '../../spec/rules.ts';
import { checkTrace, type CheckInput, type CheckOutcome, type InputError } from '../../traces/checker/check.ts';
import type { CheckReport, LinearizabilityResult, LocatedEvent } from '../../traces/checker/types.ts';
import { importEtcd } from '../../traces/importers/etcd.ts';
import { importJepsenStream, type JepsenImport } from '../../traces/importers/jepsen.ts';
import { checkClientHistory, checkLinearizability, DEFAULT_MAX_STEPS, listAppendModel, registerModel, toLinearizabilityResult, type HistoryOp } from '../../traces/linearizability/index.ts';
import { mergeByTs, type MergedLine } from '../../traces/merge.ts';
import { readTraceBatches, type TraceLine } from '../../traces/reader.ts';
import { errorMessage, EXIT, UsageError, type CliIo } from '../io.ts';
import { violationCount } from '../report/common.ts';
import { renderInputErrorsJson, renderJson } from '../report/json.ts';
import { renderJunit } from '../report/junit.ts';
import { renderText } from '../report/text.ts';

/** Exit 3: a Jepsen history whose linearizability could not be decided within the budget. */
export const EXIT_UNDECIDED = 3;

export const CHECK_FORMATS = ['v1', 'etcd', 'jepsen'] as const;
export const LIN_MODELS = ['kv', 'register', 'list-append'] as const;

/** Flags as commander hands them over, validated here — Zod at the gateway. */
const CheckFlags = z.object({
  format: z.enum(CHECK_FORMATS),
  merge: z.boolean().optional(),
  json: z.boolean().optional(),
  junit: z.string().min(1).optional(),
  maxViolations: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
  model: z.enum(LIN_MODELS).optional(),
  budget: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
  context: z.coerce.number().int().min(0).max(64).optional(),
});
export type CheckFlags = z.infer<typeof CheckFlags>;

const FLAG_EXPECTATIONS: Readonly<Record<string, string>> = {
  format: 'one of v1, etcd, jepsen',
  junit: 'a file path',
  maxViolations: 'an integer ≥ 1',
  model: 'one of kv, register, list-append',
  budget: 'an integer ≥ 1 (linearizability search steps)',
  context: 'an integer from 0 to 64',
};
const FLAG_NAMES: Readonly<Record<string, string>> = { maxViolations: 'max-violations' };

/** Input errors printed before the rest is summarized as a count. */
const INPUT_ERRORS_SHOWN = 20;

/** What a run may take from outside besides the io: the clock for the report's duration. */
export interface CheckDeps {
  /** Milliseconds, for the duration only (default performance.now). */
  readonly now?: () => number;
}

export function registerCheck(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('check')
    .description('check traces against every Figure 2 rule: violations with rule, line, node, expected vs actual and context; per-rule coverage; linearizability')
    .argument('<file...>', "trace files ('-' for standard input)")
    .option('--format <format>', 'input format: v1 (trace format v1), etcd (etcd-io/raft trace events), jepsen (a Jepsen history: linearizability only)', 'v1')
    .option('--merge', 'the files are per-node traces of one run: merge them by ts')
    .option('--json', 'print the report as JSON')
    .option('--junit <file>', 'also write the report as JUnit XML (one test case per rule) to FILE')
    .option('--max-violations <n>', 'list at most N violations (the check still runs to the end; the coverage counts all)', positiveInteger('--max-violations'))
    .option('--model <model>', 'linearizability model: kv (v1 and etcd traces), register or list-append (Jepsen; detected when absent)')
    .option('--budget <n>', `linearizability search budget in model steps (default ${DEFAULT_MAX_STEPS}); undecided when it runs out`, positiveInteger('--budget'))
    .option('--context <n>', 'events of context shown per violation (default 6)', positiveInteger('--context', 0))
    .action(async (files: string[], opts: Record<string, unknown>) => setExit(await runCheck(files, opts, io)));
}

/** Checks `files` and reports; returns the exit code (see the file comment). */
export async function runCheck(files: readonly string[], rawFlags: Record<string, unknown>, io: CliIo, deps: CheckDeps = {}): Promise<number> {
  const flags = parseFlags(rawFlags);
  if (files.length === 0) throw new UsageError('check: no trace file given');
  const now = deps.now ?? (() => performance.now());
  const format = flags.format;
  if (format === 'jepsen') return runJepsen(files, flags, io, now);
  if (flags.model !== undefined && flags.model !== 'kv') {
    throw new UsageError(`check: --model ${flags.model} applies to --format jepsen; the client events of ${format} traces are key-value operations (--model kv)`);
  }
  if (flags.merge === true && files.length < 2) throw new UsageError('check: --merge merges several per-node files; got one');
  if (files.includes('-') && flags.merge === true) throw new UsageError("check: --merge reads files, not standard input ('-')");

  const sources = files.map((file) => ({ file, lines: guarded(file, openLines(file, format, io)) }));
  const historyErrors: InputError[] = [];
  let outcome: CheckOutcome;
  try {
    const inputs = flags.merge === true ? await runsOf(mergeByTs(sources)) : sources;
    outcome = await checkTrace(
      inputs,
      {
        maxViolations: flags.maxViolations,
        contextEvents: flags.context,
        linearizability: { model: 'kv', ...(flags.budget === undefined ? {} : { budgetSteps: flags.budget }) },
        linearizabilityChecker: (events, options) => {
          const checked = checkClientHistory(events, options.budgetSteps === undefined ? {} : { maxSteps: options.budgetSteps });
          for (const e of checked.errors) historyErrors.push({ file: e.file, line: e.line, path: '$', message: e.message });
          return checked.result;
        },
      },
      now,
    );
  } catch (err) {
    if (err instanceof FileReadError) throw new UsageError(`cannot read ${err.file}: ${errorMessage(err.cause)}`);
    throw err;
  }
  if (outcome.kind === 'input-errors') return reportInputErrors(outcome.errors, flags, io);
  // A client history that does not pair up (an ok without its invoke …) is not a history: input.
  if (historyErrors.length > 0) return reportInputErrors(historyErrors, flags, io);
  return reportOutcome(outcome.report, flags, io, false);
}

function parseFlags(rawFlags: Record<string, unknown>): CheckFlags {
  const parsed = CheckFlags.safeParse({ format: 'v1', ...rawFlags });
  if (parsed.success) return parsed.data;
  const flag = String(parsed.error.issues[0]?.path[0] ?? '?');
  const expected = FLAG_EXPECTATIONS[flag] ?? 'a valid value';
  throw new UsageError(`check: --${FLAG_NAMES[flag] ?? flag} ${JSON.stringify(rawFlags[flag])}: expected ${expected}`);
}

/** A commander option parser for an integer ≥ `min` (the message names the flag). */
function positiveInteger(flag: string, min = 1): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${flag} takes an integer ≥ ${min}, got "${value}"`);
    }
    return n;
  };
}

// ---------------------------------------------------------------------------------------------
// Reading

/** One file's lines, in batches: the v1 reader, or the etcd importer (which yields line by line). */
function openLines(file: string, format: 'v1' | 'etcd', io: CliIo): AsyncIterable<readonly TraceLine[]> {
  if (format === 'v1') return readTraceBatches(io.openRead(file));
  return batched(importEtcd(io.openRead(file), { file }));
}

const BATCH_LINES = 512;

/** Groups an iterable of lines into batches (fewer awaits for the consumer). */
async function* batched(lines: AsyncIterable<TraceLine>): AsyncGenerator<readonly TraceLine[]> {
  let batch: TraceLine[] = [];
  for await (const line of lines) {
    batch.push(line);
    if (batch.length >= BATCH_LINES) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** A file that could not be read (missing, a directory, no permission): bad input, not a bug. */
class FileReadError extends Error {
  override readonly name = 'FileReadError';
  constructor(
    readonly file: string,
    override readonly cause: unknown,
  ) {
    super(`cannot read ${file}: ${errorMessage(cause)}`);
  }
}

/** Tags a failure of reading `file` with its name (the reader never throws for bad content). */
async function* guarded<T>(file: string, source: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* source;
  } catch (err) {
    if (err instanceof FileReadError) throw err;
    throw new FileReadError(file, err);
  }
}

/**
 * The merged trace as check inputs. checkTrace locates every event by its input's `file`, and a
 * merged trace interleaves files — so each maximal run of consecutive lines from one file becomes
 * one input, created as the merge reaches it. checkTrace walks `inputs` with a plain array
 * iteration, which sees elements appended while it runs; consumed inputs are replaced by one
 * shared placeholder, so memory grows by one array slot per run, not by the trace.
 */
async function runsOf(merged: AsyncIterable<readonly MergedLine[]>): Promise<CheckInput[]> {
  const iterator = merged[Symbol.asyncIterator]();
  const inputs: CheckInput[] = [];
  const consumed: CheckInput = { file: '', lines: emptyLines() };
  let carry: readonly MergedLine[] = [];
  let exhausted = false;

  const nextBatch = async (): Promise<readonly MergedLine[] | undefined> => {
    if (carry.length > 0) {
      const b = carry;
      carry = [];
      return b;
    }
    if (exhausted) return undefined;
    const next = await iterator.next();
    if (next.done === true) {
      exhausted = true;
      return undefined;
    }
    return next.value;
  };

  const run = (file: string, slot: number): CheckInput => ({
    file,
    lines: (async function* () {
      for (;;) {
        const batch = await nextBatch();
        if (batch === undefined) break;
        const end = batch.findIndex((l) => l.file !== file);
        if (end === -1) {
          yield batch.map(stripFile);
          continue;
        }
        if (end > 0) yield batch.slice(0, end).map(stripFile);
        carry = batch.slice(end);
        const nextFile = (carry[0] as MergedLine).file;
        inputs.push(run(nextFile, inputs.length));
        break;
      }
      inputs[slot] = consumed;
    })(),
  });

  const first = await nextBatch();
  if (first === undefined || first.length === 0) return inputs;
  carry = first;
  inputs.push(run((first[0] as MergedLine).file, 0));
  return inputs;
}

function stripFile(l: MergedLine): TraceLine {
  return 'event' in l ? { line: l.line, event: l.event } : { line: l.line, error: l.error };
}

async function* emptyLines(): AsyncGenerator<readonly TraceLine[]> {}

// ---------------------------------------------------------------------------------------------
// Jepsen

async function runJepsen(files: readonly string[], flags: CheckFlags, io: CliIo, now: () => number): Promise<number> {
  if (files.length !== 1) throw new UsageError(`check: --format jepsen checks one history at a time (got ${files.length} files); run it once per file`);
  if (flags.merge === true) throw new UsageError('check: --merge merges per-node traces; a Jepsen history is one file');
  if (flags.model === 'kv') {
    throw new UsageError('check: --format jepsen: --model kv is for v1 client events; a Jepsen history is a register or a list-append one (detected when --model is absent)');
  }
  const file = files[0] as string;
  const started = now();
  let imported: JepsenImport;
  try {
    imported = await importJepsenStream(io.openRead(file), { file, ...(flags.model === undefined ? {} : { model: flags.model }) });
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${errorMessage(err)}`);
  }
  const errors: InputError[] = imported.errors.map((e) => ({ file: e.file, line: e.line, path: '$', message: e.message }));
  if (errors.length === 0 && imported.history === undefined) errors.push({ file, line: 1, path: '$', message: 'no operations to check' });
  if (errors.length > 0) return reportInputErrors(errors, flags, io);

  const options = flags.budget === undefined ? {} : { maxSteps: flags.budget };
  const byLine = new Map(imported.events.map((e) => [e.line, e.event]));
  const locate = <I, O>(op: HistoryOp<I, O>): LocatedEvent[] =>
    [op.line, op.retLine].flatMap((line) => {
      const event = line === undefined ? undefined : byLine.get(line);
      return line === undefined || event === undefined ? [] : [{ file, line, event }];
    });
  let linearizability: LinearizabilityResult;
  const history = imported.history;
  if (history === undefined) {
    linearizability = { verdict: 'no-history' };
  } else if (history.model === 'register') {
    linearizability = toLinearizabilityResult(checkLinearizability(history.ops, registerModel, options), registerModel, locate);
  } else {
    linearizability = toLinearizabilityResult(checkLinearizability(history.ops, listAppendModel, options), listAppendModel, locate);
  }
  const operations = imported.operations.length;
  const report: CheckReport = {
    files: [file],
    events: imported.operations.reduce((n, op) => n + (op.completion === undefined ? 1 : 2), 0),
    nodes: [],
    violations: [],
    truncated: false,
    coverage: RULES.map((rule) =>
      rule.id === 'CL-LIN'
        ? { rule: rule.id, checked: operations > 0 ? 1 : 0, violated: linearizability.verdict === 'not-linearizable' ? 1 : 0, checkable: true, needs: rule.needs }
        : { rule: rule.id, checked: 0, violated: 0, checkable: false, needs: rule.needs, reason: 'a Jepsen history holds client operations only' },
    ),
    linearizability,
    seconds: (now() - started) / 1000,
  };
  return reportOutcome(report, flags, io, true);
}

// ---------------------------------------------------------------------------------------------
// Reporting

async function reportOutcome(report: CheckReport, flags: CheckFlags, io: CliIo, jepsen: boolean): Promise<number> {
  if (flags.junit !== undefined) {
    try {
      await io.writeFile(flags.junit, renderJunit(report));
    } catch (err) {
      throw new UsageError(`cannot write ${flags.junit}: ${errorMessage(err)}`);
    }
  }
  if (flags.json === true) {
    io.stdout(renderJson(report));
  } else {
    // A Jepsen history answers one rule: its coverage table would be 39 lines of "not checkable".
    io.stdout(renderText(report, { coverage: !jepsen }));
    if (flags.junit !== undefined) io.stdout(`JUnit report: ${flags.junit}\n`);
  }
  if (violationCount(report) > 0) return EXIT.VIOLATIONS;
  // Exit 3 is the Jepsen check's: its only question is linearizability, left open.
  if (jepsen && report.linearizability.verdict === 'unknown') return EXIT_UNDECIDED;
  return EXIT.OK;
}

/** Unusable input: the first errors as `FILE:LINE: PATH: MESSAGE` on stderr; exit 2. */
function reportInputErrors(errors: readonly InputError[], flags: CheckFlags, io: CliIo): number {
  const shown = errors.slice(0, INPUT_ERRORS_SHOWN);
  for (const e of shown) io.stderr(`${e.file}:${e.line}: ${e.path}: ${e.message}\n`);
  if (errors.length > shown.length) io.stderr(`... and ${errors.length - shown.length} more input errors\n`);
  io.stderr(`figure2 check: the input is not a usable trace (${errors.length === 1 ? '1 input error' : `${errors.length} input errors`}); nothing was checked\n`);
  if (flags.json === true) io.stdout(renderInputErrorsJson(errors));
  return EXIT.BAD_INPUT;
}
