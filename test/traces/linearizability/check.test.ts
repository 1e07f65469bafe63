/**
 * CL-LIN search control: budgets and deadlines give `unknown`, never a hang or a guess; keys are
 * searched in turns so a cheap violation is not hidden behind an expensive key; malformed input
 * from a caller is refused loudly.
 */
import { describe, expect, it } from 'vitest';
import { checkLinearizability, kvModel, searchLinearization, type KvInput, type KvOutput } from '../../../traces/linearizability/index.ts';
import type { HistoryOp } from '../../../traces/linearizability/types.ts';
import { DONE, expectProvenViolation, ok } from './helpers.ts';

type Op = HistoryOp<KvInput, KvOutput>;
const put = (key: string, value: string, at: readonly [number, number]): Op => ok<KvInput, KvOutput>({ kind: 'put', key, value }, DONE, at);
const get = (key: string, value: string | null, at: readonly [number, number]): Op => ok<KvInput, KvOutput>({ kind: 'get', key }, { value }, at);

/**
 * `n` concurrent writes and then a read of a value none wrote: refuting it means trying every
 * subset of the writes (n·2^(n−1) nodes even with the cache).
 */
function hard(key: string, n: number): Op[] {
  const writes = Array.from({ length: n }, (_, i) => put(key, String(i), [0, 100]));
  return [...writes, get(key, 'never', [101, 102])];
}

describe('CL-LIN budget and deadline', () => {
  it('a step budget too small to decide yields unknown, naming the key', () => {
    const result = checkLinearizability(hard('a', 18), kvModel, { maxSteps: 5_000 });
    expect(result).toMatchObject({ verdict: 'unknown', reason: 'step-budget', undecided: ['a'], steps: 5_000 });
  });

  it('the same history with enough budget is decided', () => {
    const result = checkLinearizability(hard('a', 8), kvModel, { maxSteps: 1_000_000 });
    expect(result.verdict).toBe('not-linearizable');
    expect(result.verdict === 'not-linearizable' && result.violation.operations.map((op) => op.input.kind)).toEqual(['get']);
  });

  it('a deadline read through the injected clock yields unknown', () => {
    let calls = 0;
    // Time 0 at the start, then far past the deadline: the search notices at its next clock read.
    const now = (): number => (calls++ === 0 ? 0 : 1_000_000);
    const result = checkLinearizability(hard('a', 20), kvModel, { deadlineMs: 1_000, now });
    expect(result).toMatchObject({ verdict: 'unknown', reason: 'deadline' });
    expect(result.steps).toBeLessThan(10_000);
  });

  it('a cheap violation on one key is found although another key would exhaust the budget', () => {
    const history = [...hard('a', 22), put('b', '1', [0, 1]), get('b', '2', [2, 3])];
    const result = checkLinearizability(history, kvModel, { maxSteps: 200_000 });
    expect(result.verdict === 'not-linearizable' && result.violation.key).toBe('b');
  });

  it('a violation is shrunk unless asked not to', () => {
    const history = [put('x', '1', [0, 1]), put('x', '2', [2, 3]), put('x', '3', [4, 5]), get('x', '2', [6, 7]), get('x', '3', [8, 9])];
    const shrunk = checkLinearizability(history, kvModel);
    expectProvenViolation(history, shrunk, kvModel);
    expect(shrunk.verdict === 'not-linearizable' && shrunk.violation).toMatchObject({ operations: [history[2], history[3]], minimal: true, keyOperations: 5 });
    const whole = checkLinearizability(history, kvModel, { shrink: false });
    expect(whole.verdict === 'not-linearizable' && whole.violation).toMatchObject({ operations: history, minimal: false });
  });

  it('an ok operation that returns before its call is a caller bug, refused with RangeError', () => {
    const bad: Op = { ...put('x', '1', [5, 6]), ret: 4 };
    expect(() => checkLinearizability([bad], kvModel)).toThrow(RangeError);
    const missing: Op = { ...put('x', '1', [5, 6]), ret: undefined };
    expect(() => searchLinearization([missing], kvModel, { steps: 10 })).toThrow(/CL-LIN/);
  });

  it('counts steps per key and in total', () => {
    const history = [put('x', '1', [0, 1]), get('x', '1', [2, 3]), put('y', '1', [0, 1])];
    const result = checkLinearizability(history, kvModel);
    expect(result.verdict).toBe('linearizable');
    expect(result.keys.reduce((sum, k) => sum + k.steps, 0)).toBe(result.steps);
    expect(result.keys.find((k) => k.key === 'x')).toMatchObject({ operations: 2, steps: 2 });
  });
});
