/**
 * CL-LIN with the list-append model (Jepsen kv histories: append / get / put, values grow by
 * concatenation of unique elements).
 */
import { describe, expect, it } from 'vitest';
import { checkLinearizability, listAppendModel, type ListAppendInput, type ListAppendOutput } from '../../../traces/linearizability/index.ts';
import type { HistoryOp } from '../../../traces/linearizability/types.ts';
import { BIG, DONE, bruteForceLinearizable, expectProvenViolation, info, ok } from './helpers.ts';

type Op = HistoryOp<ListAppendInput, ListAppendOutput>;
const append = (key: string, value: string, at: readonly [number, number]): Op => ok<ListAppendInput, ListAppendOutput>({ f: 'append', key, value }, DONE, at);
const put = (key: string, value: string, at: readonly [number, number]): Op => ok<ListAppendInput, ListAppendOutput>({ f: 'put', key, value }, DONE, at);
const get = (key: string, value: string, at: readonly [number, number]): Op => ok<ListAppendInput, ListAppendOutput>({ f: 'get', key }, { value }, at);

function verdict(history: readonly Op[]): string {
  const result = checkLinearizability(history, listAppendModel, BIG);
  if (history.length <= 8) expect(result.verdict === 'linearizable', 'agrees with brute force').toBe(bruteForceLinearizable(history, listAppendModel));
  if (result.verdict === 'not-linearizable') expectProvenViolation(history, result, listAppendModel);
  return result.verdict;
}

describe('list-append model steps (CL-LIN)', () => {
  it('appends by concatenation, reads the whole value, starts empty', () => {
    const s0 = listAppendModel.init();
    expect(s0.value).toBe('');
    const s1 = listAppendModel.step(s0, { f: 'append', key: 'k', value: 'x 0 0 y' }, {}).state;
    const s2 = listAppendModel.step(s1, { f: 'append', key: 'k', value: 'x 0 1 y' }, {}).state;
    expect(s2.value).toBe('x 0 0 yx 0 1 y');
    expect(listAppendModel.step(s2, { f: 'get', key: 'k' }, { value: 'x 0 0 yx 0 1 y' }).ok).toBe(true);
    expect(listAppendModel.step(s2, { f: 'get', key: 'k' }, { value: 'x 0 1 yx 0 0 y' }).ok).toBe(false);
    expect(listAppendModel.step(s2, { f: 'put', key: 'k', value: 'z' }, {}).state.value).toBe('z');
  });

  it('keeps the incremental hash equal to the hash of the whole value', () => {
    const s0 = listAppendModel.init();
    const viaAppends = ['a', 'bc', '', 'def'].reduce((s, v) => listAppendModel.step(s, { f: 'append', key: 'k', value: v }, {}).state, s0);
    const viaPut = listAppendModel.step(s0, { f: 'put', key: 'k', value: 'abcdef' }, {}).state;
    expect(listAppendModel.equal(viaAppends, viaPut)).toBe(true);
    expect(listAppendModel.hash(viaAppends)).toBe(listAppendModel.hash(viaPut));
  });
});

describe('classic histories (CL-LIN, list-append model)', () => {
  it('appends read back in order are linearizable; concurrent appends in either order', () => {
    expect(verdict([append('k', 'a', [0, 1]), append('k', 'b', [2, 3]), get('k', 'ab', [4, 5])])).toBe('linearizable');
    expect(verdict([append('k', 'a', [0, 3]), append('k', 'b', [1, 2]), get('k', 'ba', [4, 5])])).toBe('linearizable');
    expect(verdict([append('k', 'a', [0, 1]), append('k', 'b', [2, 3]), get('k', 'ba', [4, 5])])).toBe('not-linearizable');
  });

  it('a lost append (a completed append missing from a later read) is the two-operation violation', () => {
    const [a, b, r] = [append('k', 'a', [0, 1]), append('k', 'b', [2, 3]), get('k', 'a', [4, 5])];
    const result = checkLinearizability([a!, b!, r!], listAppendModel, BIG);
    expect(result.verdict === 'not-linearizable' && result.violation.operations).toEqual([b, r]);
  });

  it('put resets the value; an unknown append may appear later or never', () => {
    expect(verdict([append('k', 'a', [0, 1]), put('k', 'z', [2, 3]), get('k', 'z', [4, 5])])).toBe('linearizable');
    const unknown = info<ListAppendInput, ListAppendOutput>({ f: 'append', key: 'k', value: 'q' }, 0);
    expect(verdict([unknown, get('k', '', [1, 2]), get('k', 'q', [3, 4])])).toBe('linearizable');
    expect(verdict([unknown, get('k', '', [5, 6])])).toBe('linearizable');
    expect(verdict([unknown, get('k', 'qq', [5, 6])])).toBe('not-linearizable');
  });

  it('a key never written reads as empty', () => {
    expect(verdict([get('k', '', [0, 1])])).toBe('linearizable');
  });
});
