/** Model-based test command: a put overwrites the key in the model and the store alike. */
import type fc from 'fast-check';
import { MODEL_CLIENTS, MODEL_KEYS, MODEL_VALUES, pick, runFresh, type KvModel, type KvReal } from './kv-model.ts';

export class PutCommand implements fc.Command<KvModel, KvReal> {
  constructor(
    readonly client: number,
    readonly key: number,
    readonly value: number,
  ) {}

  check(_model: Readonly<KvModel>): boolean {
    return true;
  }

  run(model: KvModel, real: KvReal): void {
    const op = { kind: 'put', key: pick(MODEL_KEYS, this.key), value: pick(MODEL_VALUES, this.value) } as const;
    runFresh(model, real, pick(MODEL_CLIENTS, this.client), op);
  }

  toString(): string {
    return `put(${pick(MODEL_CLIENTS, this.client)}, ${pick(MODEL_KEYS, this.key)}=${pick(MODEL_VALUES, this.value)})`;
  }
}
