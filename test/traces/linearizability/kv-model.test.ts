/**
 * CL-LIN with the v1 key-value model: the model's steps, and the classic small histories —
 * each a picture of one way a store can fail (or look like it fails, but not).
 */
import { describe, expect, it } from 'vitest';
import { checkLinearizability, kvModel, type KvInput, type KvOutput } from '../../../traces/linearizability/index.ts';
import type { HistoryOp } from '../../../traces/linearizability/types.ts';
import { BIG, DONE, bruteForceLinearizable, expectProvenViolation, info, ok } from './helpers.ts';

type Op = HistoryOp<KvInput, KvOutput>;
const put = (key: string, value: string, at: readonly [number, number]): Op => ok<KvInput, KvOutput>({ kind: 'put', key, value }, DONE, at);
const get = (key: string, value: string | null, at: readonly [number, number]): Op => ok<KvInput, KvOutput>({ kind: 'get', key }, { value }, at);
const del = (key: string, at: readonly [number, number]): Op => ok<KvInput, KvOutput>({ kind: 'delete', key }, DONE, at);
const cas = (key: string, expected: string | null, value: string, at: readonly [number, number]): Op => ok<KvInput, KvOutput>({ kind: 'cas', key, expected, value }, DONE, at);
const putInfo = (key: string, value: string, call: number): Op => info<KvInput, KvOutput>({ kind: 'put', key, value }, call);

function verdict(history: readonly Op[]): string {
  const result = checkLinearizability(history, kvModel, BIG);
  // Every verdict here is small enough to confirm by brute force, per key.
  if (history.length <= 8) expect(result.verdict === 'linearizable', 'agrees with brute force').toBe(bruteForceLinearizable(history, kvModel));
  if (result.verdict === 'not-linearizable') expectProvenViolation(history, result, kvModel);
  return result.verdict;
}

describe('kv model steps (CL-LIN)', () => {
  it('reads null for a key never written, and what the last put wrote', () => {
    expect(kvModel.init()).toBeNull();
    expect(kvModel.step(null, { kind: 'get', key: 'x' }, { value: null })).toEqual({ ok: true, state: null });
    expect(kvModel.step(null, { kind: 'get', key: 'x' }, { value: '1' }).ok).toBe(false);
    expect(kvModel.step(null, { kind: 'put', key: 'x', value: '1' }, {})).toEqual({ ok: true, state: '1' });
    expect(kvModel.step('1', { kind: 'delete', key: 'x' }, {})).toEqual({ ok: true, state: null });
  });

  it('accepts an ok cas only when the value matched; an unknown cas writes only if it matches', () => {
    const c = { kind: 'cas', key: 'x', expected: '1', value: '2' } as const;
    expect(kvModel.step('1', c, {})).toEqual({ ok: true, state: '2' });
    expect(kvModel.step('3', c, {}).ok).toBe(false);
    expect(kvModel.step('3', c, undefined)).toEqual({ ok: true, state: '3' });
    expect(kvModel.step('1', c, undefined)).toEqual({ ok: true, state: '2' });
    expect(kvModel.step(null, { kind: 'cas', key: 'x', expected: null, value: '1' }, {})).toEqual({ ok: true, state: '1' });
  });

  it('treats a get whose result is unknown as unconstrained, and never as a change', () => {
    expect(kvModel.step('1', { kind: 'get', key: 'x' }, undefined)).toEqual({ ok: true, state: '1' });
    expect(kvModel.step('1', { kind: 'get', key: 'x' }, {})).toEqual({ ok: true, state: '1' });
    expect(kvModel.readOnly?.({ kind: 'get', key: 'x' })).toBe(true);
    expect(kvModel.readOnly?.({ kind: 'put', key: 'x', value: '1' })).toBe(false);
  });

  it('partitions by key and hashes consistently with equality', () => {
    expect(kvModel.partition({ kind: 'delete', key: 'k' })).toBe('k');
    expect(kvModel.hash('abc')).toBe(kvModel.hash(`${'ab'}c`));
    expect(kvModel.hash(null)).not.toBe(kvModel.hash(''));
  });
});

describe('classic histories (CL-LIN, kv model)', () => {
  it('a sequential history that reads back what it wrote is linearizable', () => {
    expect(verdict([put('x', '1', [0, 1]), get('x', '1', [2, 3]), del('x', [4, 5]), get('x', null, [6, 7])])).toBe('linearizable');
  });

  it('a read of a value never written is not linearizable — and is itself the violation', () => {
    const history = [put('x', '1', [0, 1]), get('x', '7', [2, 3])];
    expect(verdict(history)).toBe('not-linearizable');
    const result = checkLinearizability(history, kvModel, BIG);
    expect(result.verdict === 'not-linearizable' && result.violation.operations).toEqual([history[1]]);
  });

  it('a stale read after a completed write is not linearizable; the violation is the write it missed and the read', () => {
    const [w1, w2, r] = [put('x', '1', [0, 1]), put('x', '2', [2, 3]), get('x', '1', [4, 5])];
    expect(verdict([w1!, w2!, r!])).toBe('not-linearizable');
    const result = checkLinearizability([w1!, w2!, r!], kvModel, BIG);
    expect(result.verdict === 'not-linearizable' && result.violation).toMatchObject({ key: 'x', operations: [w2, r], minimal: true });
  });

  it('a read concurrent with a write may see either value', () => {
    expect(verdict([put('x', '1', [0, 1]), put('x', '2', [2, 6]), get('x', '2', [3, 4]), get('x', '1', [3, 5])])).toBe('linearizable');
  });

  it('two concurrent writes may be read back in either order, but not flip back', () => {
    const w = [put('x', '1', [0, 4]), put('x', '2', [1, 3])];
    expect(verdict([...w, get('x', '1', [5, 6])])).toBe('linearizable');
    expect(verdict([...w, get('x', '2', [5, 6])])).toBe('linearizable');
    expect(verdict([...w, get('x', '2', [5, 6]), get('x', '1', [7, 8])])).toBe('not-linearizable');
    // Two readers concurrent with each other disagreeing about the final value: impossible too.
    expect(verdict([...w, get('x', '2', [5, 8]), get('x', '1', [6, 7]), get('x', '2', [9, 10])])).toBe('not-linearizable');
  });

  it('a write whose outcome is unknown may take effect late…', () => {
    expect(verdict([putInfo('x', '1', 0), get('x', null, [1, 2]), get('x', '1', [3, 4])])).toBe('linearizable');
  });

  it('…or not at all…', () => {
    expect(verdict([putInfo('x', '1', 0), get('x', null, [5, 6])])).toBe('linearizable');
    expect(verdict([info<KvInput, KvOutput>({ kind: 'put', key: 'x', value: '1' }, 0, 'pending'), get('x', null, [5, 6])])).toBe('linearizable');
  });

  it('…but only once, and never before it was invoked', () => {
    expect(verdict([putInfo('x', '1', 0), get('x', '1', [1, 2]), put('x', '2', [3, 4]), get('x', '1', [5, 6])])).toBe('not-linearizable');
    expect(verdict([get('x', '1', [0, 1]), putInfo('x', '1', 2)])).toBe('not-linearizable');
  });

  it('an unknown cas may have matched or not', () => {
    const history = [put('x', '1', [0, 1]), info<KvInput, KvOutput>({ kind: 'cas', key: 'x', expected: '1', value: '2' }, 2)];
    expect(verdict([...history, get('x', '2', [3, 4])])).toBe('linearizable');
    expect(verdict([...history, get('x', '1', [3, 4])])).toBe('linearizable');
  });

  it('an ok cas proves the value matched at some point inside the call', () => {
    expect(verdict([put('x', '1', [0, 1]), cas('x', '1', '2', [2, 3]), get('x', '2', [4, 5])])).toBe('linearizable');
    expect(verdict([put('x', '1', [0, 1]), cas('x', '3', '4', [2, 3])])).toBe('not-linearizable');
    expect(verdict([cas('x', null, '1', [0, 1]), get('x', '1', [2, 3])])).toBe('linearizable');
  });

  it('a delete makes the key absent again', () => {
    expect(verdict([put('x', '1', [0, 1]), del('x', [2, 3]), get('x', '1', [4, 5])])).toBe('not-linearizable');
  });

  it('keys are independent: each is checked on its own, and the violation names its key', () => {
    const history = [put('x', '1', [0, 10]), put('y', '1', [0, 10]), get('y', '1', [11, 12]), get('x', '2', [11, 12])];
    const result = checkLinearizability(history, kvModel, BIG);
    expect(result.verdict).toBe('not-linearizable');
    expect(result.verdict === 'not-linearizable' && result.violation.key).toBe('x');
    expect(result.keys.map((k) => k.key).sort()).toEqual(['x', 'y']);
    expect(checkLinearizability(history.slice(0, 3), kvModel, BIG).keys).toEqual([
      expect.objectContaining({ key: 'x', operations: 1, verdict: 'linearizable' }),
      expect.objectContaining({ key: 'y', operations: 2, verdict: 'linearizable' }),
    ]);
  });

  it('an empty history and one with only unknown outcomes are linearizable', () => {
    expect(checkLinearizability([], kvModel).verdict).toBe('linearizable');
    expect(verdict([putInfo('x', '1', 0), putInfo('x', '2', 1)])).toBe('linearizable');
  });

  it('events at the same instant are concurrent', () => {
    expect(verdict([put('x', '1', [0, 2]), get('x', '1', [2, 3])])).toBe('linearizable');
    expect(verdict([get('x', '1', [0, 2]), put('x', '1', [2, 3])])).toBe('linearizable');
  });
});
