/**
 * Model-based test command: the replica is replaced by one restored from its snapshot (§7). The
 * model does not change; everything after must behave as if nothing happened, retries included.
 */
import type fc from 'fast-check';
import { expect } from 'vitest';
import { expectSameData, type KvModel, type KvReal } from './kv-model.ts';

export class SnapshotCommand implements fc.Command<KvModel, KvReal> {
  check(_model: Readonly<KvModel>): boolean {
    return true;
  }

  run(model: KvModel, real: KvReal): void {
    const snapshot = real.store.snapshot();
    real.store = real.restore(snapshot);
    expect(real.store.snapshot()).toBe(snapshot);
    expectSameData(model, real);
  }

  toString(): string {
    return 'snapshot+restore';
  }
}
