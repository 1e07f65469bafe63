/** KvStore snapshots (§7) and digests: deterministic bytes, exact round trip, corruption named by field. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCommand, type KvCommand } from '../../../impl/kv/command.ts';
import { fnv1a64 } from '../../../impl/kv/digest.ts';
import { KvSnapshotError } from '../../../impl/kv/errors.ts';
import { KvStore } from '../../../impl/kv/store.ts';
import type { ClientOperation } from '../../../spec/schemas/client.ts';

function storeFrom(ops: readonly ClientOperation[], options: { maxSessions?: number } = {}): KvStore {
  const s = new KvStore(options);
  ops.forEach((op, i) => s.apply(i + 1, encodeCommand({ clientId: 'x', seq: i + 1, op })));
  return s;
}

/** A small valid snapshot as an object, for corrupting one field at a time. */
function baseSnapshot(): Record<string, unknown> {
  const s = new KvStore({ maxSessions: 2 });
  const cmds: KvCommand[] = [
    { clientId: 'a', seq: 1, op: { kind: 'put', key: 'k1', value: 'v1' } },
    { clientId: 'b', seq: 1, op: { kind: 'cas', key: 'k1', expected: null, value: 'v2' } },
    { clientId: 'a', seq: 2, op: { kind: 'put', key: 'k2', value: 'v2' } },
  ];
  cmds.forEach((cmd, i) => s.apply(i + 1, encodeCommand(cmd)));
  return JSON.parse(s.snapshot()) as Record<string, unknown>;
}

function snapshotError(data: string): KvSnapshotError {
  try {
    KvStore.restore(data);
  } catch (err) {
    if (err instanceof KvSnapshotError) return err;
    throw err;
  }
  throw new Error(`restored without error: ${data}`);
}

describe('snapshot', () => {
  it('is compact JSON holding data, sessions, lastAppliedIndex and maxSessions', () => {
    expect(JSON.stringify(baseSnapshot())).toBe(
      '{"format":"figure2-kv","version":1,"lastAppliedIndex":3,"maxSessions":2,' +
        '"data":[["k1","v1"],["k2","v2"]],' +
        '"sessions":[{"clientId":"a","seq":2,"index":3,"outcome":{"kind":"ok"}},' +
        '{"clientId":"b","seq":1,"index":2,"outcome":{"kind":"cas-mismatch","current":"v1"}}]}',
    );
  });

  it('is byte-identical for equal states reached by different insertion orders (keys sorted)', () => {
    // Both end with data {a: 1, b: 1} and client x at seq 4 (index 4, ok); the Maps were filled in different orders.
    const first = storeFrom([
      { kind: 'put', key: 'a', value: '1' },
      { kind: 'put', key: 'b', value: '1' },
      { kind: 'delete', key: 'a' },
      { kind: 'put', key: 'a', value: '1' },
    ]);
    const second = storeFrom([
      { kind: 'put', key: 'a', value: '1' },
      { kind: 'put', key: 'b', value: '1' },
      { kind: 'get', key: 'a' },
      { kind: 'put', key: 'a', value: '1' },
    ]);
    expect(second.snapshot()).toBe(first.snapshot());
    expect(second.digest()).toBe(first.digest());
  });

  it('sorts by code unit, so that every engine and locale agrees', () => {
    const s = storeFrom(['b', 'B', 'a', 'é', '10', '9', ''].map((key) => ({ kind: 'put', key, value: key }) as const));
    const keys = (JSON.parse(s.snapshot()) as { data: [string, string][] }).data.map(([k]) => k);
    expect(keys).toStrictEqual(['', '10', '9', 'B', 'a', 'b', 'é']);
  });

  it('round-trips exactly, including the empty store and special keys', () => {
    for (const s of [new KvStore(), storeFrom([{ kind: 'put', key: '__proto__', value: '"quoted"\n' }, { kind: 'get', key: '1' }])]) {
      const snap = s.snapshot();
      expect(KvStore.restore(snap).snapshot()).toBe(snap);
      expect(KvStore.restore(snap).digest()).toBe(s.digest());
    }
    expect(KvStore.restore(storeFrom([{ kind: 'put', key: '__proto__', value: 'p' }]).snapshot()).get('__proto__')).toBe('p');
  });

  it('keeps lastAppliedIndex and maxSessions, so that a restored replica continues and evicts identically', () => {
    const s = storeFrom([{ kind: 'put', key: 'k', value: 'v' }], { maxSessions: 7 });
    s.skip(10);
    const restored = KvStore.restore(s.snapshot());
    expect(restored.lastAppliedIndex).toBe(10);
    expect(restored.maxSessions).toBe(7);
    expect(restored.sessionCount).toBe(1);
    expect(() => restored.skip(10)).toThrow(/increasing index order/);
  });
});

describe('restore rejects corruption with KvSnapshotError naming the field', () => {
  const cases: [string, (snap: Record<string, unknown>) => unknown, string, RegExp][] = [
    ['wrong format', (s) => ({ ...s, format: 'redis' }), 'format', /format: /],
    ['unknown version', (s) => ({ ...s, version: 2 }), 'version', /version: /],
    ['negative lastAppliedIndex', (s) => ({ ...s, lastAppliedIndex: -1 }), 'lastAppliedIndex', /lastAppliedIndex: /],
    ['maxSessions 0', (s) => ({ ...s, maxSessions: 0 }), 'maxSessions', /maxSessions: /],
    ['missing data', ({ data: _data, ...s }) => s, 'data', /data: /],
    ['a pair with no value', (s) => ({ ...s, data: [['k1']] }), 'data[0]', /data\[0\]: /],
    ['a numeric value', (s) => ({ ...s, data: [['k1', 1]] }), 'data[0][1]', /data\[0\]\[1\]: .*expected string/],
    ['unsorted keys', (s) => ({ ...s, data: [['k2', 'v'], ['k1', 'v']] }), 'data[1][0]', /strictly increasing/],
    ['a repeated key', (s) => ({ ...s, data: [['k1', 'v'], ['k1', 'w']] }), 'data[1][0]', /no duplicates/],
    ['an unknown field', (s) => ({ ...s, checksum: 'abc' }), 'checksum', /checksum: unknown field/],
    ['a negative seq', (s) => ({ ...s, sessions: [{ clientId: 'a', seq: -1, index: 1, outcome: { kind: 'ok' } }] }), 'sessions[0].seq', /sessions\[0\]\.seq: /],
    ['a session index 0', (s) => ({ ...s, sessions: [{ clientId: 'a', seq: 1, index: 0, outcome: { kind: 'ok' } }] }), 'sessions[0].index', /sessions\[0\]\.index: /],
    ['a session past lastAppliedIndex', (s) => ({ ...s, sessions: [{ clientId: 'a', seq: 1, index: 4, outcome: { kind: 'ok' } }] }), 'sessions[0].index', /past lastAppliedIndex 3/],
    [
      'two sessions at one index',
      (s) => ({ ...s, sessions: [{ clientId: 'a', seq: 1, index: 2, outcome: { kind: 'ok' } }, { clientId: 'b', seq: 1, index: 2, outcome: { kind: 'ok' } }] }),
      'sessions[1].index',
      /belongs to two sessions/,
    ],
    [
      'unsorted clientIds',
      (s) => ({ ...s, sessions: [{ clientId: 'b', seq: 1, index: 2, outcome: { kind: 'ok' } }, { clientId: 'a', seq: 1, index: 3, outcome: { kind: 'ok' } }] }),
      'sessions[1].clientId',
      /strictly increasing/,
    ],
    ['more sessions than maxSessions', (s) => ({ ...s, maxSessions: 1 }), 'sessions', /2 sessions exceed maxSessions 1/],
    ['an unknown outcome kind', (s) => ({ ...s, sessions: [{ clientId: 'a', seq: 1, index: 1, outcome: { kind: 'maybe' } }] }), 'sessions[0].outcome.kind', /outcome\.kind: /],
    ['a mismatch without current', (s) => ({ ...s, sessions: [{ clientId: 'a', seq: 1, index: 1, outcome: { kind: 'cas-mismatch' } }] }), 'sessions[0].outcome.current', /current: /],
    ['not an object', () => [1, 2, 3], '', /expected object/],
  ];

  it.each(cases)('%s', (_name, corrupt, field, message) => {
    const err = snapshotError(JSON.stringify(corrupt(baseSnapshot())));
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
  });

  it('not JSON', () => {
    const err = snapshotError('{"format":"figure2-kv",');
    expect(err.field).toBe('');
    expect(err.message).toMatch(/^invalid KV snapshot: not JSON/);
  });

  it('never throws anything but KvSnapshotError; whatever it accepts round-trips exactly', () => {
    const valid = JSON.stringify(baseSnapshot());
    // Mutations of a valid snapshot reach deep into the schema; arbitrary strings test the JSON gate.
    const mutated = fc
      .tuple(fc.nat({ max: valid.length - 1 }), fc.constantFrom('', '0', '1', '9', '"', ',', ']', '}', 'x', '-', 'null'))
      .map(([at, insert]) => valid.slice(0, at) + insert + valid.slice(at + 1));
    fc.assert(
      fc.property(fc.oneof(mutated, fc.string(), fc.json()), (data) => {
        try {
          const restored = KvStore.restore(data);
          expect(KvStore.restore(restored.snapshot()).snapshot()).toBe(restored.snapshot());
          expect(restored.snapshot()).toBe(JSON.stringify(JSON.parse(data)));
        } catch (err) {
          expect(err).toBeInstanceOf(KvSnapshotError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

/** FNV-1a 64 straight from its definition, on BigInt and TextEncoder's bytes: the reference the fast version must match. */
function fnv1a64Reference(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) h = ((h ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, '0');
}

describe('digest', () => {
  it('fnv1a64 matches the published FNV-1a 64 test vectors', () => {
    expect(fnv1a64('')).toBe('cbf29ce484222325');
    expect(fnv1a64('a')).toBe('af63dc4c8601ec8c');
    expect(fnv1a64('foobar')).toBe('85944171f73967e8');
  });

  it('fnv1a64 equals the BigInt reference on any text, lone surrogates and astral characters included', () => {
    const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: anyCodeUnit }), fc.string({ unit: 'binary' }), fc.string()), (text) => {
        expect(fnv1a64(text)).toBe(fnv1a64Reference(text));
      }),
      { numRuns: 300 },
    );
  });

  it('is 16 hex digits, the FNV-1a 64 of the snapshot', () => {
    const s = storeFrom([{ kind: 'put', key: 'k', value: 'v' }]);
    expect(s.digest()).toMatch(/^[0-9a-f]{16}$/);
    expect(s.digest()).toBe(fnv1a64Reference(s.snapshot()));
  });

  it('changes with data, with sessions alone, and with lastAppliedIndex alone', () => {
    const base = storeFrom([{ kind: 'put', key: 'k', value: 'v' }]);
    const otherData = storeFrom([{ kind: 'put', key: 'k', value: 'w' }]);
    const otherSession = new KvStore();
    otherSession.apply(1, encodeCommand({ clientId: 'y', seq: 1, op: { kind: 'put', key: 'k', value: 'v' } }));
    const later = storeFrom([{ kind: 'put', key: 'k', value: 'v' }]);
    later.skip(2);
    const digests = [base, otherData, otherSession, later].map((s) => s.digest());
    expect(new Set(digests).size).toBe(4);
  });
});
