/**
 * traces/importers/jepsen.ts: the EDN subset, both history formats, Jepsen's semantics
 * (:fail dropped, :info unknown, crashed processes), model detection, and errors that name the
 * file and line and say what was expected.
 */
import { describe, expect, it } from 'vitest';
import { importJepsen, readEdn, showEdn, type Edn } from '../../traces/importers/jepsen.ts';
import { checkLinearizability, historyFromEvents, kvModel, registerModel } from '../../traces/linearizability/index.ts';

const log = (lines: readonly string[]): string => lines.map((l) => `INFO  jepsen.util - ${l}`).join('\n');

describe('readEdn', () => {
  it('reads the subset Jepsen histories use', () => {
    const r = readEdn('{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"} nil [1 -4] 12N 1.5 true #{:a} (x) "q\\"\\n\\u0041"');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.values.map(showEdn)).toEqual(['{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}', 'nil', '[1 -4]', '12', '1.5', 'true', '#{:a}', '(x)', '"q\\"\\nA"']);
  });

  it('treats commas as whitespace and ; as a comment', () => {
    const r = readEdn('[1,,2] ; the rest is ignored {');
    expect(r.ok && r.values.map(showEdn)).toEqual(['[1 2]']);
  });

  it('says what it expected, with the column', () => {
    const cases: [string, RegExp][] = [
      ['{:a 1', /expected "}" to close the "{" at column 1, got the end of the line/],
      ['[1 2}', /expected "]" to close the "\[" at column 1, got "}"/],
      ['{:a}', /even number of forms/],
      ['"abc', /expected '"' to close the string/],
      ['#inst "2020"', /tagged literals/],
      ['99999999999999999999', /outside the safe range/],
      ['12abc', /expected a number/],
      [':', /keyword name/],
      [')', /unexpected "\)"/],
      ['"\\q"', /unknown escape/],
    ];
    for (const [text, message] of cases) {
      const r = readEdn(text);
      expect(r.ok, text).toBe(false);
      if (!r.ok) expect(r.message, text).toMatch(message);
    }
    const r = readEdn('[1 2 "x');
    expect(!r.ok && r.column).toBe(8);
  });

  it('refuses nesting beyond its depth limit instead of overflowing the stack', () => {
    const r = readEdn('['.repeat(100_000));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/nested deeper/);
  });
});

describe('importJepsen: etcd register logs', () => {
  it('pairs by process, drops :fail, keeps :info as unknown and an unfinished op as pending', () => {
    const text = log(['0\t:invoke\t:write\t3', '1\t:invoke\t:read\tnil', '0\t:ok\t:write\t3', '1\t:ok\t:read\t3', '2\t:invoke\t:cas\t[3 4]', '2\t:fail\t:cas\t[3 4]', '3\t:invoke\t:write\t5', '3\t:info\t:write\t:timed-out', '4\t:invoke\t:read\tnil']);
    const imported = importJepsen(text, { file: 'h.log' });
    expect(imported).toMatchObject({ format: 'etcd-log', model: 'register', errors: [] });
    expect(imported.history?.model).toBe('register');
    expect(imported.history?.ops.map((op) => [op.client, op.status, op.input, op.output, op.line, op.retLine])).toEqual([
      [0, 'ok', { f: 'write', value: 3 }, {}, 1, 3],
      [1, 'ok', { f: 'read' }, { value: 3 }, 2, 4],
      [3, 'info', { f: 'write', value: 5 }, undefined, 7, 8],
      [4, 'pending', { f: 'read' }, undefined, 9, undefined],
    ]);
  });

  it('with failedCas: observe, keeps a failed cas as one that ran and did not match', () => {
    const text = log(['2\t:invoke\t:cas\t[3 4]', '2\t:fail\t:cas\t[3 4]']);
    const ops = importJepsen(text, { failedCas: 'observe' }).history?.ops ?? [];
    expect(ops.map((op) => [op.status, op.output])).toEqual([['ok', { matched: false }]]);
  });

  it('also emits the history as v1 client events on the key "register", which the kv model judges the same way', () => {
    const text = log(['0\t:invoke\t:write\t3', '0\t:ok\t:write\t3', '1\t:invoke\t:cas\t[3 4]', '1\t:ok\t:cas\t[3 4]', '2\t:invoke\t:read\tnil', '2\t:ok\t:read\t3', '3\t:invoke\t:write\t5', '3\t:info\t:write\t:timed-out']);
    const imported = importJepsen(text);
    expect(imported.events.map((e) => [e.line, e.event.ev])).toEqual([
      [1, 'invoke'],
      [2, 'ok'],
      [3, 'invoke'],
      [4, 'ok'],
      [5, 'invoke'],
      [6, 'ok'],
      [7, 'invoke'],
      [8, 'info'],
    ]);
    expect(imported.events[2]?.event).toEqual({ ev: 'invoke', client: 1, opId: 1, op: { kind: 'cas', key: 'register', expected: '3', value: '4' } });
    expect(imported.events[5]?.event).toEqual({ ev: 'ok', client: 2, opId: 2, value: '3' });
    const viaEvents = historyFromEvents(imported.events);
    expect(viaEvents.errors).toEqual([]);
    expect(checkLinearizability(viaEvents.ops, kvModel).verdict).toBe('not-linearizable');
    expect(imported.history?.model === 'register' && checkLinearizability(imported.history.ops, registerModel).verdict).toBe('not-linearizable');
  });

  it('skips other loggers and non-operation messages, and the nemesis', () => {
    const text = ['2014-01-01 INFO  jepsen.core - Worker 0 starting', 'INFO  jepsen.util - Sleeping 5 s', 'INFO  jepsen.util - :nemesis\t:info\t:start\tnil', log(['0\t:invoke\t:read\tnil', '0\t:ok\t:read\tnil'])].join('\n');
    const imported = importJepsen(text);
    expect(imported.errors).toEqual([]);
    expect(imported.history?.ops).toHaveLength(1);
  });

  it('reports bad lines with file, line and what was expected — and goes on', () => {
    const text = log(['0\t:invoke\t:read', '-1\t:invoke\t:read\tnil', '0\t:invoke\t:jump\tnil', '1\t:ok\t:read\t3', '2\t:invoke\t:cas\t5', '3\t:invoke\t:read\tnil', '3\t:ok\t:read\t[1 2]']) + '\ngarbage';
    const { errors } = importJepsen(text, { file: 'bad.log' });
    expect(errors.map((e) => [e.file, e.line, e.message.split(/[;:]/)[0]])).toEqual([
      ['bad.log', 1, 'expected 4 fields `<process> '],
      ['bad.log', 2, 'expected the process to be an integer ≥ 0 (or '],
      ['bad.log', 3, 'cannot tell the model from the operations '],
      ['bad.log', 4, ''],
      ['bad.log', 8, 'expected a Jepsen log line `… jepsen.util - <process> '],
    ]);
    expect(errors[3]?.message).toMatch(/^:ok :read for process 1, which has no open operation; expected an :invoke before it/);
  });

  it('reports Jepsen semantics broken: a crashed process reused, two invocations in flight, a mismatched completion', () => {
    const text = log(['0\t:invoke\t:write\t1', '0\t:info\t:write\t:timed-out', '0\t:invoke\t:read\tnil', '0\t:invoke\t:read\tnil', '0\t:ok\t:read\tnil', '1\t:invoke\t:write\t2', '1\t:ok\t:read\t2']);
    const imported = importJepsen(text);
    expect(imported.errors.map((e) => [e.line, e.message.split(/;| \(/)[0]])).toEqual([
      [3, 'process 0 invokes :read after it crashed'],
      [4, 'process 0 invokes :read after it crashed'],
      [4, 'process 0 invokes :read while its :read'],
      [7, ':ok :read for process 1 does not match its open :write'],
    ]);
    // The permissive reading: the open read and the mismatched write become unknown outcomes.
    expect(imported.history?.ops.map((op) => op.status)).toEqual(['info', 'pending', 'ok', 'pending']);
  });

  it('reports values that do not fit the register model', () => {
    const text = log(['0\t:invoke\t:write\t[1]', '0\t:ok\t:write\t[1]', '1\t:invoke\t:cas\t[1]', '1\t:ok\t:cas\t[1]', '2\t:invoke\t:read\tnil', '2\t:ok\t:read\t{:a 1}']);
    expect(importJepsen(text).errors.map((e) => [e.line, e.message.slice(0, 30)])).toEqual([
      [1, 'expected :write to carry an in'],
      [3, 'expected :cas to carry [old ne'],
      [6, 'expected a :read to return an '],
    ]);
  });
});

describe('importJepsen: EDN list-append histories', () => {
  const edn = (process: number | string, type: string, f: string, key: string, value: string): string => `{:process ${process}, :type :${type}, :f :${f}, :key "${key}", :value ${value}}`;

  it('reads append/get/put, with nil read as empty and integer keys as strings', () => {
    const text = [edn(0, 'invoke', 'append', '0', '"x 0 0 y"'), edn(0, 'ok', 'append', '0', '"x 0 0 y"'), edn(1, 'invoke', 'get', '0', 'nil'), edn(1, 'ok', 'get', '0', '"x 0 0 y"'), '{:process 2, :type :invoke, :f :get, :key 5, :value nil}', '{:process 2, :type :ok, :f :get, :key 5, :value nil}'].join('\n');
    const imported = importJepsen(text);
    expect(imported).toMatchObject({ format: 'edn', model: 'list-append', errors: [], events: [] });
    expect(imported.history?.ops.map((op) => [op.input, op.output])).toEqual([
      [{ f: 'append', key: '0', value: 'x 0 0 y' }, {}],
      [{ f: 'get', key: '0' }, { value: 'x 0 0 y' }],
      [{ f: 'get', key: '5' }, { value: '' }],
    ]);
  });

  it('can be forced to a model; operations of another model are then errors', () => {
    const text = [edn(0, 'invoke', 'append', '0', '"a"'), edn(0, 'ok', 'append', '0', '"a"')].join('\n');
    const forced = importJepsen(text, { model: 'register' });
    expect(forced.model).toBe('register');
    expect(forced.errors.map((e) => e.message)).toEqual(['expected a register operation (:read, :write or :cas), got :append']);
  });

  it('reports a line that is not one map, a missing field, a bad key, a missing :key', () => {
    const text = ['{:process 0, :type :invoke, :f :get, :key "0", :value nil} {}', '{:process 0, :f :get}', '{:process 0, :type :invoke, :f :get, :key [1], :value nil}', '{:process 1, :type :invoke, :f :get, :value nil}', '{:process -1, :type :invoke, :f :get, :key "0"}', '[1 2]'].join('\n');
    const { errors } = importJepsen(text, { file: 'kv.txt' });
    expect(errors.map((e) => [e.line, e.message])).toEqual([
      [1, expect.stringMatching(/^expected one EDN map \{:process …, :type …, :f …, :value …\} per line, got 2 values/)],
      [2, 'expected the type to be one of :invoke, :ok, :fail, :info, got nothing'],
      [3, 'expected :key to be a string or an integer, got [1]'],
      [4, 'expected :get to carry a :key'],
      [5, 'expected the process to be an integer ≥ 0 (or :nemesis), got -1'],
      [6, expect.stringMatching(/^expected one EDN map .* got \[1 2\]/)],
    ]);
  });
});

describe('importJepsen: anything else', () => {
  it('says what a Jepsen history looks like when given something else, and handles empty input', () => {
    expect(importJepsen('hello\nworld', { file: 'x' }).errors).toEqual([{ file: 'x', line: 1, message: expect.stringMatching(/^not a Jepsen history: expected EDN operation maps/) }]);
    expect(importJepsen('\n\n').errors).toEqual([{ file: '<input>', line: 1, message: 'empty history: expected Jepsen operations' }]);
    expect(importJepsen('{:process :nemesis, :type :info, :f :start, :value nil}').errors.map((e) => e.message)).toEqual(['no client operations: cannot tell the model']);
  });

  it('reports an overlong line without parsing it, and ignores a byte order mark and CRLF', () => {
    const text = `\uFEFF${log(['0\t:invoke\t:read\tnil', '0\t:ok\t:read\tnil'])}\r\nINFO  jepsen.util - ${'9'.repeat(200)}`.replace(/\n/g, '\r\n');
    const imported = importJepsen(text, { maxLineChars: 100 });
    expect(imported.errors).toEqual([{ file: '<input>', line: 3, message: 'line is longer than 100 characters; not parsed' }]);
    expect(imported.history?.ops).toHaveLength(1);
  });
});

/** A compile-time check that Edn covers what tests build. */
const sample: Edn = { kind: 'map', entries: [[{ kind: 'keyword', name: 'a' }, 1]] };
void sample;
