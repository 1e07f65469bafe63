/**
 * Model-based test command (CL-ONCE): a client re-sends its latest command with the same seq, as it
 * would after losing the answer. The store must answer `duplicate` with the first result, and the
 * model does not change.
 */
import type fc from 'fast-check';
import { expect } from 'vitest';
import { encodeCommand } from '../../../../impl/kv/command.ts';
import { MODEL_CLIENTS, expectSameData, pick, type KvModel, type KvReal } from './kv-model.ts';

export class RetryCommand implements fc.Command<KvModel, KvReal> {
  constructor(readonly client: number) {}

  check(_model: Readonly<KvModel>): boolean {
    return true;
  }

  run(model: KvModel, real: KvReal): void {
    const latest = real.latest.get(pick(MODEL_CLIENTS, this.client));
    if (latest === undefined) return; // this client has sent nothing yet: nothing to retry
    const actual = real.store.apply(real.nextIndex++, encodeCommand(latest.cmd));
    expect(actual).toStrictEqual({ kind: 'duplicate', outcome: latest.result });
    expectSameData(model, real);
  }

  toString(): string {
    return `retry(${pick(MODEL_CLIENTS, this.client)})`;
  }
}
