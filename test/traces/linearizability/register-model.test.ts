/**
 * CL-LIN with the register model (Jepsen's etcd tests: read / write / cas [old new]).
 */
import { describe, expect, it } from 'vitest';
import { checkLinearizability, REGISTER_KEY, registerModel, type RegisterInput, type RegisterOutput, type RegisterValue } from '../../../traces/linearizability/index.ts';
import type { HistoryOp } from '../../../traces/linearizability/types.ts';
import { BIG, DONE, bruteForceLinearizable, expectProvenViolation, info, ok } from './helpers.ts';

type Op = HistoryOp<RegisterInput, RegisterOutput>;
const read = (value: RegisterValue, at: readonly [number, number]): Op => ok<RegisterInput, RegisterOutput>({ f: 'read' }, { value }, at);
const write = (value: RegisterValue, at: readonly [number, number]): Op => ok<RegisterInput, RegisterOutput>({ f: 'write', value }, DONE, at);
const cas = (from: RegisterValue, to: RegisterValue, at: readonly [number, number], matched?: boolean): Op =>
  ok<RegisterInput, RegisterOutput>({ f: 'cas', from, to }, matched === undefined ? DONE : { matched }, at);

function verdict(history: readonly Op[]): string {
  const result = checkLinearizability(history, registerModel, BIG);
  if (history.length <= 8) expect(result.verdict === 'linearizable', 'agrees with brute force').toBe(bruteForceLinearizable(history, registerModel));
  if (result.verdict === 'not-linearizable') expectProvenViolation(history, result, registerModel);
  return result.verdict;
}

describe('register model steps (CL-LIN)', () => {
  it('starts as nil and is one partition', () => {
    expect(registerModel.init()).toBeNull();
    expect(registerModel.partition({ f: 'read' })).toBe(REGISTER_KEY);
    expect(registerModel.partition({ f: 'write', value: 3 })).toBe(REGISTER_KEY);
  });

  it('cas writes only on a match; an ok cas claims it matched, matched:false that it did not', () => {
    expect(registerModel.step(3, { f: 'cas', from: 3, to: 0 }, {})).toEqual({ ok: true, state: 0 });
    expect(registerModel.step(2, { f: 'cas', from: 3, to: 0 }, {}).ok).toBe(false);
    expect(registerModel.step(2, { f: 'cas', from: 3, to: 0 }, { matched: false })).toEqual({ ok: true, state: 2 });
    expect(registerModel.step(3, { f: 'cas', from: 3, to: 0 }, { matched: false }).ok).toBe(false);
    expect(registerModel.step(2, { f: 'cas', from: 3, to: 0 }, undefined)).toEqual({ ok: true, state: 2 });
  });

  it('keeps integers and strings apart, and nil apart from both', () => {
    expect(registerModel.equal(1, 1)).toBe(true);
    expect(registerModel.equal(1, '1')).toBe(false);
    expect(registerModel.step(null, { f: 'read' }, { value: 0 }).ok).toBe(false);
    expect(registerModel.hash(5)).toBe(registerModel.hash(5));
  });
});

describe('classic histories (CL-LIN, register model)', () => {
  it('linearizable: write, cas, read', () => {
    expect(verdict([write(1, [0, 1]), cas(1, 2, [2, 3]), read(2, [4, 5])])).toBe('linearizable');
  });

  it('not linearizable: a cas that succeeds twice from the same value', () => {
    expect(verdict([write(1, [0, 1]), cas(1, 2, [2, 5]), cas(1, 3, [2, 5]), read(3, [6, 7])])).toBe('not-linearizable');
  });

  it('a failed cas, read as an observation (Porcupine), constrains the value', () => {
    expect(verdict([write(1, [0, 1]), cas(1, 2, [2, 3], false)])).toBe('not-linearizable');
    expect(verdict([write(1, [0, 1]), cas(5, 2, [2, 3], false), read(1, [4, 5])])).toBe('linearizable');
  });

  it('a stale read is not linearizable', () => {
    expect(verdict([write(1, [0, 1]), write(2, [2, 3]), read(1, [4, 5])])).toBe('not-linearizable');
  });

  it('a timed-out write may explain a later read, and concurrent reads may straddle it', () => {
    const w = info<RegisterInput, RegisterOutput>({ f: 'write', value: 4 }, 2);
    expect(verdict([write(1, [0, 1]), w, read(1, [3, 4]), read(4, [5, 6]), read(4, [7, 8])])).toBe('linearizable');
    expect(verdict([write(1, [0, 1]), w, read(4, [3, 4]), read(1, [5, 6])])).toBe('not-linearizable');
  });

  it('a read of nil after a write is not linearizable; before it, it is', () => {
    expect(verdict([read(null, [0, 1]), write(3, [2, 3])])).toBe('linearizable');
    expect(verdict([write(3, [0, 1]), read(null, [2, 3])])).toBe('not-linearizable');
  });
});
