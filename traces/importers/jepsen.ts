/**
 * Importer for Jepsen histories, for the CL-LIN linearizability checker.
 *
 * Two formats are read:
 * - `etcd-log`: Jepsen's log lines, as in the etcd register tests —
 *   `INFO  jepsen.util - 3 :invoke :cas [3 0]` (process, type, function, value; tab-separated in
 *   Jepsen's output, any whitespace here). Lines of other
 *   loggers (`INFO jepsen.core - …`) and non-operation messages are skipped.
 * - `edn`: one EDN operation map per line —
 *   `{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}`.
 * Both are parsed by the small EDN reader below (keywords, strings, numbers, nil, booleans,
 * symbols, vectors, lists, sets, maps — data only: no tagged literals, no eval).
 *
 * Jepsen's semantics, kept here:
 * - the client is the process; a process has one operation in flight;
 * - `:ok` — took effect; `:fail` — definitely did not take effect (dropped from the history);
 *   `:info` — unknown: it may take effect at any later time, or never;
 * - a process that got `:info` is crashed: Jepsen gives its successor a new process number, so
 *   an invocation from a crashed process is reported as an input error;
 * - operations by `:nemesis` (fault injection) are not client operations and are skipped.
 *
 * The model is detected from the operation names — `register` (`:read :write :cas`, Knossos's
 * cas-register) or `list-append` (`:append :get :put`, see models/list-append.ts) — or forced.
 *
 * Output. The CL-LIN checker consumes `history` (HistoryOps of the model) directly: Jepsen's
 * operations are not all expressible in trace format v1 (there is no `append`), so the Jepsen
 * path bypasses v1 events. For register histories `events` additionally holds the equivalent v1
 * client events (read → `get`, write → `put`, write nil → `delete`, cas → `cas`, all on the
 * single key "register"; integers as decimal strings, `nil` as null), so they can be fed to any
 * v1 consumer — the tests check that the kv model judges them exactly as the register model
 * judges `history`. A cas to nil has no v1 form and is left out of `events`. For list-append
 * histories `events` is empty.
 *
 * A failed cas (`:fail :cas`) is dropped by default — Jepsen's and trace format v1's reading.
 * Porcupine's etcd test reads it instead as "ran and did not match", a stronger claim; the option
 * `failedCas: 'observe'` does that. Both give the verdicts of VERDICTS.txt on the corpus.
 *
 * Bad input never throws: every problem is returned in `errors` with file, line and what was
 * expected, and the history is built from what could be read.
 */
import type { Readable } from 'node:stream';
import type { TraceEvent } from '../../spec/schemas/trace-events.ts';
import { checkLinearizability } from '../linearizability/check.ts';
import { listAppendModel, type ListAppendInput, type ListAppendOutput } from '../linearizability/models/list-append.ts';
import { REGISTER_KEY, registerModel, type RegisterInput, type RegisterOutput, type RegisterValue } from '../linearizability/models/register.ts';
import type { HistoryOp, LinOptions, LinResult } from '../linearizability/types.ts';

// ---------------------------------------------------------------------------------------------
// EDN subset

export interface EdnKeyword {
  readonly kind: 'keyword';
  readonly name: string;
}
export interface EdnSymbol {
  readonly kind: 'symbol';
  readonly name: string;
}
export interface EdnSeq {
  readonly kind: 'vector' | 'list' | 'set';
  readonly items: readonly Edn[];
}
export interface EdnMap {
  readonly kind: 'map';
  readonly entries: readonly (readonly [Edn, Edn])[];
}
/** An EDN value: `nil` is null, integers and floats are numbers, strings are strings. */
export type Edn = null | boolean | number | string | EdnKeyword | EdnSymbol | EdnSeq | EdnMap;

export type EdnParse = { readonly ok: true; readonly values: readonly Edn[] } | { readonly ok: false; readonly column: number; readonly message: string };

/** Nesting deeper than this is refused: it bounds the reader's recursion on hostile input. */
const MAX_EDN_DEPTH = 64;

const DELIMITERS = new Set([' ', '\t', '\r', '\n', ',', '(', ')', '[', ']', '{', '}', '"', ';']);
const CLOSERS: Readonly<Record<string, string>> = { '[': ']', '(': ')', '{': '}' };

/**
 * Reads all EDN forms in `text` (one line of a history). Returns the values, or the first
 * problem with its 1-based column. Never throws.
 */
export function readEdn(text: string): EdnParse {
  const reader = new EdnReader(text);
  const values: Edn[] = [];
  for (;;) {
    reader.skipSpace();
    if (reader.atEnd()) return { ok: true, values };
    const value = reader.read(0);
    if (value === FAILED) return { ok: false, column: reader.errorColumn, message: reader.errorMessage };
    values.push(value);
  }
}

const FAILED: unique symbol = Symbol('edn-failed');

class EdnReader {
  private pos = 0;
  errorColumn = 0;
  errorMessage = '';

  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  skipSpace(): void {
    while (this.pos < this.text.length) {
      const c = this.text[this.pos]!;
      if (c === ';') {
        // A comment runs to the end of the line; a line of a history holds no newline.
        this.pos = this.text.length;
      } else if (c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === ',') {
        this.pos++;
      } else {
        return;
      }
    }
  }

  private fail(message: string, at = this.pos): typeof FAILED {
    this.errorColumn = at + 1;
    this.errorMessage = message;
    return FAILED;
  }

  read(depth: number): Edn | typeof FAILED {
    this.skipSpace();
    if (this.atEnd()) return this.fail('expected a value, got the end of the line');
    if (depth >= MAX_EDN_DEPTH) return this.fail(`values nested deeper than ${MAX_EDN_DEPTH} levels are not supported`);
    const c = this.text[this.pos]!;
    if (c === '{' || c === '[' || c === '(') return this.readSeq(c, depth);
    if (c === '#') {
      if (this.text[this.pos + 1] === '{') {
        this.pos++;
        return this.readSeq('{', depth, 'set');
      }
      return this.fail('expected a value; tagged literals and reader macros (#…) are not supported');
    }
    if (c === '"') return this.readString();
    if (c === ')' || c === ']' || c === '}') return this.fail(`unexpected ${JSON.stringify(c)} with nothing open`);
    if (c === '\\') return this.fail('expected a value; character literals (\\c) are not supported');
    return this.readAtom();
  }

  private readSeq(open: string, depth: number, as?: 'set'): Edn | typeof FAILED {
    const start = this.pos;
    const close = CLOSERS[open]!;
    this.pos++;
    const items: Edn[] = [];
    for (;;) {
      this.skipSpace();
      if (this.atEnd()) return this.fail(`expected ${JSON.stringify(close)} to close the ${JSON.stringify(open)} at column ${start + 1}, got the end of the line`);
      const c = this.text[this.pos]!;
      if (c === close) {
        this.pos++;
        break;
      }
      if (c === ')' || c === ']' || c === '}') return this.fail(`expected ${JSON.stringify(close)} to close the ${JSON.stringify(open)} at column ${start + 1}, got ${JSON.stringify(c)}`);
      const item = this.read(depth + 1);
      if (item === FAILED) return FAILED;
      items.push(item);
    }
    if (as === 'set') return { kind: 'set', items };
    if (open === '[') return { kind: 'vector', items };
    if (open === '(') return { kind: 'list', items };
    if (items.length % 2 !== 0) return this.fail(`a map needs an even number of forms (key value pairs), got ${items.length}`, start);
    const entries: (readonly [Edn, Edn])[] = [];
    for (let i = 0; i < items.length; i += 2) entries.push([items[i]!, items[i + 1]!]);
    return { kind: 'map', entries };
  }

  private readString(): Edn | typeof FAILED {
    const start = this.pos;
    this.pos++;
    let out = '';
    while (this.pos < this.text.length) {
      const c = this.text[this.pos]!;
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c === '\\') {
        const e = this.text[this.pos + 1];
        const simple: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' };
        if (e !== undefined && simple[e] !== undefined) {
          out += simple[e];
          this.pos += 2;
          continue;
        }
        if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(this.text.slice(this.pos + 2, this.pos + 6))) {
          out += String.fromCharCode(Number.parseInt(this.text.slice(this.pos + 2, this.pos + 6), 16));
          this.pos += 6;
          continue;
        }
        return this.fail(`unknown escape \\${e ?? ''} in a string`);
      }
      out += c;
      this.pos++;
    }
    return this.fail(`expected '"' to close the string at column ${start + 1}, got the end of the line`);
  }

  private readAtom(): Edn | typeof FAILED {
    const start = this.pos;
    while (this.pos < this.text.length && !DELIMITERS.has(this.text[this.pos]!)) this.pos++;
    const token = this.text.slice(start, this.pos);
    if (token.startsWith(':')) {
      if (token.length === 1) return this.fail('expected a keyword name after ":"', start);
      return { kind: 'keyword', name: token.slice(1) };
    }
    if (token === 'nil') return null;
    if (token === 'true') return true;
    if (token === 'false') return false;
    if (/^[+-]?\d+N?$/.test(token)) {
      const n = Number(token.endsWith('N') ? token.slice(0, -1) : token);
      if (!Number.isSafeInteger(n)) return this.fail(`integer ${token} is outside the safe range (±2^53)`, start);
      return n === 0 ? 0 : n;
    }
    if (/^[+-]?\d+(\.\d*)?([eE][+-]?\d+)?M?$/.test(token)) return Number(token.endsWith('M') ? token.slice(0, -1) : token);
    if (/^[+-]?\d/.test(token)) return this.fail(`expected a number, got ${JSON.stringify(shorten(token))}`, start);
    return { kind: 'symbol', name: token };
  }
}

/** The value of keyword key `:name` in an EDN map. */
export function ednGet(map: EdnMap, name: string): Edn | undefined {
  for (const [k, v] of map.entries) if (isKeyword(k) && k.name === name) return v;
  return undefined;
}

/** EDN's own notation, for messages. */
export function showEdn(value: Edn): string {
  if (value === null) return 'nil';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  switch (value.kind) {
    case 'keyword':
      return `:${value.name}`;
    case 'symbol':
      return value.name;
    case 'vector':
      return `[${value.items.map(showEdn).join(' ')}]`;
    case 'list':
      return `(${value.items.map(showEdn).join(' ')})`;
    case 'set':
      return `#{${value.items.map(showEdn).join(' ')}}`;
    case 'map':
      return `{${value.entries.map(([k, v]) => `${showEdn(k)} ${showEdn(v)}`).join(', ')}}`;
  }
}

function isKeyword(value: Edn | undefined): value is EdnKeyword {
  return typeof value === 'object' && value !== null && value.kind === 'keyword';
}

// ---------------------------------------------------------------------------------------------
// Records: one Jepsen operation event per line

export type JepsenFormat = 'etcd-log' | 'edn';
export type JepsenModelName = 'register' | 'list-append';
export type JepsenType = 'invoke' | 'ok' | 'fail' | 'info';

/** One line of a Jepsen history: an invocation or a completion. */
export interface JepsenRecord {
  readonly line: number;
  readonly process: number;
  readonly type: JepsenType;
  readonly f: string;
  /** `:key` of an EDN map (integers become their decimal string); undefined in register logs. */
  readonly key: string | undefined;
  readonly value: Edn;
}

/** An input problem: where, and what was expected. */
export interface JepsenError {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

const TYPES: readonly JepsenType[] = ['invoke', 'ok', 'fail', 'info'];
const LOG_LINE = /jepsen\.util\s+-\s+(.*)$/;
/** A line of some other logger (`INFO  jepsen.core - …`, with or without a timestamp before it). */
const OTHER_LOG_LINE = /^(?:\S+\s+){0,3}(?:TRACE|DEBUG|INFO|WARN|ERROR|FATAL)\s+\S+\s+-\s/;

type RecordParse = { readonly record: JepsenRecord } | { readonly skip: true } | { readonly error: string };

/** Reads one `jepsen.util` log line: `<process> :<type> :<f> <value>`. */
function parseLogLine(text: string, line: number): RecordParse {
  const m = LOG_LINE.exec(text);
  if (m === null) {
    if (OTHER_LOG_LINE.test(text)) return { skip: true };
    return { error: 'expected a Jepsen log line `… jepsen.util - <process> :<type> :<f> <value>`' };
  }
  const rest = m[1] ?? '';
  // jepsen.util also logs messages that are not operations; an operation starts with its process.
  if (!/^(-?\d|:)/.test(rest.trim())) return { skip: true };
  const parsed = readEdn(rest);
  if (!parsed.ok) return { error: `in the operation after "jepsen.util - ": ${parsed.message} (column ${parsed.column + text.length - rest.length})` };
  const [process, type, f, value, ...extra] = parsed.values;
  if (parsed.values.length < 4 || extra.length > 0) {
    return { error: `expected 4 fields \`<process> :<type> :<f> <value>\` after "jepsen.util - ", got ${parsed.values.length}` };
  }
  return recordFrom({ line, process, type, f, key: undefined, value: value ?? null });
}

/** Reads one EDN operation map: `{:process 0, :type :invoke, :f :append, :key "0", :value …}`. */
function parseEdnLine(text: string, line: number): RecordParse {
  const parsed = readEdn(text);
  if (!parsed.ok) return { error: `${parsed.message} (column ${parsed.column})` };
  const [map, ...extra] = parsed.values;
  if (map === undefined || extra.length > 0 || typeof map !== 'object' || map === null || map.kind !== 'map') {
    return { error: `expected one EDN map {:process …, :type …, :f …, :value …} per line, got ${parsed.values.length === 1 && map !== undefined ? showEdn(map).slice(0, 60) : `${parsed.values.length} values`}` };
  }
  const key = ednGet(map, 'key');
  if (key !== undefined && typeof key !== 'string' && !(typeof key === 'number' && Number.isInteger(key))) {
    return { error: `expected :key to be a string or an integer, got ${showEdn(key)}` };
  }
  return recordFrom({
    line,
    process: ednGet(map, 'process'),
    type: ednGet(map, 'type'),
    f: ednGet(map, 'f'),
    key: key === undefined ? undefined : String(key),
    value: ednGet(map, 'value') ?? null,
  });
}

/** Validates the common fields; a `:nemesis` process is skipped (fault injection, not a client). */
function recordFrom(r: { line: number; process: Edn | undefined; type: Edn | undefined; f: Edn | undefined; key: string | undefined; value: Edn }): RecordParse {
  if (isKeyword(r.process) && r.process.name === 'nemesis') return { skip: true };
  if (typeof r.process !== 'number' || !Number.isSafeInteger(r.process) || r.process < 0) {
    return { error: `expected the process to be an integer ≥ 0 (or :nemesis), got ${r.process === undefined ? 'nothing' : showEdn(r.process)}` };
  }
  if (!isKeyword(r.type) || !(TYPES as readonly string[]).includes(r.type.name)) {
    return { error: `expected the type to be one of :invoke, :ok, :fail, :info, got ${r.type === undefined ? 'nothing' : showEdn(r.type)}` };
  }
  if (!isKeyword(r.f)) return { error: `expected the function (:f) to be a keyword like :read or :append, got ${r.f === undefined ? 'nothing' : showEdn(r.f)}` };
  return { record: { line: r.line, process: r.process, type: r.type.name as JepsenType, f: r.f.name, key: r.key, value: r.value } };
}

/** Which format the text is in, from its first non-blank line. */
function detectFormat(lines: readonly string[]): JepsenFormat | undefined {
  const first = lines.find((l) => l.trim() !== '');
  if (first === undefined) return undefined;
  if (first.trimStart().startsWith('{')) return 'edn';
  if (LOG_LINE.test(first) || OTHER_LOG_LINE.test(first)) return 'etcd-log';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Pairing and models

/** A paired operation: its invocation and how it ended. */
export interface JepsenOperation {
  readonly process: number;
  /** Ordinal of the operation in the history (its v1 opId). */
  readonly index: number;
  readonly f: string;
  readonly key: string | undefined;
  readonly invoke: JepsenRecord;
  /** Undefined: invoked but never completed. */
  readonly completion: JepsenRecord | undefined;
  /** Positions of invoke and completion among all records: the history's time. */
  readonly call: number;
  readonly ret: number | undefined;
}

export type JepsenHistory =
  | { readonly model: 'register'; readonly ops: readonly HistoryOp<RegisterInput, RegisterOutput>[] }
  | { readonly model: 'list-append'; readonly ops: readonly HistoryOp<ListAppendInput, ListAppendOutput>[] };

export interface JepsenImport {
  readonly file: string;
  readonly format: JepsenFormat | undefined;
  readonly model: JepsenModelName | undefined;
  /** The CL-LIN history (failed operations dropped); undefined when no model applies. */
  readonly history: JepsenHistory | undefined;
  /** Register histories as v1 client events (see the file comment); empty for list-append. */
  readonly events: readonly { readonly line: number; readonly event: TraceEvent }[];
  readonly operations: readonly JepsenOperation[];
  readonly errors: readonly JepsenError[];
}

export interface JepsenImportOptions {
  /** Named in errors. */
  readonly file?: string;
  /** Force the model instead of detecting it from the operations. */
  readonly model?: JepsenModelName;
  /**
   * What a register `:fail :cas` means. `drop` (default): Jepsen's and trace format v1's reading,
   * it did not take effect and is left out. `observe`: Porcupine's reading of etcd's tests, it
   * ran and found another value than expected — a stronger claim, which constrains the history.
   */
  readonly failedCas?: 'drop' | 'observe';
  /** Longer lines are reported, not parsed (default 1 MiB). */
  readonly maxLineChars?: number;
}

const REGISTER_FS = ['read', 'write', 'cas'];
const LIST_APPEND_FS = ['append', 'get', 'put'];

/**
 * Parses a Jepsen history (the whole text of one file) into a CL-LIN history. Never throws: every
 * problem lands in `errors`.
 */
export function importJepsen(text: string, options: JepsenImportOptions = {}): JepsenImport {
  const file = options.file ?? '<input>';
  const maxLineChars = options.maxLineChars ?? 1 << 20;
  const errors: JepsenError[] = [];
  const report = (line: number, message: string): void => {
    errors.push({ file, line, message });
  };
  const lines = (text.startsWith('\uFEFF') ? text.slice(1) : text).split(/\r?\n/);
  const format = detectFormat(lines);
  const empty = { file, format, model: options.model, history: undefined, events: [], operations: [], errors };
  if (format === undefined) {
    const first = lines.findIndex((l) => l.trim() !== '');
    if (first === -1) report(1, 'empty history: expected Jepsen operations');
    else report(first + 1, 'not a Jepsen history: expected EDN operation maps (`{:process 0, :type :invoke, :f :read, :value nil}`) or Jepsen log lines (`INFO  jepsen.util - 0 :invoke :read nil`)');
    return empty;
  }
  const records: JepsenRecord[] = [];
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    if (raw.length > maxLineChars) {
      report(line, `line is longer than ${maxLineChars} characters; not parsed`);
      return;
    }
    const parsed = format === 'edn' ? parseEdnLine(raw, line) : parseLogLine(raw, line);
    if ('error' in parsed) report(line, parsed.error);
    else if ('record' in parsed) records.push(parsed.record);
  });
  const operations = pairOperations(records, report);
  const model = options.model ?? detectModel(operations, report, lines.length);
  // Errors in line order, whichever pass found them (a sort is stable: same-line order is kept).
  const sorted = (): JepsenError[] => errors.sort((a, b) => a.line - b.line);
  if (model === undefined) return { ...empty, operations, errors: sorted() };
  if (model === 'register') {
    const ops = registerHistory(operations, options.failedCas ?? 'drop', report);
    return { file, format, model, history: { model, ops }, events: registerEvents(operations, records), operations, errors: sorted() };
  }
  const ops = listAppendHistory(operations, report);
  return { file, format, model, history: { model, ops }, events: [], operations, errors: sorted() };
}

/** CL-LIN on an imported history, with the model it was imported for. */
export function checkJepsenHistory(
  history: JepsenHistory,
  options: LinOptions = {},
): LinResult<RegisterInput, RegisterOutput> | LinResult<ListAppendInput, ListAppendOutput> {
  return history.model === 'register' ? checkLinearizability(history.ops, registerModel, options) : checkLinearizability(history.ops, listAppendModel, options);
}

/**
 * Reads a whole stream (a file's read stream), then imports it; never rejects for bad input.
 * Bytes that are not UTF-8 become U+FFFD and then fail to parse on their line, like any other
 * bad character. Histories are small (the largest here is 300 kB), so reading whole is fine.
 */
export async function importJepsenStream(source: Readable | AsyncIterable<string | Uint8Array>, options: JepsenImportOptions = {}): Promise<JepsenImport> {
  const decoder = new TextDecoder('utf-8', { fatal: false });
  let text = '';
  for await (const chunk of source as AsyncIterable<string | Uint8Array>) {
    text += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
  }
  text += decoder.decode();
  return importJepsen(text, options);
}

/**
 * Pairs invocations with completions per process. Problems (a completion without invocation, a
 * second invocation while one is open, an invocation from a crashed process, a completion for
 * another function) are reported; the pairing then takes the permissive reading, so that a
 * problem in the input can never produce a false violation.
 */
function pairOperations(records: readonly JepsenRecord[], report: (line: number, message: string) => void): JepsenOperation[] {
  const open = new Map<number, { record: JepsenRecord; call: number; index: number }>();
  const crashedAt = new Map<number, number>();
  const out: JepsenOperation[] = [];
  let index = 0;
  records.forEach((r, position) => {
    const current = open.get(r.process);
    if (r.type === 'invoke') {
      const crash = crashedAt.get(r.process);
      if (crash !== undefined) {
        report(r.line, `process ${r.process} invokes :${r.f} after it crashed (:info on line ${crash}); Jepsen gives a crashed process's successor a new process number`);
      }
      if (current !== undefined) {
        report(r.line, `process ${r.process} invokes :${r.f} while its :${current.record.f} (line ${current.record.line}) is still open; a process has one operation in flight — the open one is taken as outcome unknown`);
        out.push(operation(current, undefined, undefined));
      }
      open.set(r.process, { record: r, call: position, index: index++ });
      return;
    }
    if (current === undefined) {
      report(r.line, `:${r.type} :${r.f} for process ${r.process}, which has no open operation; expected an :invoke before it — ignored`);
      return;
    }
    open.delete(r.process);
    if (current.record.f !== r.f || current.record.key !== r.key) {
      const what = (x: JepsenRecord): string => `:${x.f}${x.key === undefined ? '' : ` key ${JSON.stringify(x.key)}`}`;
      const opened = current.record;
      report(r.line, `:${r.type} ${what(r)} for process ${r.process} does not match its open ${what(opened)} (line ${opened.line}); the operation is taken as outcome unknown`);
      out.push(operation(current, undefined, undefined));
      return;
    }
    if (r.type === 'info') crashedAt.set(r.process, r.line);
    out.push(operation(current, r, position));
  });
  for (const o of open.values()) out.push(operation(o, undefined, undefined));
  return out.sort((a, b) => a.call - b.call);
}

function operation(o: { record: JepsenRecord; call: number; index: number }, completion: JepsenRecord | undefined, ret: number | undefined): JepsenOperation {
  return { process: o.record.process, index: o.index, f: o.record.f, key: o.record.key, invoke: o.record, completion, call: o.call, ret };
}

/** `register` for :read/:write/:cas, `list-append` for :append/:get/:put; otherwise an error. */
function detectModel(ops: readonly JepsenOperation[], report: (line: number, message: string) => void, lineCount: number): JepsenModelName | undefined {
  const fs = [...new Set(ops.map((o) => o.f))];
  if (fs.length === 0) {
    report(Math.max(1, lineCount), 'no client operations: cannot tell the model');
    return undefined;
  }
  if (fs.every((f) => REGISTER_FS.includes(f))) return 'register';
  if (fs.every((f) => LIST_APPEND_FS.includes(f))) return 'list-append';
  const line = ops.find((o) => !REGISTER_FS.includes(o.f) && !LIST_APPEND_FS.includes(o.f))?.invoke.line ?? ops[0]?.invoke.line ?? 1;
  report(line, `cannot tell the model from the operations ${fs.map((f) => `:${f}`).join(' ')}: expected register (:read :write :cas) or list-append (:append :get :put) operations`);
  return undefined;
}

/** What an operation's completion makes of it: dropped (`fail`), or a status with its return. */
function statusOf(o: JepsenOperation): { status: 'ok' | 'info' | 'pending'; ret: number | undefined } | undefined {
  switch (o.completion?.type) {
    case undefined:
      return { status: 'pending', ret: undefined };
    case 'fail':
      return undefined;
    case 'info':
      return { status: 'info', ret: undefined };
    default:
      return { status: 'ok', ret: o.ret };
  }
}

function scalar(value: Edn): RegisterValue | undefined {
  return value === null || typeof value === 'string' || typeof value === 'number' ? value : undefined;
}

/**
 * Register operations: `:read` (invoked with nil, returns the value), `:write v`, `:cas [old new]`.
 * Values are integers, strings or nil. A completion's value echoes the invocation for writes and
 * cas and is not checked.
 */
function registerHistory(
  ops: readonly JepsenOperation[],
  failedCas: 'drop' | 'observe',
  report: (line: number, message: string) => void,
): HistoryOp<RegisterInput, RegisterOutput>[] {
  const out: HistoryOp<RegisterInput, RegisterOutput>[] = [];
  for (const o of ops) {
    const input = registerInput(o, report);
    if (input === undefined) continue;
    let status = statusOf(o);
    let output: RegisterOutput | undefined;
    if (status === undefined) {
      if (!(failedCas === 'observe' && input.f === 'cas')) continue;
      status = { status: 'ok', ret: o.ret };
      output = { matched: false };
    } else if (status.status === 'ok' && input.f === 'read') {
      const value = scalar(o.completion?.value ?? null);
      if (value === undefined) {
        report(o.completion?.line ?? o.invoke.line, `expected a :read to return an integer, a string or nil, got ${showEdn(o.completion?.value ?? null)}; its result is taken as unknown`);
        output = {};
      } else {
        output = { value };
      }
    } else if (status.status === 'ok') {
      output = {};
    }
    out.push(historyOp(o, input, output, status));
  }
  return out;
}

function registerInput(o: JepsenOperation, report: (line: number, message: string) => void): RegisterInput | undefined {
  const v = o.invoke.value;
  switch (o.f) {
    case 'read':
      return { f: 'read' };
    case 'write': {
      const value = scalar(v);
      if (value !== undefined) return { f: 'write', value };
      report(o.invoke.line, `expected :write to carry an integer, a string or nil, got ${showEdn(v)}`);
      return undefined;
    }
    case 'cas': {
      const pair = typeof v === 'object' && v !== null && v.kind === 'vector' && v.items.length === 2 ? v.items.map((x) => scalar(x)) : [];
      const [from, to] = pair;
      if (from !== undefined && to !== undefined) return { f: 'cas', from, to };
      report(o.invoke.line, `expected :cas to carry [old new] (two integers, strings or nil), got ${showEdn(v)}`);
      return undefined;
    }
    default:
      report(o.invoke.line, `expected a register operation (:read, :write or :cas), got :${o.f}`);
      return undefined;
  }
}

/**
 * List-append operations: `:append k "v"`, `:put k "v"`, `:get k` (invoked with nil, returns the
 * whole value; nil is read as the empty value).
 */
function listAppendHistory(ops: readonly JepsenOperation[], report: (line: number, message: string) => void): HistoryOp<ListAppendInput, ListAppendOutput>[] {
  const out: HistoryOp<ListAppendInput, ListAppendOutput>[] = [];
  for (const o of ops) {
    const input = listAppendInput(o, report);
    const status = statusOf(o);
    if (input === undefined || status === undefined) continue;
    let output: ListAppendOutput | undefined;
    if (status.status === 'ok') {
      output = {};
      if (input.f === 'get') {
        const v = o.completion?.value ?? null;
        if (v === null || typeof v === 'string') output = { value: v ?? '' };
        else report(o.completion?.line ?? o.invoke.line, `expected :get to return a string or nil, got ${showEdn(v)}; its result is taken as unknown`);
      }
    }
    out.push(historyOp(o, input, output, status));
  }
  return out;
}

function listAppendInput(o: JepsenOperation, report: (line: number, message: string) => void): ListAppendInput | undefined {
  if (o.key === undefined) {
    report(o.invoke.line, `expected :${o.f} to carry a :key`);
    return undefined;
  }
  switch (o.f) {
    case 'get':
      return { f: 'get', key: o.key };
    case 'append':
    case 'put': {
      const v = o.invoke.value;
      if (typeof v === 'string') return { f: o.f, key: o.key, value: v };
      report(o.invoke.line, `expected :${o.f} to carry a string :value, got ${showEdn(v)}`);
      return undefined;
    }
    default:
      report(o.invoke.line, `expected a list-append operation (:append, :get or :put), got :${o.f}`);
      return undefined;
  }
}

function historyOp<I, O>(o: JepsenOperation, input: I, output: O | undefined, s: { status: 'ok' | 'info' | 'pending'; ret: number | undefined }): HistoryOp<I, O> {
  const base = { client: o.process, opId: o.index, input, call: o.call, ret: s.ret, status: s.status, line: o.invoke.line, retLine: o.completion?.line };
  return output === undefined ? base : { ...base, output };
}

/** The register history as v1 client events on the key "register" (see the file comment). */
function registerEvents(ops: readonly JepsenOperation[], records: readonly JepsenRecord[]): { line: number; event: TraceEvent }[] {
  const byPosition: { line: number; event: TraceEvent }[][] = records.map(() => []);
  const str = (v: RegisterValue): string | null => (v === null ? null : String(v));
  for (const o of ops) {
    const v = o.invoke.value;
    const op = v1Op(o.f, v);
    if (op === undefined) continue;
    const ids = { client: o.process, opId: o.index };
    byPosition[o.call]?.push({ line: o.invoke.line, event: { ev: 'invoke', ...ids, op } });
    const c = o.completion;
    if (c === undefined || o.ret === undefined) continue;
    let event: TraceEvent;
    if (c.type === 'ok') {
      const read = scalar(c.value);
      event = o.f === 'read' && read !== undefined ? { ev: 'ok', ...ids, value: str(read) } : { ev: 'ok', ...ids };
    } else if (c.type === 'fail') {
      event = { ev: 'fail', ...ids, error: `jepsen :fail ${showEdn(c.value)}` };
    } else {
      event = { ev: 'info', ...ids, error: `jepsen :info ${showEdn(c.value)}` };
    }
    byPosition[o.ret]?.push({ line: c.line, event });
  }
  return byPosition.flat();
}

/**
 * A register operation as a v1 operation on the key "register": read → get, write → put (write
 * nil → delete), cas → cas. A cas to nil has no v1 form (v1 cas writes a string): undefined.
 */
function v1Op(f: string, v: Edn): Extract<TraceEvent, { ev: 'invoke' }>['op'] | undefined {
  const str = (x: RegisterValue): string | null => (x === null ? null : String(x));
  if (f === 'read') return { kind: 'get', key: REGISTER_KEY };
  const value = scalar(v);
  if (f === 'write' && value !== undefined) return value === null ? { kind: 'delete', key: REGISTER_KEY } : { kind: 'put', key: REGISTER_KEY, value: String(value) };
  if (f !== 'cas' || typeof v !== 'object' || v === null || v.kind !== 'vector' || v.items.length !== 2) return undefined;
  const [from, to] = v.items.map((x) => scalar(x));
  if (from === undefined || to === undefined || to === null) return undefined;
  return { kind: 'cas', key: REGISTER_KEY, expected: str(from), value: String(to) };
}

function shorten(text: string): string {
  return text.length <= 40 ? text : `${text.slice(0, 39)}…`;
}
