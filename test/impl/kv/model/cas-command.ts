/**
 * Model-based test command: compare-and-set. What it expects is resolved against the model at run
 * time — the current value (a match), `null` (absent), or a fixed value (often a mismatch) — so
 * that both outcomes stay reachable however the sequence shrinks.
 */
import type fc from 'fast-check';
import { MODEL_CLIENTS, MODEL_KEYS, MODEL_VALUES, pick, runFresh, type KvModel, type KvReal } from './kv-model.ts';

export type Expectation = 'current' | 'absent' | 'value';

export class CasCommand implements fc.Command<KvModel, KvReal> {
  constructor(
    readonly client: number,
    readonly key: number,
    readonly expectation: Expectation,
    readonly expectedValue: number,
    readonly value: number,
  ) {}

  check(_model: Readonly<KvModel>): boolean {
    return true;
  }

  run(model: KvModel, real: KvReal): void {
    const key = pick(MODEL_KEYS, this.key);
    const expected =
      this.expectation === 'current'
        ? (model.data.get(key) ?? null)
        : this.expectation === 'absent'
          ? null
          : pick(MODEL_VALUES, this.expectedValue);
    runFresh(model, real, pick(MODEL_CLIENTS, this.client), { kind: 'cas', key, expected, value: pick(MODEL_VALUES, this.value) });
  }

  toString(): string {
    const expected = this.expectation === 'value' ? pick(MODEL_VALUES, this.expectedValue) : this.expectation;
    return `cas(${pick(MODEL_CLIENTS, this.client)}, ${pick(MODEL_KEYS, this.key)}: ${expected} -> ${pick(MODEL_VALUES, this.value)})`;
  }
}
