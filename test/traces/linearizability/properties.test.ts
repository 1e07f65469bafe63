/**
 * CL-LIN properties (fast-check; a failing run prints its seed and path for replay):
 * - the search agrees with a brute-force reference on every small random history, for all models
 *   and every kind of outcome (ok, info, pending, bounded unknown);
 * - histories cut from a real sequential execution, with random concurrency around each
 *   operation's linearization point, are always linearizable;
 * - mutating one read to a value never written always makes them non-linearizable, and the
 *   violation reported is a proof (see expectProvenViolation).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkLinearizability,
  kvModel,
  listAppendModel,
  registerModel,
  type KvInput,
  type KvOutput,
  type ListAppendInput,
  type ListAppendOutput,
  type RegisterInput,
  type RegisterOutput,
} from '../../../traces/linearizability/index.ts';
import type { HistoryOp, Model } from '../../../traces/linearizability/types.ts';
import { BIG, bruteForceLinearizable, expectProvenViolation } from './helpers.ts';

// ---------------------------------------------------------------------------------------------
// Differential: search vs brute force on tiny random histories

/** Interval and outcome of a random operation; outputs come from the model-specific arbitrary. */
const shape = fc.record({
  call: fc.integer({ min: 0, max: 12 }),
  length: fc.integer({ min: 0, max: 6 }),
  status: fc.constantFrom('ok', 'ok', 'ok', 'info', 'pending', 'bounded'),
});

function historyOf<I, O>(specs: readonly { call: number; length: number; status: string; input: I; output: O }[]): HistoryOp<I, O>[] {
  return specs.map((s, i) => {
    const base = { client: i, opId: 1, input: s.input, call: s.call };
    if (s.status === 'ok') return { ...base, output: s.output, ret: s.call + s.length, status: 'ok' };
    if (s.status === 'bounded') return { ...base, ret: s.call + s.length, status: 'info' };
    return { ...base, ret: undefined, status: s.status === 'info' ? 'info' : 'pending' };
  });
}

const v = fc.constantFrom('1', '2', '3');
const kvOp = fc.record({ key: fc.constantFrom('x', 'y'), kind: fc.constantFrom('get', 'put', 'delete', 'cas'), value: v, expected: fc.option(v, { nil: null }), read: fc.option(v, { nil: null }) });
const kvSpec = fc.tuple(shape, kvOp).map(([s, o]) => {
  const input: KvInput =
    o.kind === 'get' ? { kind: 'get', key: o.key } : o.kind === 'put' ? { kind: 'put', key: o.key, value: o.value } : o.kind === 'delete' ? { kind: 'delete', key: o.key } : { kind: 'cas', key: o.key, expected: o.expected, value: o.value };
  const output: KvOutput = o.kind === 'get' ? { value: o.read } : {};
  return { ...s, input, output };
});

const rv = fc.constantFrom(0, 1, 2);
const registerSpec = fc.tuple(shape, fc.constantFrom('read', 'write', 'cas'), rv, rv, fc.option(rv, { nil: null }), fc.boolean()).map(([s, f, a, b, read, matched]) => {
  const input: RegisterInput = f === 'read' ? { f: 'read' } : f === 'write' ? { f: 'write', value: a } : { f: 'cas', from: a, to: b };
  const output: RegisterOutput = f === 'read' ? { value: read } : f === 'cas' && !matched ? { matched: false } : {};
  return { ...s, input, output };
});

const la = fc.constantFrom('a', 'b');
const listAppendSpec = fc.tuple(shape, fc.constantFrom('append', 'append', 'get', 'put'), la, fc.constantFrom('', 'a', 'b', 'ab', 'ba', 'aa')).map(([s, f, value, read]) => {
  const input: ListAppendInput = f === 'get' ? { f: 'get', key: 'k' } : f === 'put' ? { f: 'put', key: 'k', value } : { f: 'append', key: 'k', value };
  const output: ListAppendOutput = f === 'get' ? { value: read } : {};
  return { ...s, input, output };
});

function agreesWithBruteForce<S, I, O>(model: Model<S, I, O>, specs: readonly { call: number; length: number; status: string; input: I; output: O }[]): void {
  const history = historyOf(specs);
  const result = checkLinearizability(history, model, BIG);
  expect(result.verdict).toBe(bruteForceLinearizable(history, model) ? 'linearizable' : 'not-linearizable');
  if (result.verdict === 'not-linearizable') expectProvenViolation(history, result, model);
}

describe('CL-LIN search agrees with brute force', () => {
  it('kv model, two keys', () => {
    fc.assert(fc.property(fc.array(kvSpec, { maxLength: 7 }), (specs) => agreesWithBruteForce(kvModel, specs)), { numRuns: 600 });
  });

  it('register model, with failed cas observed', () => {
    fc.assert(fc.property(fc.array(registerSpec, { maxLength: 7 }), (specs) => agreesWithBruteForce(registerModel, specs)), { numRuns: 600 });
  });

  it('list-append model', () => {
    fc.assert(fc.property(fc.array(listAppendSpec, { maxLength: 7 }), (specs) => agreesWithBruteForce(listAppendModel, specs)), { numRuns: 600 });
  });
});

// ---------------------------------------------------------------------------------------------
// Linearizable by construction

/**
 * One operation of a run: what it does, whether its outcome is reported, and how far its
 * interval reaches before and after its linearization point.
 */
const runStep = fc.record({
  key: fc.constantFrom('a', 'b', 'c'),
  kind: fc.constantFrom('get', 'get', 'put', 'put', 'delete', 'cas'),
  value: fc.constantFrom('1', '2', '3', '4'),
  expected: fc.option(fc.constantFrom('1', '2', '3', '4'), { nil: null }),
  outcome: fc.constantFrom('ok', 'ok', 'ok', 'ok', 'info', 'lost'),
  before: fc.nat({ max: 40 }),
  after: fc.nat({ max: 40 }),
});
type RunStep = typeof runStep extends fc.Arbitrary<infer T> ? T : never;

/**
 * Executes the steps in order on a real sequential store — the order of their linearization
 * points (10, 20, 30, …) — and records each as an operation whose interval contains its point.
 * `info` operations took effect but report nothing; `lost` ones (an `info` that never took
 * effect) report nothing and change nothing; a cas that did not match is left out, as trace
 * format v1 reports it with `fail`.
 */
function run(steps: readonly RunStep[]): HistoryOp<KvInput, KvOutput>[] {
  const store = new Map<string, string>();
  const history: HistoryOp<KvInput, KvOutput>[] = [];
  steps.forEach((s, i) => {
    const point = 10 * (i + 1);
    const input: KvInput =
      s.kind === 'get' ? { kind: 'get', key: s.key } : s.kind === 'put' ? { kind: 'put', key: s.key, value: s.value } : s.kind === 'delete' ? { kind: 'delete', key: s.key } : { kind: 'cas', key: s.key, expected: s.expected, value: s.value };
    const base = { client: i, opId: 1, input, call: point - s.before };
    if (s.outcome === 'lost') {
      history.push({ ...base, ret: undefined, status: 'info' });
      return;
    }
    const current = store.get(s.key) ?? null;
    if (input.kind === 'cas' && current !== input.expected) return;
    if (input.kind === 'put' || input.kind === 'cas') store.set(s.key, input.value);
    if (input.kind === 'delete') store.delete(s.key);
    if (s.outcome === 'info') history.push({ ...base, ret: undefined, status: 'info' });
    else history.push({ ...base, output: input.kind === 'get' ? { value: current } : {}, ret: point + s.after, status: 'ok' });
  });
  return history;
}

describe('CL-LIN on histories from a sequential execution', () => {
  it('is always linearizable, however the intervals overlap', () => {
    fc.assert(
      fc.property(fc.array(runStep, { maxLength: 60 }), (steps) => {
        expect(checkLinearizability(run(steps), kvModel, BIG).verdict).toBe('linearizable');
      }),
      { numRuns: 300 },
    );
  });

  it('is never linearizable once a read returns a value never written, and the violation is a proof', () => {
    fc.assert(
      fc.property(fc.array(runStep, { minLength: 1, maxLength: 60 }), fc.nat(), (steps, pick) => {
        const history = run(steps);
        const reads = history.filter((op) => op.status === 'ok' && op.input.kind === 'get');
        fc.pre(reads.length > 0);
        const target = reads[pick % reads.length]!;
        const mutated = history.map((op) => (op === target ? { ...op, output: { value: 'never written' } } : op));
        const result = checkLinearizability(mutated, kvModel, BIG);
        expectProvenViolation(mutated, result, kvModel);
        // A read of a value never written is a violation on its own.
        expect(result.verdict === 'not-linearizable' && result.violation.operations.map((op) => op.output)).toEqual([{ value: 'never written' }]);
      }),
      { numRuns: 300 },
    );
  });
});
