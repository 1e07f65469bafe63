/**
 * PeerTransport on loopback: thousands of envelopes in order per link, batched; a restarted peer
 * is reconnected to; a down peer's queue is bounded (oldest dropped); invalid envelopes and huge
 * frames are refused, logged, and the transport keeps serving; stop() flushes and closes
 * everything.
 */
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../../impl/core/types.ts';
import { FramedConnection } from '../../../impl/transport/connection.ts';
import { encodeFrame } from '../../../impl/transport/frame.ts';
import { acceptHandshake, HANDSHAKE_MAX_FRAME_BYTES } from '../../../impl/transport/handshake.ts';
import { backoffDelayMs, BoundedQueue } from '../../../impl/transport/peer-link.ts';
import { PeerTransport, TransportError } from '../../../impl/transport/peer-transport.ts';
import { encodeEnvelopeFrame, FrameKind } from '../../../impl/transport/wire.ts';
import { append, freePorts, numbered, openTcpHandles, rawPeer, recordingLogger, SECRET, sleep, TransportCluster, waitFor } from './support.ts';

const ids = ['n1', 'n2', 'n3'];
const macrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

afterAll(async () => {
  // Everything each test opened, it closed (sockets close asynchronously: give them a moment).
  await waitFor('all TCP handles to close', () => openTcpHandles().length === 0, 2000).catch(() => {});
  expect(openTcpHandles()).toEqual([]);
});

describe('PeerTransport', () => {
  it('delivers thousands of envelopes between three nodes, in order per link, batched into frames', async () => {
    const cluster = await TransportCluster.create(ids);
    try {
      const perLink = 2000;
      for (let seq = 0; seq < perLink; seq++) {
        for (const from of ids) {
          for (const to of ids) {
            if (from !== to) cluster.node(from).send(seq % 3 === 0 ? append(from, to, seq) : numbered(from, to, seq));
          }
        }
        // Bursts of uneven size, like a host's Readies: some share a frame, some do not.
        if (seq % 97 === 0) await macrotask();
      }
      await waitFor('every envelope', () => ids.every((to) => cluster.inbox(to).length === 2 * perLink), 10_000);
      const expected = Array.from({ length: perLink }, (_, seq) => (seq % 3 === 0 ? 3 : seq));
      for (const to of ids) {
        for (const from of ids) {
          if (from === to) continue;
          expect(cluster.terms(to, from), `${from} → ${to}`).toEqual(expected);
          const appends = cluster.inbox(to).filter((e) => e.from === from && e.msg.type === 'AppendEntries');
          expect(appends.map((e) => (e.msg as { round?: number }).round)).toEqual(Array.from({ length: Math.ceil(perLink / 3) }, (_, k) => 3 * k));
        }
      }
      for (const id of ids) {
        const stats = cluster.node(id).stats();
        expect(stats.messagesSent).toBe(2 * perLink);
        expect(stats.messagesReceived).toBe(2 * perLink);
        expect(stats.framesSent).toBeLessThan(stats.messagesSent / 10); // batching
        expect(stats.framesReceived).toBeGreaterThan(0);
        expect(stats.bytesSent).toBeGreaterThan(0);
        expect(stats.bytesReceived).toBeGreaterThan(0);
        expect(stats.dropped + stats.rejected + stats.authFailures + stats.protocolErrors).toBe(0);
        expect(stats.connects).toBe(2);
        expect(stats.queued).toBe(0);
        expect(Object.values(stats.peers).map((p) => p.state)).toEqual(['open', 'open']);
      }
      expect(cluster.log('n1').matching('error', /./)).toEqual([]);
    } finally {
      await cluster.stopAll();
    }
  });

  it('reconnects to a peer that restarts, and delivers what was queued meanwhile', async () => {
    const cluster = await TransportCluster.create(['n1', 'n2']);
    try {
      const n1 = cluster.node('n1');
      n1.send(numbered('n1', 'n2', 1));
      await waitFor('the first message', () => cluster.terms('n2', 'n1').length === 1);
      const logged = cluster.log('n1').lines.length;
      await cluster.node('n2').stop();
      await waitFor('n1 to notice', () => n1.stats().peers['n2']?.state !== 'open');
      for (let seq = 2; seq <= 50; seq++) n1.send(numbered('n1', 'n2', seq));
      await sleep(150); // a few failed attempts: the backoff grows
      expect(n1.stats().peers['n2']?.queued).toBe(49);
      // One line for the outage; the retries that fail the same way go to debug.
      const outage = cluster.log('n1').lines.slice(logged);
      const lines = (level: string, pattern: RegExp): number => outage.filter((l) => l.level === level && pattern.test(l.msg)).length;
      expect(lines('warn', /lost the connection to n2; reconnecting/)).toBe(1);
      expect(lines('warn', /^cannot reach n2 at 127\.0\.0\.1:\d+ \(ECONNREFUSED\); retrying with backoff$/)).toBe(1);
      expect(lines('debug', /still cannot connect to n2 at 127\.0\.0\.1:\d+: ECONNREFUSED/)).toBeGreaterThan(0);
      await cluster.startNode('n2');
      await waitFor('the queued messages', () => cluster.terms('n2', 'n1').length === 49, 3000);
      expect(cluster.terms('n2', 'n1')).toEqual(Array.from({ length: 49 }, (_, k) => k + 2));
      const stats = n1.stats();
      expect(stats.reconnects).toBe(1);
      expect(stats.connects).toBe(2);
      expect(stats.dropped).toBe(0);
      expect(cluster.log('n1').matching('info', /connected to n2/)).toHaveLength(2);
    } finally {
      await cluster.stopAll();
    }
  });

  it('bounds the queue of an unreachable peer, dropping the oldest and counting them', async () => {
    const cluster = await TransportCluster.create(['n1', 'n2'], () => ({ maxQueuedMessages: 100 }));
    try {
      const n1 = cluster.node('n1');
      await waitFor('the link to open', () => n1.stats().peers['n2']?.state === 'open');
      await cluster.node('n2').stop();
      await waitFor('n1 to notice', () => n1.stats().peers['n2']?.state !== 'open');
      for (let seq = 0; seq < 150; seq++) n1.send(numbered('n1', 'n2', seq));
      expect(n1.stats()).toMatchObject({ dropped: 50, queued: 100, peers: { n2: { queued: 100, dropped: 50 } } });
      await cluster.startNode('n2');
      await waitFor('the newest 100', () => cluster.terms('n2', 'n1').length === 100, 3000);
      expect(cluster.terms('n2', 'n1')).toEqual(Array.from({ length: 100 }, (_, k) => k + 50));
    } finally {
      await cluster.stopAll();
    }
  });

  it('refuses invalid envelopes with a logged error and keeps serving the same connection', async () => {
    const cluster = await TransportCluster.create(['n1', 'n2']);
    try {
      const raw = await rawPeer({ self: 'n1', peer: 'n2', port: cluster.port('n2') });
      const invalid = { from: 'n1', to: 'n2', msg: { type: 'AppendEntriesResponse', term: 1, success: 'yes' } };
      raw.write(encodeEnvelopeFrame([JSON.stringify(numbered('n1', 'n2', 1)), JSON.stringify(invalid), JSON.stringify(numbered('n1', 'n2', 2))]));
      await waitFor('the valid two', () => cluster.terms('n2', 'n1').length === 2);
      const [line] = cluster.log('n2').matching('error', /refused 1 invalid message\(s\) from n1: msg\.success/);
      expect(line?.obj).toMatchObject({ peer: 'n1', rejected: 1, batch: 3, position: 1 });
      expect(cluster.node('n2').stats().rejected).toBe(1);
      raw.write(encodeEnvelopeFrame([JSON.stringify(numbered('n1', 'n2', 3))]));
      await waitFor('a later message on the same connection', () => cluster.terms('n2', 'n1').length === 3);
      expect(raw.isClosed).toBe(false);
      raw.destroy();
      await raw.closed;
    } finally {
      await cluster.stopAll();
    }
  });

  it('closes a connection that sends a malformed or huge frame, logs why, and keeps serving others', async () => {
    const cluster = await TransportCluster.create(['n1', 'n2', 'n3'], () => ({ maxFrameBytes: 64 * 1024 }));
    try {
      const n2 = cluster.port('n2');
      const refusals: [string, Buffer, RegExp][] = [
        ['not JSON', encodeFrame(Buffer.from([FrameKind.ENVELOPES, 0x5b, 0x7b])), /closed the link from n1: a frame whose body is not JSON/],
        ['an unknown kind', encodeFrame(Buffer.from([0x09, 0x5b, 0x5d])), /closed the link from n1: a frame of unknown kind 0x09/],
        ['a handshake after the handshake', encodeFrame(Buffer.from([FrameKind.HANDSHAKE, 0x7b, 0x7d])), /a handshake frame after the handshake finished/],
        ['a batch that is not an array', encodeFrame(Buffer.from([FrameKind.ENVELOPES, ...Buffer.from('{}')])), /not an array/],
        ['a 1 GiB length', Buffer.from([0x40, 0, 0, 0]), /refused a frame of 1073741824 bytes: the limit is 65536 bytes/],
      ];
      for (const [what, bytes, logged] of refusals) {
        const raw = await rawPeer({ self: 'n1', peer: 'n2', port: n2 });
        raw.write(bytes);
        await Promise.race([raw.closed, sleep(2000)]);
        expect(raw.isClosed, what).toBe(true);
        expect(cluster.log('n2').matching('error', logged), what).toHaveLength(1);
      }
      expect(cluster.node('n2').stats().protocolErrors).toBe(refusals.length);
      // n3's link was never disturbed, and n1's own transport still gets through.
      cluster.node('n3').send(numbered('n3', 'n2', 7));
      cluster.node('n1').send(numbered('n1', 'n2', 8));
      await waitFor('traffic after the refusals', () => cluster.terms('n2', 'n3').length === 1 && cluster.terms('n2', 'n1').length === 1);
    } finally {
      await cluster.stopAll();
    }
  });

  it('a frame above the receiver’s limit closes the link; the sender reconnects and goes on', async () => {
    const cluster = await TransportCluster.create(['n1', 'n2'], (id) => ({ maxFrameBytes: id === 'n2' ? 64 * 1024 : 1024 * 1024 }));
    try {
      const huge: Envelope = { from: 'n1', to: 'n2', msg: { ...append('n1', 'n2', 0).msg, entries: [{ index: 1, term: 3, kind: 'command', digest: 'x'.repeat(200_000) }] } as Envelope['msg'] };
      cluster.node('n1').send(numbered('n1', 'n2', 1));
      await waitFor('a first message', () => cluster.terms('n2', 'n1').length === 1);
      cluster.node('n1').send(huge);
      await waitFor('n2 to refuse the frame', () => cluster.node('n2').stats().protocolErrors === 1);
      expect(cluster.log('n2').matching('error', /refused a frame of \d+ bytes: the limit is 65536 bytes/)).toHaveLength(1);
      await waitFor('n1 to reconnect', () => cluster.node('n1').stats().reconnects === 1, 3000);
      cluster.node('n1').send(numbered('n1', 'n2', 2));
      await waitFor('the next message', () => cluster.terms('n2', 'n1').length === 2);
      expect(cluster.terms('n2', 'n1')).toEqual([1, 2]);
    } finally {
      await cluster.stopAll();
    }
  });

  it('a write that makes no progress (a peer that stopped reading) closes the link, which reconnects', async () => {
    // A fake n2 that authenticates, then never reads again: the kernel buffers fill, the write stalls.
    const accepted: FramedConnection[] = [];
    const server = createServer((socket) => {
      const conn = new FramedConnection(socket, { maxFrameBytes: HANDSHAKE_MAX_FRAME_BYTES });
      accepted.push(conn);
      void acceptHandshake(conn, { self: 'n2', peers: new Set(['n1']), secret: SECRET }).then(() => socket.pause(), () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const logger = recordingLogger();
    const n1 = new PeerTransport({
      id: 'n1',
      peers: { n2: { port: (server.address() as AddressInfo).port } },
      listen: { port: 0 },
      secret: SECRET,
      logger,
      writeStallTimeoutMs: 200,
      backoff: { initialMs: 20, maxMs: 100 },
      onEnvelope: () => {},
    });
    await n1.start();
    try {
      const bulk: Envelope = { from: 'n1', to: 'n2', msg: { type: 'RequestVoteResponse', term: 1, voteGranted: true, pad: 'x'.repeat(64 * 1024) } };
      for (let i = 0; i < 600; i++) n1.send(bulk); // ~40 MB: more than loopback buffers hold
      await waitFor('the stall to be noticed', () => logger.matching('warn', /a write to n2 made no progress for 200 ms; reconnecting/).length > 0, 5000);
      await waitFor('a second connection', () => accepted.length >= 2, 3000);
    } finally {
      await n1.stop();
      for (const conn of accepted) conn.destroy();
      await Promise.all(accepted.map((c) => c.closed));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('send never throws: what it cannot send is logged and counted as dropped', async () => {
    const cluster = await TransportCluster.create(['n1', 'n2'], () => ({ maxFrameBytes: 1024 }));
    try {
      const n1 = cluster.node('n1');
      const unserializable = { from: 'n1', to: 'n2', msg: { type: 'RequestVoteResponse', term: 1, voteGranted: true, extra: 10n } } as unknown as Envelope;
      const tooBig: Envelope = { from: 'n1', to: 'n2', msg: { type: 'RequestVoteResponse', term: 1, voteGranted: true, note: 'x'.repeat(2000) } };
      expect(() => n1.send(numbered('n1', 'n9', 1))).not.toThrow(); // unknown peer
      expect(() => n1.send(numbered('n2', 'n1', 1))).not.toThrow(); // not from this node
      expect(() => n1.send(unserializable)).not.toThrow();
      expect(() => n1.send(tooBig)).not.toThrow();
      expect(n1.stats().dropped).toBe(4);
      expect(cluster.log('n1').matching('error', /sends only to its peers/)).toHaveLength(2);
      expect(cluster.log('n1').matching('error', /could not be serialized/)).toHaveLength(1);
      expect(cluster.log('n1').matching('error', /do not fit a frame \(maxFrameBytes 1024\)/)).toHaveLength(1);
      await n1.stop();
      expect(() => n1.send(numbered('n1', 'n2', 2))).not.toThrow();
      expect(n1.stats().dropped).toBe(5);
      expect(cluster.inbox('n2')).toEqual([]);
    } finally {
      await cluster.stopAll();
    }
  });

  it('stop() sends what is queued before closing, and closes every socket', async () => {
    const cluster = await TransportCluster.create(['n1', 'n2']);
    try {
      const n1 = cluster.node('n1');
      n1.send(numbered('n1', 'n2', 0));
      await waitFor('the link to open', () => cluster.terms('n2', 'n1').length === 1);
      for (let seq = 1; seq <= 500; seq++) n1.send(numbered('n1', 'n2', seq));
      await n1.stop();
      await waitFor('the flushed messages', () => cluster.terms('n2', 'n1').length === 501, 2000);
      expect(n1.stats()).toMatchObject({ dropped: 0, queued: 0, messagesSent: 501 });
      await n1.stop(); // twice is fine
    } finally {
      await cluster.stopAll();
    }
    // Closed handles leave libuv's list a loop turn after their close callbacks.
    await waitFor('the sockets to be released', () => openTcpHandles().length === 0, 1000);
  });

  it('logs and survives an onEnvelope that throws', async () => {
    const [p1 = 0, p2 = 0] = await freePorts(2);
    const got: number[] = [];
    const log2 = recordingLogger();
    const n1 = new PeerTransport({ id: 'n1', peers: { n2: { port: p2 } }, listen: { port: p1 }, secret: SECRET, onEnvelope: () => {} });
    const n2 = new PeerTransport({
      id: 'n2',
      peers: { n1: { port: p1 } },
      listen: { port: p2 },
      secret: SECRET,
      logger: log2,
      onEnvelope: (e) => {
        if (e.msg.term === 1) throw new Error('host bug');
        got.push(e.msg.term);
      },
    });
    await Promise.all([n1.start(), n2.start()]);
    try {
      for (const seq of [0, 1, 2]) n1.send(numbered('n1', 'n2', seq));
      await waitFor('the messages around the throw', () => got.length === 2);
      expect(got).toEqual([0, 2]);
      expect(log2.matching('error', /onEnvelope threw: host bug/)).toHaveLength(1);
      expect(n2.stats()).toMatchObject({ messagesReceived: 3, protocolErrors: 0 });
    } finally {
      await Promise.all([n1.stop(), n2.stop()]);
    }
  });

  it('validates its options with messages that say what to fix', async () => {
    const base = { id: 'n1', peers: { n2: { port: 7002 } }, listen: { port: 7001 }, secret: SECRET, onEnvelope: () => {} };
    expect(() => new PeerTransport({ ...base, secret: Buffer.from('short') })).toThrow(/at least 16 bytes \(got 5\)/);
    expect(() => new PeerTransport({ ...base, listen: { port: 70_000 } })).toThrow(/listen\.port must be a port number from 0 to 65535, got 70000/);
    expect(() => new PeerTransport({ ...base, peers: { n2: { port: -1 } } })).toThrow(/peers\.n2\.port/);
    expect(() => new PeerTransport({ ...base, maxFrameBytes: 0 })).toThrow(TransportError);
    expect(() => new PeerTransport({ ...base, maxQueuedMessages: 0 })).toThrow(/maxQueuedMessages must be a positive integer/);
    expect(() => new PeerTransport({ ...base, backoff: { initialMs: 100, maxMs: 10 } })).toThrow(/0 < initialMs ≤ maxMs/);
    // Listening on a taken port is a TransportError naming the address.
    const first = new PeerTransport({ ...base, listen: { port: 0 } });
    await first.start();
    const taken = new PeerTransport({ ...base, listen: { port: first.address().port } });
    await expect(taken.start()).rejects.toThrow(/cannot listen for peers on 127\.0\.0\.1:\d+ \(EADDRINUSE\): the port is taken/);
    await taken.stop();
    await first.stop();
    await expect(first.start()).rejects.toThrow(/already started \(or stopped\)/);
  });
});

describe('backoff and queue', () => {
  it('doubles from initialMs to maxMs, with jitter in the upper half', () => {
    const backoff = { initialMs: 50, maxMs: 2000 };
    const low = (attempt: number): number => backoffDelayMs(attempt, backoff, () => 0);
    const high = (attempt: number): number => backoffDelayMs(attempt, backoff, () => 0.999999);
    expect([0, 1, 2, 3, 4, 5, 6, 50].map(low)).toEqual([25, 50, 100, 200, 400, 800, 1000, 1000]);
    for (const attempt of [0, 3, 6, 100]) {
      expect(high(attempt)).toBeGreaterThan(low(attempt));
      expect(high(attempt)).toBeLessThanOrEqual(2000);
    }
  });

  it('drops the oldest beyond its count or byte bound, and batches within a byte budget', () => {
    const q = new BoundedQueue(3, 100);
    const item = (json: string) => ({ json, bytes: json.length + 1 });
    expect([q.push(item('a')), q.push(item('b')), q.push(item('c')), q.push(item('d'))]).toEqual([0, 0, 0, 1]);
    expect(q.takeBatch(1000).map((i) => i.json)).toEqual(['b', 'c', 'd']);
    expect(q.push(item('x'.repeat(60)))).toBe(0);
    expect(q.push(item('y'.repeat(60)))).toBe(1); // 122 bytes > 100: the older goes
    expect(q.bytes).toBe(61);
    q.push(item('z'));
    expect(q.takeBatch(10).map((i) => i.json[0])).toEqual(['y']); // at least one, even over budget
    expect(q.takeBatch(10).map((i) => i.json)).toEqual(['z']);
    expect(q.length).toBe(0);
  });
});
