/**
 * Streaming reader for trace format v1 (NDJSON, ../shared/design/trace-format.md).
 *
 * The reader turns a byte stream (or an iterable of lines) into one result per non-blank line:
 * either a validated `TraceEvent` or an input error naming the line, the JSON path and what was
 * expected. It never throws for bad input — a trace is third-party data, and both `figure2
 * validate` and the checker must report every problem as an input error, never a crash.
 *
 * Memory stays bounded by the longest accepted line (`maxLineBytes`), not by the file: lines are
 * split from raw chunks here rather than with node:readline, because readline buffers an
 * arbitrarily long line in full before handing it over — a 2 GiB line without a newline would
 * exhaust memory before any limit could be applied.
 */
import { Readable } from 'node:stream';
import type { z } from 'zod';
import { TraceEvent } from '../spec/schemas/index.ts';
import { fastTraceEvent } from './fast-validate.ts';

/** One input problem on one line: where (a JSONPath like `$.msg.entries[2].term`) and what. */
export interface LineError {
  readonly path: string;
  readonly message: string;
}

/** What the reader yields per non-blank line (a line with several problems yields several errors). */
export type TraceLine =
  | { readonly line: number; readonly event: TraceEvent }
  | { readonly line: number; readonly error: LineError };

/** 1 MiB: far above any real event, small enough that a corrupt file cannot exhaust memory. */
export const DEFAULT_MAX_LINE_BYTES = 1 << 20;

export interface ReadTraceOptions {
  /** Lines longer than this many bytes (without the line break) are reported, not parsed. */
  readonly maxLineBytes?: number;
}

/** Zod's issue type, as `safeParse` reports it. */
export type ZodIssue = z.core.$ZodIssue;

/**
 * Reads a trace, yielding `{line, event}` for every valid event and `{line, error}` for every
 * problem. Line numbers are 1-based and count blank lines, so they match an editor's.
 *
 * `source` is either a byte stream (a file's read stream; split into lines here, `\n` or `\r\n`,
 * decoded as UTF-8) or an async iterable that already yields one line per string (e.g. a
 * node:readline interface, or lines produced by a merge).
 *
 * Besides the schema, the reader enforces the one ordering rule of the format that needs no Raft
 * knowledge: a `header` event may only be the first non-blank line.
 */
export async function* readTrace(
  source: AsyncIterable<string> | Readable,
  opts: ReadTraceOptions = {},
): AsyncGenerator<TraceLine> {
  for await (const batch of readTraceBatches(source, opts)) yield* batch;
}

/**
 * The same results as `readTrace`, in batches (one per chunk read): a consumer that handles
 * hundreds of thousands of lines pays one await per chunk instead of one per line — the per-line
 * promise of an async generator cost more than validating the line.
 */
export async function* readTraceBatches(
  source: AsyncIterable<string> | Readable,
  opts: ReadTraceOptions = {},
): AsyncGenerator<readonly TraceLine[]> {
  const maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const batches = rawLineBatches(source, maxLineBytes);
  const state: { firstLine: number | undefined } = { firstLine: undefined };
  for await (const raws of batches) {
    const out: TraceLine[] = [];
    for (const raw of raws) readLine(raw, state, maxLineBytes, out);
    if (out.length > 0) yield out;
  }
}

/** One raw line to its results (none for a blank line), appended to `out`. */
function readLine(raw: RawLine, state: { firstLine: number | undefined }, maxLineBytes: number, out: TraceLine[]): void {
  if (raw.kind === 'text' && raw.text.trim() === '') return;
  const line = raw.line;
  const isFirst = state.firstLine === undefined;
  state.firstLine ??= line;
  if (raw.kind === 'too-long') {
    out.push({ line, error: { path: '$', message: `line is longer than ${maxLineBytes} bytes (--max-line-bytes); not parsed` } });
    return;
  }
  if (raw.kind === 'bad-utf8') {
    out.push({ line, error: { path: '$', message: 'not valid UTF-8 text' } });
    return;
  }
  // A UTF-8 byte order mark is legal at the start of a file and means nothing; JSON.parse rejects it.
  const text = line === 1 && raw.text.startsWith('\uFEFF') ? raw.text.slice(1) : raw.text;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    out.push({ line, error: { path: '$', message: `not valid JSON: ${shorten(jsonErrorMessage(err), 160)}` } });
    return;
  }
  if (!isFirst && isObject(value) && value['ev'] === 'header') {
    out.push({
      line,
      error: { path: '$.ev', message: `a header event is allowed only on the first non-blank line of the trace (line ${state.firstLine})` },
    });
    return;
  }
  // The fast path vouches for the common, valid events; a line spelling "__proto__" (which Zod
  // drops and a plain object would keep) and everything the fast path declines go through Zod.
  const fast = text.includes('__proto__') ? undefined : fastTraceEvent(value);
  if (fast !== undefined) {
    out.push({ line, event: fast });
    return;
  }
  const parsed = TraceEvent.safeParse(value);
  if (parsed.success) {
    out.push({ line, event: parsed.data });
    return;
  }
  // Parse a failing line again with reportInput, so that the issues carry the offending value and
  // messages can say what was found; valid lines (nearly all) do not pay for it.
  const reported = TraceEvent.safeParse(value, { reportInput: true });
  const issues = reported.success ? parsed.error.issues : reported.error.issues;
  for (const issue of issues) out.push({ line, error: formatIssue(issue, { schema: TraceEvent, value }) });
}

// ---------------------------------------------------------------------------------------------
// Issue formatting (reused by the checker for its own input errors)

/**
 * Renders a Zod issue path as a JSONPath: `["msg","entries",2,"term"]` → `$.msg.entries[2].term`.
 * Keys that are not identifiers are quoted (`$["a b"]`) so the path stays unambiguous.
 */
export function jsonPath(path: readonly PropertyKey[]): string {
  let out = '$';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(seg)) out += `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

/** Where an issue was found: the schema and value that were parsed, so wording can look at the field's schema. */
export interface IssueContext {
  readonly schema?: z.ZodType;
  readonly value?: unknown;
}

/**
 * Turns a Zod issue into a message a person can act on: `expected an integer ≥ 0, got -1`,
 * `missing required field (expected a string)`, `expected one of "election", "heartbeat", got "x"`.
 * Zod's own wording ("Invalid input: expected string, received undefined") names its internals;
 * trace authors think in fields and values. Pass `context` (the parsed schema and value) so the
 * message can tell an integer field from a number field — Zod's range issues do not say.
 */
export function formatIssue(issue: ZodIssue, context: IssueContext = {}): LineError {
  return { path: jsonPath(issue.path), message: issueMessage(issue, context) };
}

function issueMessage(issue: ZodIssue, context: IssueContext): string {
  const hasInput = 'input' in issue && issue.input !== undefined;
  const got = hasInput ? `, got ${describeValue(issue.input)}` : '';
  switch (issue.code) {
    case 'invalid_type': {
      const expected = typeName(issue.expected);
      return hasInput ? `expected ${expected}${got}` : `missing required field (expected ${expected})`;
    }
    case 'invalid_value': {
      const values = issue.values.map((v) => describeValue(v));
      const expected = values.length === 1 ? values[0] : `one of ${values.join(', ')}`;
      return hasInput ? `expected ${expected}${got}` : `missing required field (expected ${expected})`;
    }
    case 'too_small':
    case 'too_big': {
      const small = issue.code === 'too_small';
      const bound = small ? issue.minimum : issue.maximum;
      const op = small ? (issue.inclusive ? '≥' : '>') : issue.inclusive ? '≤' : '<';
      switch (issue.origin) {
        case 'number':
        case 'int':
        case 'bigint': {
          const integer = issue.origin === 'int' || issue.origin === 'bigint' || isIntegerField(context, issue.path);
          if (!small && issue.origin === 'int' && bound === Number.MAX_SAFE_INTEGER) {
            return `expected a safe integer (at most 2^53 − 1 = ${bound})${got}`;
          }
          return `expected ${integer ? 'an integer' : 'a number'} ${op} ${String(bound)}${got}`;
        }
        case 'string':
          if (small && bound === 1) return `expected a non-empty string${got}`;
          return `expected a string of ${small ? 'at least' : 'at most'} ${String(bound)} characters${got}`;
        case 'array':
        case 'set':
          return `expected ${small ? 'at least' : 'at most'} ${String(bound)} item${bound === 1 ? '' : 's'}`;
        default:
          return lowerFirst(issue.message);
      }
    }
    case 'invalid_union': {
      // Discriminated unions in spec/ supply their own clear message ("unknown event type …").
      if (issue.message !== 'Invalid input') return issue.message;
      const alternatives = issue.errors.map((branch) => (branch.length === 1 && branch[0]?.code === 'invalid_type' && branch[0].path.length === 0 ? typeName(branch[0].expected) : undefined));
      if (alternatives.length > 0 && alternatives.every((a) => a !== undefined)) {
        const expected = [...new Set(alternatives)].join(' or ');
        return hasInput ? `expected ${expected}${got}` : `missing required field (expected ${expected})`;
      }
      return `matches none of the allowed forms${got}`;
    }
    case 'invalid_format':
      return `expected a valid ${issue.format}${got}`;
    case 'not_multiple_of':
      return `expected a multiple of ${String(issue.divisor)}${got}`;
    default:
      return lowerFirst(issue.message);
  }
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  bigint: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
  record: 'an object',
  tuple: 'an array',
};

function typeName(expected: string): string {
  return TYPE_NAMES[expected] ?? expected;
}

/** A short rendering of a found value: scalars as JSON (shortened), containers by kind. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  if (typeof value === 'bigint') return value.toString();
  return shorten(JSON.stringify(value) ?? String(value), 60);
}

// Zod's range issues say "number" for z.int() fields too; the schema itself knows. This walks the
// parsed schema along the issue path (guided by the value, to pick a discriminated union's branch)
// and reports whether the field is an integer. Unknown shapes answer "no", giving "a number".
interface ZodInternals {
  _zod: { def: Record<string, unknown> };
}

const INTEGER_FORMATS = new Set(['safeint', 'int32', 'uint32', 'int64', 'uint64']);

function isIntegerField(context: IssueContext, path: readonly PropertyKey[]): boolean {
  if (context.schema === undefined) return false;
  let schema: ZodInternals | undefined = context.schema as unknown as ZodInternals;
  let value = context.value;
  for (const seg of path) {
    schema = unwrap(schema, value);
    if (schema === undefined) return false;
    const def = schema._zod.def;
    if (def['type'] === 'object') schema = (def['shape'] as Record<string, ZodInternals> | undefined)?.[String(seg)];
    else if (def['type'] === 'array') schema = def['element'] as ZodInternals | undefined;
    else if (def['type'] === 'record') schema = def['valueType'] as ZodInternals | undefined;
    else return false;
    value = isObject(value) || Array.isArray(value) ? (value as Record<PropertyKey, unknown>)[seg] : undefined;
  }
  schema = unwrap(schema, value);
  const def = schema?._zod.def;
  return def?.['type'] === 'number' && INTEGER_FORMATS.has(String(def['format']));
}

function unwrap(start: ZodInternals | undefined, value: unknown): ZodInternals | undefined {
  let schema = start;
  for (let depth = 0; schema !== undefined && depth < 32; depth++) {
    const def = schema._zod.def;
    switch (def['type']) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'nonoptional':
      case 'readonly':
      case 'catch':
        schema = def['innerType'] as ZodInternals | undefined;
        continue;
      case 'pipe':
        schema = def['in'] as ZodInternals | undefined;
        continue;
      case 'union': {
        const options = (def['options'] as ZodInternals[] | undefined) ?? [];
        const key = def['discriminator'];
        if (typeof key === 'string' && isObject(value)) {
          schema = options.find((option) => literalValues(option, key).includes(value[key]));
          continue;
        }
        // A plain union: only unambiguous when every branch is a number field of the same kind.
        const numeric = options.map((o) => o._zod.def).filter((d) => d['type'] === 'number');
        return numeric.length === options.length ? options[0] : undefined;
      }
      default:
        return schema;
    }
  }
  return schema;
}

function literalValues(option: ZodInternals, key: string): readonly unknown[] {
  const field = (option._zod.def['shape'] as Record<string, ZodInternals> | undefined)?.[key];
  const values = field?._zod.def['values'];
  return Array.isArray(values) ? values : [];
}

// ---------------------------------------------------------------------------------------------
// Line splitting

/** A line as split from the input, before JSON: its text, or why it has none. */
export type RawLine =
  | { readonly kind: 'text'; readonly line: number; readonly text: string }
  | { readonly kind: 'too-long'; readonly line: number }
  | { readonly kind: 'bad-utf8'; readonly line: number };

/**
 * The lines of `source`, in batches: a byte stream is split here (bounded memory per line, `\n` or
 * `\r\n`, strict UTF-8); an iterable of strings is taken as one line per string. Shared by every
 * reader of line-oriented input (v1 traces, the etcd importer).
 */
export function rawLineBatches(source: AsyncIterable<string> | Readable, maxLineBytes: number): AsyncGenerator<readonly RawLine[]> {
  return source instanceof Readable ? splitLines(source, maxLineBytes) : measureLines(source, maxLineBytes);
}

/**
 * Splits a byte stream on `\n` (dropping a `\r` before it). Bytes of a line past `maxLineBytes`
 * are dropped as they arrive (the line is reported as too long), so memory stays bounded whatever
 * the input.
 */
async function* splitLines(stream: Readable, maxLineBytes: number): AsyncGenerator<readonly RawLine[]> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  // One byte more than the limit is kept, room for the `\r` of a `\r\n` line break.
  const keep = maxLineBytes + 1;
  let parts: Buffer[] = [];
  let size = 0;
  let overflow = false;
  let lineNo = 0;

  const finish = (): RawLine => {
    lineNo++;
    const line = lineNo;
    let bytes = overflow ? Buffer.alloc(0) : Buffer.concat(parts, size);
    parts = [];
    size = 0;
    if (overflow) {
      overflow = false;
      return { kind: 'too-long', line };
    }
    if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    if (bytes.length > maxLineBytes) return { kind: 'too-long', line };
    try {
      return { kind: 'text', line, text: decoder.decode(bytes) };
    } catch {
      return { kind: 'bad-utf8', line };
    }
  };

  for await (const chunk of stream) {
    const batch: RawLine[] = [];
    const buf: Buffer = Buffer.isBuffer(chunk) ? chunk : typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk as Uint8Array);
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      const end = nl === -1 ? buf.length : nl;
      if (end > start && !overflow) {
        if (size + (end - start) > keep) {
          overflow = true;
          parts = [];
        } else {
          parts.push(buf.subarray(start, end));
          size += end - start;
        }
      }
      if (nl === -1) break;
      batch.push(finish());
      start = nl + 1;
    }
    if (batch.length > 0) yield batch;
  }
  if (size > 0 || overflow) yield [finish()];
}

/** Lines that arrive already split: only the length limit applies. */
async function* measureLines(source: AsyncIterable<string>, maxLineBytes: number): AsyncGenerator<readonly RawLine[]> {
  let lineNo = 0;
  for await (const text of source) {
    lineNo++;
    yield [Buffer.byteLength(text, 'utf8') > maxLineBytes ? { kind: 'too-long', line: lineNo } : { kind: 'text', line: lineNo, text }];
  }
}

// ---------------------------------------------------------------------------------------------

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON.parse's message, with V8's 0-based character offset turned into an editor's column. */
function jsonErrorMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/ at position (\d+)/, (_, pos: string) => ` at column ${Number(pos) + 1}`);
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function lowerFirst(text: string): string {
  return text.length > 0 ? text[0]!.toLowerCase() + text.slice(1) : text;
}
