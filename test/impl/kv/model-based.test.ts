/**
 * Model-based test: the store agrees with a plain Map for get/put/delete/cas, one operation at a
 * time (the sequential specification behind CL-LIN), answers retries from its session table
 * (CL-ONCE), and survives snapshot/restore anywhere in between. Then the harness proves it can
 * fail: a buggy twin is caught.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCommand, encodeCommand } from '../../../impl/kv/command.ts';
import { KvStore } from '../../../impl/kv/store.ts';
import { CasCommand } from './model/cas-command.ts';
import { DeleteCommand } from './model/delete-command.ts';
import { GetCommand } from './model/get-command.ts';
import { setup, type KvModel, type KvReal, type StoreUnderTest } from './model/kv-model.ts';
import { PutCommand } from './model/put-command.ts';
import { RetryCommand } from './model/retry-command.ts';
import { SnapshotCommand } from './model/snapshot-command.ts';

const index = fc.nat({ max: 8 });

const allCommands: fc.Arbitrary<fc.Command<KvModel, KvReal>>[] = [
  fc.tuple(index, index).map(([c, k]) => new GetCommand(c, k)),
  fc.tuple(index, index, index).map(([c, k, v]) => new PutCommand(c, k, v)),
  fc.tuple(index, index).map(([c, k]) => new DeleteCommand(c, k)),
  fc
    .tuple(index, index, fc.constantFrom('current', 'absent', 'value') as fc.Arbitrary<'current' | 'absent' | 'value'>, index, index)
    .map(([c, k, e, ev, v]) => new CasCommand(c, k, e, ev, v)),
  index.map((c) => new RetryCommand(c)),
  fc.constant(new SnapshotCommand()),
];

function property(makeStore?: () => StoreUnderTest, restore?: (s: string) => StoreUnderTest) {
  return fc.property(fc.commands(allCommands, { maxCommands: 80 }), (cmds) => {
    fc.modelRun(() => setup(makeStore, restore), cmds);
  });
}

/**
 * A buggy twin: a cas that expects absence writes unconditionally. A plausible bug (treating
 * `expected: null` as "don't care"), and one only a cas on a present key exposes.
 */
class CasNullIsPutStore implements StoreUnderTest {
  constructor(readonly inner: KvStore) {}
  apply(index: number, data: string) {
    const cmd = decodeCommand(data);
    if (cmd.op.kind !== 'cas' || cmd.op.expected !== null) return this.inner.apply(index, data);
    return this.inner.apply(index, encodeCommand({ ...cmd, op: { kind: 'put', key: cmd.op.key, value: cmd.op.value } }));
  }
  get(key: string) {
    return this.inner.get(key);
  }
  snapshot() {
    return this.inner.snapshot();
  }
}

/** Another buggy twin: sessions are lost on restore, so a retry after a snapshot executes twice (CL-ONCE). */
function restoreWithoutSessions(snapshot: string): StoreUnderTest {
  const parsed = JSON.parse(snapshot) as { sessions: unknown[] };
  return KvStore.restore(JSON.stringify({ ...parsed, sessions: [] }));
}

describe('KvStore against a Map model (CL-LIN sequential spec, CL-ONCE)', () => {
  it('agrees with the model for get/put/delete/cas, retries and snapshot/restore', () => {
    fc.assert(property(), { numRuns: 300 });
  });

  it('the harness catches a store whose cas ignores expected null', () => {
    const result = fc.check(property(() => new CasNullIsPutStore(new KvStore())), { numRuns: 300, seed: 1 });
    expect(result.failed, 'the buggy twin passed: the harness cannot see cas semantics').toBe(true);
  });

  it('CL-ONCE: the harness catches a restore that drops the session table', () => {
    const result = fc.check(property(undefined, restoreWithoutSessions), { numRuns: 300, seed: 1 });
    expect(result.failed, 'the buggy twin passed: the harness cannot see lost sessions').toBe(true);
  });
});
