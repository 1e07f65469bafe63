/** KvStore: operation semantics (§8), sessions (CL-ONCE), eviction, and the apply-order contract (ALL-1). */
import { describe, expect, it } from 'vitest';
import { encodeCommand } from '../../../impl/kv/command.ts';
import { KvAssertionError, KvDecodeError } from '../../../impl/kv/errors.ts';
import { KvStore, type KvOutcome } from '../../../impl/kv/store.ts';
import type { ClientOperation } from '../../../spec/schemas/client.ts';

/**
 * Drives a store the way a host does: consecutive indices, each client numbering its commands
 * 1, 2, 3…; `retry` re-sends a given (clientId, seq).
 */
class Driver {
  readonly store: KvStore;
  #index = 0;
  readonly #seqs = new Map<string, number>();

  constructor(store = new KvStore()) {
    this.store = store;
  }

  run(clientId: string, op: ClientOperation): KvOutcome {
    const seq = (this.#seqs.get(clientId) ?? 0) + 1;
    this.#seqs.set(clientId, seq);
    return this.send(clientId, seq, op);
  }

  send(clientId: string, seq: number, op: ClientOperation): KvOutcome {
    return this.store.apply(++this.#index, encodeCommand({ clientId, seq, op }));
  }

  get(key: string) {
    return this.run('reader', { kind: 'get', key });
  }
}

const put = (key: string, value: string): ClientOperation => ({ kind: 'put', key, value });
const del = (key: string): ClientOperation => ({ kind: 'delete', key });
const cas = (key: string, expected: string | null, value: string): ClientOperation => ({ kind: 'cas', key, expected, value });

describe('operations (§8)', () => {
  it('a key never written reads as null, locally and through the log', () => {
    const d = new Driver();
    expect(d.store.get('k')).toBeNull();
    expect(d.get('k')).toStrictEqual({ kind: 'ok', value: null });
  });

  it('put writes, overwrites, and get reads the latest value', () => {
    const d = new Driver();
    expect(d.run('a', put('k', 'v1'))).toStrictEqual({ kind: 'ok' });
    expect(d.get('k')).toStrictEqual({ kind: 'ok', value: 'v1' });
    d.run('a', put('k', 'v2'));
    expect(d.store.get('k')).toBe('v2');
    expect(d.store.get('other')).toBeNull();
  });

  it('the empty string is a value, not absence', () => {
    const d = new Driver();
    d.run('a', put('k', ''));
    expect(d.get('k')).toStrictEqual({ kind: 'ok', value: '' });
    expect(d.run('a', cas('k', null, 'x'))).toStrictEqual({ kind: 'cas-mismatch', current: '' });
    expect(d.run('a', cas('k', '', 'x'))).toStrictEqual({ kind: 'ok' });
  });

  it('delete removes the key; deleting an absent key is fine', () => {
    const d = new Driver();
    d.run('a', put('k', 'v'));
    expect(d.run('a', del('k'))).toStrictEqual({ kind: 'ok' });
    expect(d.store.get('k')).toBeNull();
    expect(d.run('a', del('k'))).toStrictEqual({ kind: 'ok' });
    expect(d.store.get('k')).toBeNull();
  });

  it('keys that are special in JavaScript objects are plain keys', () => {
    const d = new Driver();
    d.run('a', put('__proto__', 'p'));
    d.run('a', put('constructor', 'c'));
    expect(d.store.get('__proto__')).toBe('p');
    expect(d.store.get('constructor')).toBe('c');
    expect(d.store.get('toString')).toBeNull();
  });
});

describe('cas', () => {
  it('writes when the current value matches', () => {
    const d = new Driver();
    d.run('a', put('k', 'v1'));
    expect(d.run('a', cas('k', 'v1', 'v2'))).toStrictEqual({ kind: 'ok' });
    expect(d.store.get('k')).toBe('v2');
  });

  it('does not write on a mismatch and reports the current value', () => {
    const d = new Driver();
    d.run('a', put('k', 'v1'));
    expect(d.run('a', cas('k', 'other', 'v2'))).toStrictEqual({ kind: 'cas-mismatch', current: 'v1' });
    expect(d.store.get('k')).toBe('v1');
  });

  it('expected null matches an absent key (create-if-absent) and only that', () => {
    const d = new Driver();
    expect(d.run('a', cas('k', null, 'v1'))).toStrictEqual({ kind: 'ok' });
    expect(d.store.get('k')).toBe('v1');
    expect(d.run('a', cas('k', null, 'v2'))).toStrictEqual({ kind: 'cas-mismatch', current: 'v1' });
    expect(d.store.get('k')).toBe('v1');
  });

  it('a value expected on an absent key mismatches with current null', () => {
    const d = new Driver();
    expect(d.run('a', cas('k', 'v', 'w'))).toStrictEqual({ kind: 'cas-mismatch', current: null });
    expect(d.store.get('k')).toBeNull();
  });

  it('after delete, the key is absent again: cas null matches, cas on the old value does not', () => {
    const d = new Driver();
    d.run('a', put('k', 'old'));
    d.run('a', del('k'));
    expect(d.run('a', cas('k', 'old', 'x'))).toStrictEqual({ kind: 'cas-mismatch', current: null });
    expect(d.run('a', cas('k', null, 'new'))).toStrictEqual({ kind: 'ok' });
    expect(d.store.get('k')).toBe('new');
  });
});

describe('sessions (CL-ONCE, §8)', () => {
  it('CL-ONCE: a retried (clientId, seq) applies once and returns the original outcome, after other clients wrote', () => {
    const d = new Driver();
    expect(d.send('a', 1, cas('k', null, 'a1'))).toStrictEqual({ kind: 'ok' });
    d.send('b', 1, put('k', 'b1'));
    // Had the retry executed, this cas would now mismatch; had it been a put, k would be a1.
    expect(d.send('a', 1, cas('k', null, 'a1'))).toStrictEqual({ kind: 'duplicate', outcome: { kind: 'ok' } });
    expect(d.store.get('k')).toBe('b1');
  });

  it('CL-ONCE: a retried put does not undo a later write by another client', () => {
    const d = new Driver();
    d.send('a', 1, put('k', 'a'));
    d.send('b', 1, put('k', 'b'));
    expect(d.send('a', 1, put('k', 'a'))).toStrictEqual({ kind: 'duplicate', outcome: { kind: 'ok' } });
    expect(d.store.get('k')).toBe('b');
  });

  it('CL-ONCE: a retried cas mismatch answers the original mismatch, not the current state', () => {
    const d = new Driver();
    d.send('b', 1, put('k', 'b'));
    expect(d.send('a', 1, cas('k', null, 'a'))).toStrictEqual({ kind: 'cas-mismatch', current: 'b' });
    d.send('b', 2, del('k'));
    expect(d.send('a', 1, cas('k', null, 'a'))).toStrictEqual({ kind: 'duplicate', outcome: { kind: 'cas-mismatch', current: 'b' } });
    expect(d.store.get('k')).toBeNull();
  });

  it('CL-ONCE: a retried get answers the value it read the first time (linearized at its first execution)', () => {
    const d = new Driver();
    d.send('b', 1, put('k', 'old'));
    expect(d.send('a', 1, { kind: 'get', key: 'k' })).toStrictEqual({ kind: 'ok', value: 'old' });
    d.send('b', 2, put('k', 'new'));
    expect(d.send('a', 1, { kind: 'get', key: 'k' })).toStrictEqual({ kind: 'duplicate', outcome: { kind: 'ok', value: 'old' } });
  });

  it('CL-ONCE: a retry carrying a different operation still answers from the cache (the seq identifies the command)', () => {
    const d = new Driver();
    d.send('a', 1, put('k', 'v'));
    expect(d.send('a', 1, del('k'))).toStrictEqual({ kind: 'duplicate', outcome: { kind: 'ok' } });
    expect(d.store.get('k')).toBe('v');
  });

  it('CL-ONCE: a seq below the latest is stale and has no effect', () => {
    const d = new Driver();
    d.send('a', 1, put('k', 'one'));
    d.send('a', 2, put('k', 'two'));
    expect(d.send('a', 1, put('k', 'one'))).toStrictEqual({ kind: 'stale' });
    expect(d.store.get('k')).toBe('two');
    // The stale command did not move the session: seq 2 is still the one a retry matches.
    expect(d.send('a', 2, put('k', 'two'))).toStrictEqual({ kind: 'duplicate', outcome: { kind: 'ok' } });
  });

  it('seqs may skip (a client gave up on a command); seq 0 is a valid first seq', () => {
    const d = new Driver();
    expect(d.send('a', 0, put('k', '0'))).toStrictEqual({ kind: 'ok' });
    expect(d.send('a', 5, put('k', '5'))).toStrictEqual({ kind: 'ok' });
    expect(d.send('a', 3, put('k', '3'))).toStrictEqual({ kind: 'stale' });
    expect(d.store.get('k')).toBe('5');
  });

  it('sessions are per client: the same seq from another client is a new command', () => {
    const d = new Driver();
    d.send('a', 1, put('k', 'a'));
    expect(d.send('b', 1, put('k', 'b'))).toStrictEqual({ kind: 'ok' });
    expect(d.store.get('k')).toBe('b');
    expect(d.store.sessionCount).toBe(2);
  });

  it('duplicate and stale entries still advance lastAppliedIndex', () => {
    const d = new Driver();
    d.send('a', 2, put('k', 'v'));
    d.send('a', 2, put('k', 'v'));
    d.send('a', 1, put('k', 'v'));
    expect(d.store.lastAppliedIndex).toBe(3);
  });
});

describe('session eviction (bounded table, CL-ONCE caveat)', () => {
  it('rejects a bound that is not a positive integer', () => {
    expect(() => new KvStore({ maxSessions: 0 })).toThrow(/maxSessions must be a positive integer, got 0/);
    expect(() => new KvStore({ maxSessions: 2.5 })).toThrow(RangeError);
    expect(new KvStore().maxSessions).toBe(10_000);
  });

  it('evicts the client whose latest command is oldest in the log, not the first one seen', () => {
    const d = new Driver(new KvStore({ maxSessions: 3 }));
    d.send('a', 1, put('a', '1')); // index 1
    d.send('b', 1, put('b', '1')); // index 2
    d.send('c', 1, put('c', '1')); // index 3
    d.send('a', 2, put('a', '2')); // index 4: a is now the most recent, b the oldest
    d.send('d', 1, put('d', '1')); // index 5: a fourth client evicts b
    expect(d.store.sessionCount).toBe(3);
    // a, c and d are remembered: their retries are duplicates.
    expect(d.send('a', 2, put('a', '2')).kind).toBe('duplicate');
    expect(d.send('c', 1, put('c', '1')).kind).toBe('duplicate');
    expect(d.send('d', 1, put('d', '1')).kind).toBe('duplicate');
    // b was forgotten: the documented price is that its retry executes again (CL-ONCE lost for b).
    expect(d.send('b', 1, put('b', 'again'))).toStrictEqual({ kind: 'ok' });
    expect(d.store.get('b')).toBe('again');
  });

  it('duplicates and stale commands do not refresh a session (only executing moves it)', () => {
    const d = new Driver(new KvStore({ maxSessions: 2 }));
    d.send('a', 1, put('k', 'a')); // index 1
    d.send('b', 1, put('k', 'b')); // index 2
    d.send('a', 1, put('k', 'a')); // index 3: duplicate; a's session still sits at index 1
    d.send('c', 1, put('k', 'c')); // index 4: evicts a
    expect(d.send('b', 1, put('k', 'b')).kind).toBe('duplicate');
    expect(d.send('a', 1, put('k', 'a')).kind).toBe('ok');
  });

  it('is deterministic: a replica restored from a snapshot midway evicts the same clients as one that never was', () => {
    // Sessions after each index, oldest first (maxSessions 3):
    // 1 a | 2 a b | 3 a b c | 4 b c a  <- snapshot here: in clientId order a would look oldest
    // 5 c a d (b out) | 6 a d b (b's retry of seq 1 executes again; c out) | 7 a's retry: duplicate | 8 c's retry executes again.
    const log: [string, number][] = [['a', 1], ['b', 1], ['c', 1], ['a', 2], ['d', 1], ['b', 1], ['a', 2], ['c', 1]];
    const straight = new KvStore({ maxSessions: 3 });
    let restored = new KvStore({ maxSessions: 3 });
    const outcomes: [KvOutcome, KvOutcome][] = [];
    log.forEach(([clientId, seq], i) => {
      const data = encodeCommand({ clientId, seq, op: { kind: 'get', key: clientId } });
      if (i === 4) restored = KvStore.restore(restored.snapshot());
      outcomes.push([straight.apply(i + 1, data), restored.apply(i + 1, data)]);
    });
    expect(outcomes.map(([a]) => a.kind)).toStrictEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'duplicate', 'ok']);
    for (const [a, b] of outcomes) expect(b).toStrictEqual(a);
    expect(restored.snapshot()).toBe(straight.snapshot());
  });
});

describe('apply order (ALL-1)', () => {
  it('accepts strictly increasing indices, with gaps (skipped no-op and config entries)', () => {
    const s = new KvStore();
    s.apply(1, encodeCommand({ clientId: 'a', seq: 1, op: put('k', 'v') }));
    s.skip(2);
    s.apply(5, encodeCommand({ clientId: 'a', seq: 2, op: put('k', 'w') }));
    expect(s.lastAppliedIndex).toBe(5);
  });

  it.each([
    ['a repeated index', 3],
    ['an older index', 2],
    ['index 0', 0],
    ['a negative index', -1],
    ['a fractional index', 3.5],
    ['NaN', Number.NaN],
  ])('throws KvAssertionError on %s and changes nothing', (_name, index) => {
    const s = new KvStore();
    s.apply(3, encodeCommand({ clientId: 'a', seq: 1, op: put('k', 'v') }));
    const before = s.snapshot();
    expect(() => s.apply(index, encodeCommand({ clientId: 'a', seq: 2, op: put('k', 'w') }))).toThrow(KvAssertionError);
    expect(() => s.skip(index)).toThrow(/increasing index order|positive integer/);
    expect(s.snapshot()).toBe(before);
  });

  it('an undecodable entry throws KvDecodeError and leaves the store unchanged, index included', () => {
    const s = new KvStore();
    s.apply(1, encodeCommand({ clientId: 'a', seq: 1, op: put('k', 'v') }));
    const before = s.snapshot();
    expect(() => s.apply(2, '{"clientId":"a","seq":2,"op":{"kind":"put","key":"k"}}')).toThrow(KvDecodeError);
    expect(s.snapshot()).toBe(before);
    expect(s.lastAppliedIndex).toBe(1);
  });

  it('outcomes are frozen: a caller cannot corrupt the cached answer of a later retry', () => {
    const s = new KvStore();
    const first = s.apply(1, encodeCommand({ clientId: 'a', seq: 1, op: { kind: 'get', key: 'k' } }));
    expect(Object.isFrozen(first)).toBe(true);
    expect(() => {
      (first as { value: string | null }).value = 'tampered';
    }).toThrow(TypeError);
  });
});
