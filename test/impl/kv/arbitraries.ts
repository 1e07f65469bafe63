/**
 * fast-check arbitraries for KV commands. Keys, values and clients come from tiny alphabets so that
 * operations collide (a cas finds what a put wrote, a retry meets a later command of another client).
 */
import fc from 'fast-check';
import type { ClientOperation } from '../../../spec/schemas/client.ts';
import type { KvCommand } from '../../../impl/kv/command.ts';

export const KEYS = ['a', 'b', 'c'] as const;
export const VALUES = ['1', '2', '3'] as const;
export const CLIENTS = ['c0', 'c1', 'c2', 'c3', 'c4'] as const;

export const arbKey = fc.constantFrom(...KEYS);
export const arbValue = fc.constantFrom(...VALUES);

/** Plain objects only: fast-check may otherwise build null-prototype ones, which JSON.parse never does. */
const plain = { noNullPrototype: true } as const;

export const arbOp: fc.Arbitrary<ClientOperation> = fc.oneof(
  fc.record({ kind: fc.constant('get' as const), key: arbKey }, plain),
  fc.record({ kind: fc.constant('put' as const), key: arbKey, value: arbValue }, plain),
  fc.record({ kind: fc.constant('delete' as const), key: arbKey }, plain),
  fc.record({ kind: fc.constant('cas' as const), key: arbKey, expected: fc.option(arbValue, { nil: null }), value: arbValue }, plain),
);

/** Any command: seqs are random, so sequences contain retries, stale commands and gaps. */
export const arbCommand: fc.Arbitrary<KvCommand> = fc.record(
  { clientId: fc.constantFrom(...CLIENTS), seq: fc.nat({ max: 4 }), op: arbOp },
  plain,
);

/** A log entry for the store: a command, or an entry without one (no-op, configuration) to `skip`. */
export type LogItem = { readonly kind: 'command'; readonly cmd: KvCommand } | { readonly kind: 'skip' };

export const arbLogItems: fc.Arbitrary<LogItem[]> = fc.array(
  fc.oneof(
    { weight: 9, arbitrary: arbCommand.map((cmd): LogItem => ({ kind: 'command', cmd })) },
    { weight: 1, arbitrary: fc.constant<LogItem>({ kind: 'skip' }) },
  ),
  { maxLength: 60 },
);

/**
 * A well-behaved history: each client numbers its commands 1, 2, 3… (one outstanding command per
 * client, as §8 prescribes), so no command in it is a retry.
 */
export const arbHistory: fc.Arbitrary<KvCommand[]> = fc
  .array(fc.record({ client: fc.nat({ max: CLIENTS.length - 1 }), op: arbOp }), { maxLength: 50 })
  .map((items) => {
    const next = new Map<string, number>();
    return items.map(({ client, op }) => {
      const clientId = CLIENTS[client] ?? 'c0';
      const seq = (next.get(clientId) ?? 0) + 1;
      next.set(clientId, seq);
      return { clientId, seq, op };
    });
  });
