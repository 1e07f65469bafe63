/**
 * Test helpers for CL-LIN: a compact way to write small histories, a brute-force reference
 * checker (every order of every subset — only for tiny histories, but obviously right), and the
 * property every reported violation must have.
 */
import { expect } from 'vitest';
import { partitionByKey, searchLinearization } from '../../../traces/linearizability/index.ts';
import type { HistoryOp, LinResult, Model, OpStatus } from '../../../traces/linearizability/types.ts';

let nextClient = 0;

/** An `ok` operation over [call, ret]. */
export function ok<I, O>(input: I, output: O, [call, ret]: readonly [number, number]): HistoryOp<I, O> {
  return { client: nextClient++, opId: 1, input, output, call, ret, status: 'ok' };
}

/** An operation of unknown outcome invoked at `call` (never completed, or completed with `info`). */
export function info<I, O>(input: I, call: number, status: OpStatus = 'info'): HistoryOp<I, O> {
  return { client: nextClient++, opId: 1, input, call, ret: undefined, status };
}

/** No-op output for writes. */
export const DONE = {} as const;

/** Everything with a big budget and no deadline: tests want verdicts, not `unknown`. */
export const BIG = { maxSteps: 50_000_000, shrinkMaxSteps: 50_000_000 } as const;

/**
 * The reference checker: tries every subset of the unknown-outcome operations and every order
 * of the chosen operations, key by key, and accepts an order when no operation in it completed
 * before an earlier one was invoked and the model accepts every output. Exponential; for ≤ 8
 * operations per key.
 */
export function bruteForceLinearizable<S, I, O>(history: readonly HistoryOp<I, O>[], model: Model<S, I, O>): boolean {
  return [...partitionByKey(history, model).values()].every((ops) => bruteForceKey(ops, model));
}

function bruteForceKey<S, I, O>(ops: readonly HistoryOp<I, O>[], model: Model<S, I, O>): boolean {
  const required = ops.filter((op) => op.status === 'ok');
  const optional = ops.filter((op) => op.status !== 'ok');
  if (ops.length > 8) throw new Error('brute force is for tiny histories');
  for (let mask = 0; mask < 1 << optional.length; mask++) {
    const chosen = [...required, ...optional.filter((_, i) => (mask >> i) & 1)];
    if (anyOrder(chosen, [], model.init(), model)) return true;
  }
  return false;
}

/** The end of an operation's window: its return, or never for an unbounded unknown outcome. */
function end<I, O>(op: HistoryOp<I, O>): number {
  return op.ret ?? Number.POSITIVE_INFINITY;
}

function anyOrder<S, I, O>(left: readonly HistoryOp<I, O>[], placed: readonly HistoryOp<I, O>[], state: S, model: Model<S, I, O>): boolean {
  if (left.length === 0) return true;
  for (const op of left) {
    const rest = left.filter((o) => o !== op);
    // `op` goes next: nothing still to place may have completed before `op` was invoked.
    if (rest.some((o) => end(o) < op.call)) continue;
    const r = model.step(state, op.input, op.status === 'ok' ? op.output : undefined);
    if (r.ok && anyOrder(rest, [...placed, op], r.state, model)) return true;
  }
  return false;
}

/** Forgets an `ok` operation's outcome, keeping its interval (the shrinker's relaxation). */
export function relaxed<I, O>(op: HistoryOp<I, O>): HistoryOp<I, O> {
  return { ...op, status: 'info', output: undefined };
}

/**
 * The property of a reported violation: its operations cannot be ordered on their own, nor with
 * the key's other completed operations relaxed; and when it claims to be minimal, relaxing any
 * one of them (with all the others of the key relaxed too) makes the key linearizable.
 */
export function expectProvenViolation<S, I, O>(history: readonly HistoryOp<I, O>[], result: LinResult<I, O>, model: Model<S, I, O>, maxSteps = 50_000_000): void {
  expect(result.verdict).toBe('not-linearizable');
  if (result.verdict !== 'not-linearizable') return;
  const { key, operations, minimal } = result.violation;
  const keyOps = partitionByKey(history, model).get(key) ?? [];
  expect(operations.length).toBeGreaterThan(0);
  for (const op of operations) expect(keyOps).toContain(op);
  // Operations invoked after every kept one returned can only be placed after them: leaving them
  // out changes no verdict, and keeps the searches small on long histories.
  const within = (kept: ReadonlySet<HistoryOp<I, O>>): HistoryOp<I, O>[] => {
    const last = Math.max(...[...kept].map((op) => op.ret ?? Number.POSITIVE_INFINITY));
    return keyOps.filter((op) => op.call <= last).map((op) => (kept.has(op) || op.status !== 'ok' ? op : relaxed(op)));
  };
  expect(searchLinearization(operations, model, { steps: maxSteps }), 'the reported operations on their own').toBe('not-linearizable');
  expect(searchLinearization(within(new Set(operations)), model, { steps: maxSteps }), 'with the key’s other operations relaxed').toBe('not-linearizable');
  if (!minimal) return;
  for (const op of operations) {
    const kept = new Set(operations.filter((o) => o !== op));
    expect(searchLinearization(within(kept), model, { steps: maxSteps }), `relaxing ${JSON.stringify(op.input)}`).toBe('linearizable');
  }
}
