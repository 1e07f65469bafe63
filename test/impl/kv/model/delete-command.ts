/** Model-based test command: a delete makes the key read as `null` (also when it was absent). */
import type fc from 'fast-check';
import { MODEL_CLIENTS, MODEL_KEYS, pick, runFresh, type KvModel, type KvReal } from './kv-model.ts';

export class DeleteCommand implements fc.Command<KvModel, KvReal> {
  constructor(
    readonly client: number,
    readonly key: number,
  ) {}

  check(_model: Readonly<KvModel>): boolean {
    return true;
  }

  run(model: KvModel, real: KvReal): void {
    runFresh(model, real, pick(MODEL_CLIENTS, this.client), { kind: 'delete', key: pick(MODEL_KEYS, this.key) });
  }

  toString(): string {
    return `delete(${pick(MODEL_CLIENTS, this.client)}, ${pick(MODEL_KEYS, this.key)})`;
  }
}
