/** Model-based test command: a get through the log returns the model's value (`null` when absent). */
import type fc from 'fast-check';
import { MODEL_CLIENTS, MODEL_KEYS, pick, runFresh, type KvModel, type KvReal } from './kv-model.ts';

export class GetCommand implements fc.Command<KvModel, KvReal> {
  constructor(
    readonly client: number,
    readonly key: number,
  ) {}

  check(_model: Readonly<KvModel>): boolean {
    return true;
  }

  run(model: KvModel, real: KvReal): void {
    runFresh(model, real, pick(MODEL_CLIENTS, this.client), { kind: 'get', key: pick(MODEL_KEYS, this.key) });
  }

  toString(): string {
    return `get(${pick(MODEL_CLIENTS, this.client)}, ${pick(MODEL_KEYS, this.key)})`;
  }
}
