/**
 * The model and the system under test for the model-based test (CL-LIN's sequential half: the
 * store agrees with a plain Map under get/put/delete/cas; CL-ONCE: retries change nothing).
 *
 * The model is a Map and nothing else: no sessions, no indices. Bookkeeping that only drives the
 * system (the next log index, each client's seq, what a retry must answer) lives in the harness.
 */
import { expect } from 'vitest';
import { encodeCommand, type KvCommand } from '../../../../impl/kv/command.ts';
import { KvStore, type KvOutcome, type KvResult } from '../../../../impl/kv/store.ts';
import type { ClientOperation } from '../../../../spec/schemas/client.ts';

export const MODEL_KEYS = ['a', 'b', 'c'] as const;
export const MODEL_VALUES = ['x', 'y', 'z'] as const;
export const MODEL_CLIENTS = ['alice', 'bob', 'carol'] as const;

/** The model: the key-value map a linearizable store must behave like, one operation at a time. */
export interface KvModel {
  readonly data: Map<string, string>;
}

/** What the harness needs from a store; a buggy twin implements it too. */
export interface StoreUnderTest {
  apply(index: number, data: string): KvOutcome;
  get(key: string): string | null;
  snapshot(): string;
}

/** The system under test plus the harness's bookkeeping. */
export interface KvReal {
  store: StoreUnderTest;
  /** Rebuilds a store from a snapshot (the real one: `KvStore.restore`). */
  readonly restore: (snapshot: string) => StoreUnderTest;
  nextIndex: number;
  readonly seqs: Map<string, number>;
  /** Each client's latest command and the result it got, for retries. */
  readonly latest: Map<string, { readonly cmd: KvCommand; readonly result: KvResult }>;
}

/** Resolves a parameter index against a fixed list (modulo), so commands stay valid while shrinking. */
export function pick<T>(list: readonly T[], i: number): T {
  const item = list[i % list.length];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

/** The model's answer to one operation, and its effect on the model. */
export function modelStep(model: KvModel, op: ClientOperation): KvResult {
  const current = model.data.get(op.key) ?? null;
  switch (op.kind) {
    case 'get':
      return { kind: 'ok', value: current };
    case 'put':
      model.data.set(op.key, op.value);
      return { kind: 'ok' };
    case 'delete':
      model.data.delete(op.key);
      return { kind: 'ok' };
    case 'cas':
      if (current !== op.expected) return { kind: 'cas-mismatch', current };
      model.data.set(op.key, op.value);
      return { kind: 'ok' };
  }
}

/** Sends a fresh command (next seq for its client) through the store and checks it against the model. */
export function runFresh(model: KvModel, real: KvReal, clientId: string, op: ClientOperation): void {
  const seq = (real.seqs.get(clientId) ?? 0) + 1;
  real.seqs.set(clientId, seq);
  const cmd: KvCommand = { clientId, seq, op };
  const expected = modelStep(model, op);
  const actual = real.store.apply(real.nextIndex++, encodeCommand(cmd));
  expect(actual).toStrictEqual(expected);
  real.latest.set(clientId, { cmd, result: expected });
  expectSameData(model, real);
}

/** Every key reads the same in the store as in the model. */
export function expectSameData(model: KvModel, real: KvReal): void {
  for (const key of MODEL_KEYS) expect(real.store.get(key), `key ${key}`).toBe(model.data.get(key) ?? null);
}

/** A fresh model and system; `makeStore` lets a test substitute a buggy twin. */
export function setup(
  makeStore: () => StoreUnderTest = () => new KvStore(),
  restore: (snapshot: string) => StoreUnderTest = (s) => KvStore.restore(s),
): { model: KvModel; real: KvReal } {
  return {
    model: { data: new Map() },
    real: { store: makeStore(), restore, nextIndex: 1, seqs: new Map(), latest: new Map() },
  };
}
