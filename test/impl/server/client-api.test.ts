/**
 * The HTTP client API (issue 7) through Fastify's `inject`, no port: every endpoint against a fake
 * node backed by a real KvStore (so exactly-once retries, CL-ONCE, are the store's real ones),
 * redirects from a non-leader, unknown outcomes, every kind of bad input, /status and /metrics;
 * and, at the end, the API on a real single-node NodeHost on MemoryStorage.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createPrng } from '../../../conformance/prng.ts';
import type { NodeStatus } from '../../../impl/core/raft-node.ts';
import { DEFAULT_CONFIG } from '../../../impl/core/types.ts';
import { encodeCommand } from '../../../impl/kv/command.ts';
import { KvStore, type KvOutcome } from '../../../impl/kv/store.ts';
import { createClientApi, type ClientApiOptions, type ClientCommand, type ClientNode } from '../../../impl/server/client-api.ts';
import { ServerMetrics } from '../../../impl/server/metrics.ts';
import { NodeHost, NotLeaderError, OutcomeUnknownError } from '../../../impl/server/node-host.ts';
import { MemoryStorage } from '../../../impl/storage/memory-storage.ts';

/** A node whose state machine is a real KvStore, applied at once; its failures are scripted. */
class FakeNode implements ClientNode {
  readonly kv = new KvStore();
  readonly proposals: ClientCommand[] = [];
  readonly reads: string[] = [];
  /** When set, propose and read reject with it (NotLeaderError, OutcomeUnknownError, a bug…). */
  failWith: Error | undefined = undefined;
  /** When set, propose and read never settle. */
  hang = false;
  role: NodeStatus['role'] = 'leader';
  leader: string | null = 'n1';
  private index = 0;

  constructor(readonly id = 'n1') {}

  propose(command: ClientCommand): Promise<KvOutcome> {
    this.proposals.push(command);
    return this.answer(() => this.kv.apply(++this.index, encodeCommand(command)));
  }

  read(key: string): Promise<string | null> {
    this.reads.push(key);
    return this.answer(() => this.kv.get(key));
  }

  /** Commits a command without answering anyone: as if its client's answer was lost. */
  commitUnseen(command: ClientCommand): void {
    this.kv.apply(++this.index, encodeCommand(command));
  }

  localGet(key: string): string | null {
    return this.kv.get(key);
  }

  status(): NodeStatus {
    return {
      id: this.id,
      role: this.role,
      currentTerm: 3,
      votedFor: this.id,
      leader: this.leader,
      commitIndex: this.index,
      lastApplied: this.index,
      snapshotIndex: 0,
      snapshotTerm: 0,
      lastIndex: this.index,
      memoryEntries: this.index,
    };
  }

  private answer<T>(act: () => T): Promise<T> {
    if (this.hang) return new Promise<T>(() => {});
    if (this.failWith !== undefined) return Promise.reject(this.failWith);
    return Promise.resolve(act());
  }
}

function setup(options: Partial<ClientApiOptions> = {}) {
  const node = new FakeNode();
  const api = createClientApi({ node, ...options });
  return { node, api };
}

type Api = ReturnType<typeof createClientApi>;

function session(clientId: string, seq: number | string): Record<string, string> {
  return { 'x-client-id': clientId, 'x-client-seq': String(seq) };
}

const put = (api: Api, key: string, value: string, headers: Record<string, string> = {}) =>
  api.inject({ method: 'PUT', url: `/kv/${encodeURIComponent(key)}`, payload: { value }, headers });
const get = (api: Api, key: string, query = '') => api.inject({ method: 'GET', url: `/kv/${encodeURIComponent(key)}${query}` });
const cas = (api: Api, key: string, expected: string | null, value: string, headers: Record<string, string> = {}) =>
  api.inject({ method: 'POST', url: `/kv/${encodeURIComponent(key)}/cas`, payload: { expected, value }, headers });
const del = (api: Api, key: string, headers: Record<string, string> = {}) => api.inject({ method: 'DELETE', url: `/kv/${encodeURIComponent(key)}`, headers });

describe('key-value endpoints', () => {
  it('PUT then GET returns the value; GET of an absent key is 404', async () => {
    const { api, node } = setup();
    const written = await put(api, 'a', 'hello');
    expect(written.statusCode).toBe(200);
    expect(written.json()).toEqual({ ok: true });
    const read = await get(api, 'a');
    expect(read.statusCode).toBe(200);
    expect(read.headers['content-type']).toMatch(/^application\/json/);
    expect(read.json()).toEqual({ key: 'a', value: 'hello' });
    expect(node.reads).toEqual(['a']); // linearizable by default: through read (ReadIndex)
    const absent = await get(api, 'nope');
    expect(absent.statusCode).toBe(404);
    expect(absent.json()).toMatchObject({ error: 'not-found', key: 'nope' });
  });

  it('GET ?stale=true reads the local state machine, even on a node that cannot serve a linearizable read', async () => {
    const { api, node } = setup();
    await put(api, 'a', 'v');
    node.failWith = new NotLeaderError(null);
    const stale = await get(api, 'a', '?stale=true');
    expect(stale.statusCode).toBe(200);
    expect(stale.json()).toEqual({ key: 'a', value: 'v' });
    expect(node.reads).toEqual([]);
    expect((await get(api, 'a', '?stale=false')).statusCode).toBe(503);
  });

  it('DELETE removes a key, and answers 200 for an absent one too', async () => {
    const { api } = setup();
    await put(api, 'a', 'v');
    expect((await del(api, 'a')).json()).toEqual({ ok: true });
    expect((await get(api, 'a')).statusCode).toBe(404);
    const again = await del(api, 'a');
    expect(again.statusCode).toBe(200);
  });

  it('cas: null expects absence; a match writes (200); a mismatch is 409 with the current value', async () => {
    const { api } = setup();
    expect((await cas(api, 'c', null, 'one')).statusCode).toBe(200);
    const mismatch = await cas(api, 'c', null, 'two');
    expect(mismatch.statusCode).toBe(409);
    expect(mismatch.json()).toMatchObject({ error: 'cas-mismatch', key: 'c', current: 'one' });
    expect((await cas(api, 'c', 'one', 'two')).json()).toEqual({ ok: true });
    expect((await get(api, 'c')).json()).toEqual({ key: 'c', value: 'two' });
    await del(api, 'c');
    const onAbsent = await cas(api, 'c', 'two', 'three');
    expect(onAbsent.json()).toMatchObject({ error: 'cas-mismatch', current: null });
  });

  it('keys are percent-decoded path segments: slashes, spaces, unicode, "cas"', async () => {
    const { api } = setup();
    for (const key of ['a/b', 'with space', 'ключ ✓', 'cas', '__proto__']) {
      expect((await put(api, key, `v:${key}`)).statusCode).toBe(200);
      expect((await get(api, key)).json()).toEqual({ key, value: `v:${key}` });
    }
  });

  it('accepts a JSON body whatever its Content-Type (curl -d sends form-urlencoded)', async () => {
    const { api } = setup();
    const res = await api.inject({ method: 'PUT', url: '/kv/a', payload: '{"value":"x"}', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.statusCode).toBe(200);
    expect((await get(api, 'a')).json()).toEqual({ key: 'a', value: 'x' });
  });
});

describe('sessions: exactly-once retries (CL-ONCE)', () => {
  it('passes X-Client-Id and X-Client-Seq to the node', async () => {
    const { api, node } = setup();
    await put(api, 'a', 'v', session('c1', 7));
    expect(node.proposals).toEqual([{ clientId: 'c1', seq: 7, op: { kind: 'put', key: 'a', value: 'v' } }]);
  });

  it('a retry with the same seq is not executed again: it gets the first answer, marked X-Replayed', async () => {
    const { api } = setup();
    const first = await put(api, 'a', 'first', session('c1', 1));
    expect(first.headers['x-replayed']).toBeUndefined();
    await put(api, 'a', 'someone else', session('c2', 1));
    // The retry carries a different value on purpose: were it executed, the value would change.
    const retry = await put(api, 'a', 'retry', session('c1', 1));
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toEqual({ ok: true });
    expect(retry.headers['x-replayed']).toBe('true');
    expect((await get(api, 'a')).json()).toEqual({ key: 'a', value: 'someone else' });
  });

  it('a replayed cas mismatch answers 409 with the value seen the first time', async () => {
    const { api } = setup();
    await put(api, 'k', 'old');
    const first = await cas(api, 'k', 'wrong', 'new', session('c1', 1));
    expect(first.statusCode).toBe(409);
    await put(api, 'k', 'changed');
    const retry = await cas(api, 'k', 'wrong', 'new', session('c1', 1));
    expect(retry.statusCode).toBe(409);
    expect(retry.headers['x-replayed']).toBe('true');
    expect(retry.json()).toMatchObject({ error: 'cas-mismatch', current: 'old' });
  });

  it('a seq below the latest is stale: 409 stale-seq, not executed', async () => {
    const { api } = setup();
    await put(api, 'a', 'two', session('c1', 2));
    const stale = await put(api, 'a', 'one', session('c1', 1));
    expect(stale.statusCode).toBe(409);
    expect(stale.json()).toMatchObject({ error: 'stale-seq', clientId: 'c1', seq: 1 });
    expect((await get(api, 'a')).json()).toEqual({ key: 'a', value: 'two' });
  });

  it('without the headers, every write gets a fresh session of its own (so it is never deduplicated)', async () => {
    const { api, node } = setup();
    await put(api, 'a', 'x');
    await put(api, 'a', 'x');
    await del(api, 'a');
    const ids = node.proposals.map((p) => p.clientId);
    expect(new Set(ids).size).toBe(3);
    expect(node.proposals.every((p) => p.seq === 0)).toBe(true);
    expect(ids[0]).toMatch(/^anon-[0-9a-f-]{36}$/);
  });

  it('after outcome-unknown, retrying with the same seq learns the real outcome', async () => {
    const { api, node } = setup();
    // The write commits, but this node cannot tell (it lost leadership before applying it).
    node.commitUnseen({ clientId: 'c1', seq: 5, op: { kind: 'put', key: 'a', value: 'v' } });
    node.failWith = new OutcomeUnknownError('leadership lost');
    const unknown = await put(api, 'a', 'v', session('c1', 5));
    expect(unknown.statusCode).toBe(504);
    expect(unknown.json()).toMatchObject({ error: 'outcome-unknown' });
    expect(unknown.json<{ message: string }>().message).toContain('x-client-seq');
    expect(unknown.headers['retry-after']).toBe('1');
    node.failWith = undefined;
    const retry = await put(api, 'a', 'v', session('c1', 5));
    expect(retry.statusCode).toBe(200);
    expect(retry.headers['x-replayed']).toBe('true');
  });
});

describe('not the leader', () => {
  const addresses = { n1: 'http://127.0.0.1:8001', n2: 'http://127.0.0.1:8002/' };

  it('redirects writes and linearizable reads to the leader with 307 and Location', async () => {
    const { api, node } = setup({ clientAddresses: addresses });
    node.role = 'follower';
    node.leader = 'n2';
    node.failWith = new NotLeaderError('n2');
    for (const res of [await put(api, 'a', 'v', session('c1', 1)), await cas(api, 'a', null, 'v'), await del(api, 'a'), await get(api, 'a', '?stale=false')]) {
      expect(res.statusCode).toBe(307);
      expect(res.json()).toMatchObject({ error: 'not-leader', leader: 'n2', leaderUrl: 'http://127.0.0.1:8002/' });
      expect(res.headers['location']).toMatch(/^http:\/\/127\.0\.0\.1:8002\/kv\/a/);
    }
    const read = await get(api, 'a', '?stale=false');
    expect(read.headers['location']).toBe('http://127.0.0.1:8002/kv/a?stale=false');
  });

  it('takes the addresses as a function too', async () => {
    const { api, node } = setup({ clientAddresses: (id) => (id === 'n3' ? 'http://h3:9000' : undefined) });
    node.failWith = new NotLeaderError('n3');
    const res = await put(api, 'a', 'v');
    expect(res.statusCode).toBe(307);
    expect(res.headers['location']).toBe('http://h3:9000/kv/a');
  });

  it('a leader without a configured address: 503 not-leader with Retry-After', async () => {
    const { api, node } = setup({ clientAddresses: addresses, retryAfterSeconds: 2 });
    node.failWith = new NotLeaderError('constructor'); // not an own property of the map
    const res = await put(api, 'a', 'v');
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('2');
    expect(res.json()).toMatchObject({ error: 'not-leader', leader: 'constructor', leaderUrl: null });
  });

  it('no leader known: 503 no-leader with Retry-After', async () => {
    const { api, node } = setup({ clientAddresses: addresses });
    node.failWith = new NotLeaderError(null);
    for (const res of [await put(api, 'a', 'v'), await get(api, 'a')]) {
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.json()).toMatchObject({ error: 'no-leader', leader: null });
    }
  });

  it('a hint naming this node itself is treated as no leader (no redirect loop)', async () => {
    const { api, node } = setup({ clientAddresses: addresses });
    node.failWith = new NotLeaderError('n1');
    const res = await put(api, 'a', 'v');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ error: 'no-leader' });
  });
});

describe('failures of the node', () => {
  it('a read whose outcome is unknown is 503 unavailable (reads are safe to retry)', async () => {
    const { api, node } = setup();
    node.failWith = new OutcomeUnknownError('n1 has stopped');
    const res = await get(api, 'a');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ error: 'unavailable' });
    expect(res.headers['retry-after']).toBe('1');
  });

  it('a node that does not answer within requestTimeoutMs: 504 for writes, 503 for reads', async () => {
    const { api, node } = setup({ requestTimeoutMs: 20 });
    node.hang = true;
    const w = await put(api, 'a', 'v', session('c1', 1));
    expect(w.statusCode).toBe(504);
    expect(w.json()).toMatchObject({ error: 'outcome-unknown' });
    expect(w.json<{ message: string }>().message).toContain('20 ms');
    // Without a session the advice is different: a retry is not safe.
    const anonymous = await put(api, 'a', 'v');
    expect(anonymous.json<{ message: string }>().message).toMatch(/without x-client-id and x-client-seq, so a retry may apply it twice$/);
    const r = await get(api, 'a');
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({ error: 'unavailable' });
  });

  it('an unexpected error is 500 internal, logged at error, and the server keeps serving', async () => {
    const { logger, lines } = captureLogger();
    const { api, node } = setup({ loggerInstance: logger });
    node.failWith = new TypeError('boom');
    const res = await put(api, 'a', 'v');
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: 'internal', message: 'internal error; see the server log' });
    expect(lines().some((l) => l['level'] === 50 && JSON.stringify(l['err']).includes('boom'))).toBe(true);
    node.failWith = undefined;
    expect((await put(api, 'a', 'v')).statusCode).toBe(200);
  });
});

describe('bad input: 400/413 with {error, message, field}; the server keeps serving', () => {
  const limits = { bodyBytes: 4096, keyBytes: 16, valueBytes: 64 };
  const json = { 'content-type': 'application/json' };
  const cases: { name: string; method: 'PUT' | 'POST' | 'GET' | 'DELETE'; url: string; payload?: string; headers?: Record<string, string>; status: number; error: string; field: string }[] = [
    { name: 'invalid JSON', method: 'PUT', url: '/kv/a', payload: '{"value": ', headers: json, status: 400, error: 'invalid-json', field: '' },
    { name: 'no body', method: 'PUT', url: '/kv/a', status: 400, error: 'invalid-request', field: '' },
    { name: 'an empty body', method: 'PUT', url: '/kv/a', payload: '', headers: json, status: 400, error: 'invalid-request', field: '' },
    { name: 'a body that is not an object', method: 'PUT', url: '/kv/a', payload: '["v"]', headers: json, status: 400, error: 'invalid-request', field: '' },
    { name: 'a missing value', method: 'PUT', url: '/kv/a', payload: '{}', headers: json, status: 400, error: 'invalid-request', field: 'value' },
    { name: 'an extra field', method: 'PUT', url: '/kv/a', payload: '{"value":"v","ttl":5}', headers: json, status: 400, error: 'invalid-request', field: 'ttl' },
    { name: 'a __proto__ field', method: 'PUT', url: '/kv/a', payload: '{"value":"v","__proto__":{}}', headers: json, status: 400, error: 'invalid-request', field: '__proto__' },
    { name: 'a value of the wrong type', method: 'PUT', url: '/kv/a', payload: '{"value":5}', headers: json, status: 400, error: 'invalid-request', field: 'value' },
    { name: 'a null value', method: 'PUT', url: '/kv/a', payload: '{"value":null}', headers: json, status: 400, error: 'invalid-request', field: 'value' },
    { name: 'cas without expected', method: 'POST', url: '/kv/a/cas', payload: '{"value":"v"}', headers: json, status: 400, error: 'invalid-request', field: 'expected' },
    { name: 'cas with expected of the wrong type', method: 'POST', url: '/kv/a/cas', payload: '{"expected":1,"value":"v"}', headers: json, status: 400, error: 'invalid-request', field: 'expected' },
    { name: 'a body over bodyBytes', method: 'PUT', url: '/kv/a', payload: JSON.stringify({ value: 'x'.repeat(5000) }), headers: json, status: 413, error: 'too-large', field: '' },
    { name: 'a value over valueBytes', method: 'PUT', url: '/kv/a', payload: JSON.stringify({ value: 'x'.repeat(65) }), headers: json, status: 413, error: 'too-large', field: 'value' },
    { name: 'a value over valueBytes in UTF-8 (22 × 3 bytes)', method: 'PUT', url: '/kv/a', payload: JSON.stringify({ value: '€'.repeat(22) }), headers: json, status: 413, error: 'too-large', field: 'value' },
    { name: 'cas expected over valueBytes', method: 'POST', url: '/kv/a/cas', payload: JSON.stringify({ expected: 'x'.repeat(65), value: 'v' }), headers: json, status: 413, error: 'too-large', field: 'expected' },
    { name: 'a key over keyBytes', method: 'PUT', url: `/kv/${'k'.repeat(17)}`, payload: '{"value":"v"}', headers: json, status: 414, error: 'too-large', field: 'key' },
    { name: 'a key over keyBytes, on GET', method: 'GET', url: `/kv/${'k'.repeat(17)}`, status: 414, error: 'too-large', field: 'key' },
    { name: 'a key over keyBytes in UTF-8 (6 × 3 bytes)', method: 'DELETE', url: `/kv/${encodeURIComponent('€'.repeat(6))}`, status: 414, error: 'too-large', field: 'key' },
    { name: 'a very long key (past the router limit)', method: 'GET', url: `/kv/${'k'.repeat(100_000)}`, status: 414, error: 'too-large', field: 'key' },
    { name: 'a very long key on cas (past the router limit)', method: 'POST', url: `/kv/${'k'.repeat(100_000)}/cas`, payload: '{"expected":null,"value":"v"}', headers: json, status: 414, error: 'too-large', field: 'key' },
    { name: 'an empty key', method: 'GET', url: '/kv/', status: 400, error: 'invalid-request', field: 'key' },
    { name: 'a malformed percent-encoding', method: 'GET', url: '/kv/%zz', status: 400, error: 'invalid-request', field: '' },
    { name: 'a non-numeric X-Client-Seq', method: 'DELETE', url: '/kv/a', headers: session('c1', 'abc'), status: 400, error: 'invalid-request', field: 'x-client-seq' },
    { name: 'a negative X-Client-Seq', method: 'DELETE', url: '/kv/a', headers: session('c1', '-1'), status: 400, error: 'invalid-request', field: 'x-client-seq' },
    { name: 'a fractional X-Client-Seq', method: 'DELETE', url: '/kv/a', headers: session('c1', '1.5'), status: 400, error: 'invalid-request', field: 'x-client-seq' },
    { name: 'an X-Client-Seq past 2^53', method: 'DELETE', url: '/kv/a', headers: session('c1', '9999999999999999'), status: 400, error: 'invalid-request', field: 'x-client-seq' },
    { name: 'X-Client-Id without X-Client-Seq', method: 'DELETE', url: '/kv/a', headers: { 'x-client-id': 'c1' }, status: 400, error: 'invalid-request', field: 'x-client-seq' },
    { name: 'X-Client-Seq without X-Client-Id', method: 'DELETE', url: '/kv/a', headers: { 'x-client-seq': '1' }, status: 400, error: 'invalid-request', field: 'x-client-id' },
    { name: 'an X-Client-Id over 128 characters', method: 'DELETE', url: '/kv/a', headers: session('c'.repeat(129), 1), status: 400, error: 'invalid-request', field: 'x-client-id' },
    { name: 'stale=yes', method: 'GET', url: '/kv/a?stale=yes', status: 400, error: 'invalid-request', field: 'stale' },
    { name: 'an unknown query parameter', method: 'GET', url: '/kv/a?consistency=weak', status: 400, error: 'invalid-request', field: 'consistency' },
  ];

  it.each(cases)('$name → $status $error (field "$field")', async (c) => {
    const { api, node } = setup({ limits });
    const res = await api.inject({ method: c.method, url: c.url, ...(c.payload === undefined ? {} : { payload: c.payload }), headers: c.headers ?? {} });
    expect(res.statusCode).toBe(c.status);
    const body = res.json<{ error: string; message: string; field: string }>();
    expect(body).toEqual({ error: c.error, message: expect.any(String), field: c.field });
    expect(body.message.length).toBeGreaterThan(10);
    expect(node.proposals).toEqual([]); // nothing reached the log
    // Still serving.
    expect((await put(api, 'ok', 'v')).statusCode).toBe(200);
  });

  it('messages name the problem', async () => {
    const { api } = setup({ limits });
    const extra = await api.inject({ method: 'PUT', url: '/kv/a', payload: '{"value":"v","ttl":5}', headers: json });
    expect(extra.json<{ message: string }>().message).toBe('invalid request body: ttl: unknown field');
    const notJson = await api.inject({ method: 'PUT', url: '/kv/a', payload: '{"value": ', headers: json });
    expect(notJson.json<{ message: string }>().message).toMatch(/^the request body is not JSON/);
    const big = await put(api, 'a', 'x'.repeat(65));
    expect(big.json<{ message: string }>().message).toBe('value is 65 bytes (UTF-8); the limit is 64');
    const seq = await del(api, 'a', { 'x-client-id': 'c1' });
    expect(seq.json<{ message: string }>().message).toBe('invalid headers: x-client-seq: required with x-client-id');
  });

  it('an unknown route is 404 not-found (without echoing the query)', async () => {
    const { api } = setup();
    const res = await api.inject({ method: 'GET', url: '/nope?token=secret' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: 'not-found', message: 'no route GET /nope' });
  });

  it('refuses options that are not positive integers', () => {
    expect(() => setup({ limits: { keyBytes: 0 } })).toThrow('limits.keyBytes must be a positive integer, got 0');
    expect(() => setup({ requestTimeoutMs: 1.5 })).toThrow(RangeError);
    expect(() => setup({ limits: { keyBytes: undefined } })).not.toThrow();
  });
});

describe('/status and /metrics', () => {
  it('/status reports the node in Figure 2 names, with the leader and its address', async () => {
    const { api, node } = setup({ clientAddresses: { n2: 'http://127.0.0.1:8002' } });
    node.role = 'follower';
    node.leader = 'n2';
    const res = await api.inject({ method: 'GET', url: '/status' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      id: 'n1',
      role: 'follower',
      currentTerm: 3,
      votedFor: 'n1',
      leader: 'n2',
      leaderUrl: 'http://127.0.0.1:8002',
      commitIndex: 0,
      lastApplied: 0,
      lastIndex: 0,
      snapshotIndex: 0,
      snapshotTerm: 0,
    });
  });

  it('/metrics is Prometheus text with request, raft and storage metrics', async () => {
    const metrics = new ServerMetrics({ defaultLabels: { node: 'n1' } });
    const { api } = setup({ metrics });
    await put(api, 'a', 'v');
    await get(api, 'a');
    await get(api, 'missing');
    await api.inject({ method: 'PUT', url: '/kv/a', payload: 'nope', headers: { 'content-type': 'application/json' } });
    await api.inject({ method: 'GET', url: '/kv/%zz' }); // refused before routing, counted all the same
    await api.inject({ method: 'GET', url: '/elsewhere' });
    metrics.observeFsync({ durationSeconds: 0.002, bytes: 512, entries: 3 });
    metrics.observeElection(4);
    const res = await api.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    for (const name of [
      'figure2_http_request_duration_seconds_bucket',
      'figure2_client_requests_total',
      'figure2_raft_current_term',
      'figure2_raft_is_leader',
      'figure2_raft_leader_changes_total',
      'figure2_raft_elections_total',
      'figure2_raft_commit_index',
      'figure2_raft_last_applied',
      'figure2_raft_applied_entries_total',
      'figure2_storage_fsync_duration_seconds_count',
      'figure2_storage_fsync_bytes_total',
      'figure2_storage_batch_entries_bucket',
    ]) {
      expect(text, name).toContain(name);
    }
    expect(sample(text, 'figure2_client_requests_total', { outcome: 'ok', node: 'n1' })).toBe(2);
    expect(sample(text, 'figure2_client_requests_total', { outcome: 'not-found', node: 'n1' })).toBe(2);
    expect(sample(text, 'figure2_client_requests_total', { outcome: 'invalid-request', node: 'n1' })).toBe(1);
    expect(sample(text, 'figure2_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status: '404', node: 'n1' })).toBe(1);
    expect(sample(text, 'figure2_client_requests_total', { outcome: 'invalid-json', node: 'n1' })).toBe(1);
    expect(sample(text, 'figure2_client_requests_total', { outcome: 'outcome-unknown', node: 'n1' })).toBe(0);
    expect(sample(text, 'figure2_http_request_duration_seconds_count', { method: 'GET', route: '/kv/:key', status: '404', node: 'n1' })).toBe(1);
    expect(sample(text, 'figure2_http_request_duration_seconds_count', { method: 'PUT', route: '/kv/:key', status: '400', node: 'n1' })).toBe(1);
    expect(sample(text, 'figure2_raft_elections_total', { node: 'n1' })).toBe(1);
    expect(sample(text, 'figure2_raft_is_leader', { node: 'n1' })).toBe(1);
    expect(sample(text, 'figure2_storage_batch_entries_sum', { node: 'n1' })).toBe(3);
    expect(text).not.toContain('process_cpu'); // process metrics are opt-in
  });

  it('two APIs in one process keep their metrics apart (a registry each)', async () => {
    const one = setup();
    const two = setup();
    await put(one.api, 'a', 'v');
    const text = (await two.api.inject({ method: 'GET', url: '/metrics' })).body;
    expect(sample(text, 'figure2_client_requests_total', { outcome: 'ok' })).toBe(0);
  });

  it('counts leader changes and applied entries between samples', async () => {
    const metrics = new ServerMetrics();
    const node = new FakeNode();
    metrics.observeStatus(node.status());
    node.leader = 'n2';
    metrics.observeStatus(node.status());
    metrics.observeCommit(10);
    metrics.observeCommit(12);
    const text = await metrics.render();
    expect(sample(text, 'figure2_raft_leader_changes_total')).toBe(1);
    // The first sample (0 entries) is the baseline; 12 entries were applied after it.
    expect(sample(text, 'figure2_raft_applied_entries_total')).toBe(12);
    expect(sample(text, 'figure2_raft_last_applied')).toBe(12);
  });
});

describe('logging', () => {
  it('logs each request at debug with its outcome, and 503/504 at warn', async () => {
    const { logger, lines } = captureLogger();
    const { api, node } = setup({ loggerInstance: logger });
    await put(api, 'a', 'v');
    node.failWith = new OutcomeUnknownError('lost');
    await put(api, 'a', 'v');
    const answered = lines().filter((l) => l['msg'] === 'request answered');
    expect(answered.map((l) => [l['level'], l['statusCode'], l['outcome']])).toEqual([
      [20, 200, 'ok'],
      [20, 504, 'outcome-unknown'],
    ]);
    expect(lines().some((l) => l['level'] === 40 && l['outcome'] === 'outcome-unknown')).toBe(true);
    // Fastify's own info-level request lines are off.
    expect(lines().some((l) => l['msg'] === 'incoming request')).toBe(false);
  });
});

describe('on a real NodeHost (single node, MemoryStorage)', () => {
  it('elects itself, then serves PUT, GET, CAS, DELETE and /status', async () => {
    const host = new NodeHost({
      config: { ...DEFAULT_CONFIG, id: 'n1', voters: ['n1'] },
      storage: new MemoryStorage(),
      rng: createPrng(7),
      send: () => {},
    });
    const api = createClientApi({ node: host, clientAddresses: { n1: 'http://127.0.0.1:8001' } });
    // Before the election the node knows no leader.
    expect((await put(api, 'a', 'v')).statusCode).toBe(503);
    for (let t = 0; t < 100 && host.status().role !== 'leader'; t++) {
      host.tick();
      await host.idle();
    }
    expect(host.status().role).toBe('leader');

    expect((await put(api, 'a', 'one', session('c1', 1))).statusCode).toBe(200);
    expect((await get(api, 'a')).json()).toEqual({ key: 'a', value: 'one' });
    const retry = await put(api, 'a', 'one', session('c1', 1));
    expect(retry.headers['x-replayed']).toBe('true');
    expect((await cas(api, 'a', 'one', 'two', session('c1', 2))).statusCode).toBe(200);
    const mismatch = await cas(api, 'a', 'one', 'three', session('c1', 3));
    expect(mismatch.statusCode).toBe(409);
    expect(mismatch.json()).toMatchObject({ current: 'two' });
    expect((await get(api, 'a', '?stale=true')).json()).toEqual({ key: 'a', value: 'two' });
    expect((await del(api, 'a', session('c1', 4))).statusCode).toBe(200);
    expect((await get(api, 'a')).statusCode).toBe(404);

    const status = (await api.inject({ method: 'GET', url: '/status' })).json<Record<string, unknown>>();
    expect(status).toMatchObject({ id: 'n1', role: 'leader', leader: 'n1', leaderUrl: 'http://127.0.0.1:8001' });
    expect(status['lastApplied']).toBe(status['commitIndex']);
    expect(status['commitIndex']).toBeGreaterThanOrEqual(5); // the no-op and four writes
    await api.close();
    await host.close();
  });
});

/** The value of the one sample of `name` carrying all of `labels` (in any order), from Prometheus text. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const values = text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .filter((line) => wanted.every((pair) => line.slice(0, line.lastIndexOf(' ')).includes(pair)))
    .map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)));
  expect(values.length, `${name} ${JSON.stringify(labels)}`).toBeLessThanOrEqual(1);
  return values[0];
}

/** A pino logger at debug writing JSON lines into memory. */
function captureLogger() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = pino({ level: 'debug' }, stream);
  const lines = (): Record<string, unknown>[] =>
    chunks
      .join('')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines };
}
