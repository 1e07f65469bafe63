/**
 * Peer authentication: nodes holding the same secret connect; a wrong secret, an unknown node id
 * or a wrong address is refused and logged on both sides; an authenticated peer cannot send in
 * another node's name; a stranger that says nothing is timed out. And loadSecret's sources and
 * refusals.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FramedConnection } from '../../../impl/transport/connection.ts';
import { acceptHandshake, dialHandshake, HandshakeError, HANDSHAKE_MAX_FRAME_BYTES, loadSecret, MIN_SECRET_BYTES, SecretError } from '../../../impl/transport/handshake.ts';
import { PeerTransport } from '../../../impl/transport/peer-transport.ts';
import { encodeEnvelopeFrame, encodeHandshakeFrame } from '../../../impl/transport/wire.ts';
import { append, freePorts, numbered, openTcpHandles, rawPeer, recordingLogger, SECRET, sleep, TransportCluster, waitFor } from './support.ts';

const OTHER_SECRET = Buffer.from('another-secret-entirely-0123456789');

afterAll(async () => {
  await waitFor('all TCP handles to close', () => openTcpHandles().length === 0, 2000).catch(() => {});
  expect(openTcpHandles()).toEqual([]);
});

/** Both ends of one loopback connection, as FramedConnections. */
async function connectedPair(): Promise<{ dialer: FramedConnection; acceptor: FramedConnection; close: () => Promise<void> }> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const socket = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
  const options = { maxFrameBytes: HANDSHAKE_MAX_FRAME_BYTES };
  const dialer = new FramedConnection(socket, options);
  const acceptor = new FramedConnection(await accepted, options);
  return {
    dialer,
    acceptor,
    close: async () => {
      dialer.destroy();
      acceptor.destroy();
      await Promise.all([dialer.closed, acceptor.closed, new Promise<void>((resolve) => server.close(() => resolve()))]);
    },
  };
}

/** The settled outcome of a handshake promise: the value, or the HandshakeError's kind and message. */
async function outcome<T>(promise: Promise<T>): Promise<{ ok: T } | { kind: string; message: string }> {
  try {
    return { ok: await promise };
  } catch (error) {
    if (!(error instanceof HandshakeError)) throw error;
    return { kind: error.kind, message: error.message };
  }
}

describe('handshake, end to end', () => {
  it('connects two nodes that hold the same secret', async () => {
    const { dialer, acceptor, close } = await connectedPair();
    try {
      const [dialed, accepted] = await Promise.all([
        outcome(dialHandshake(dialer, { self: 'n1', peer: 'n2', secret: SECRET })),
        outcome(acceptHandshake(acceptor, { self: 'n2', peers: new Set(['n1', 'n3']), secret: SECRET })),
      ]);
      expect(dialed).toEqual({ ok: undefined });
      expect(accepted).toEqual({ ok: 'n1' });
    } finally {
      await close();
    }
  });

  it('refuses a wrong secret on both sides, saying so', async () => {
    const { dialer, acceptor, close } = await connectedPair();
    try {
      const [dialed, accepted] = await Promise.all([
        outcome(dialHandshake(dialer, { self: 'n1', peer: 'n2', secret: OTHER_SECRET })),
        outcome(acceptHandshake(acceptor, { self: 'n2', peers: new Set(['n1']), secret: SECRET })),
      ]);
      expect(dialed).toMatchObject({ kind: 'bad-proof', message: expect.stringMatching(/n2 at .* could not prove it holds the cluster secret: the secrets differ/) });
      expect(accepted).toMatchObject({ kind: 'refused', message: expect.stringMatching(/refused the connection: authentication failed/) });
      await Promise.race([Promise.all([dialer.closed, acceptor.closed]), sleep(2000)]);
      expect(dialer.isClosed && acceptor.isClosed).toBe(true);
    } finally {
      await close();
    }
  });

  it('refuses an unknown node id, the acceptor itself, and a hello meant for another node', async () => {
    const cases: [string, string, string, RegExp][] = [
      ['n9', 'n2', 'unknown-peer', /node id "n9" is not one of this node's peers/],
      ['n2', 'n2', 'unknown-peer', /node id "n2" is not one of this node's peers/],
      ['n1', 'n3', 'wrong-recipient', /n1 at .* wanted to reach "n3", but this is n2: check its peer list/],
    ];
    for (const [self, peer, kind, message] of cases) {
      const { dialer, acceptor, close } = await connectedPair();
      try {
        const [dialed, accepted] = await Promise.all([
          outcome(dialHandshake(dialer, { self, peer, secret: SECRET })),
          outcome(acceptHandshake(acceptor, { self: 'n2', peers: new Set(['n1', 'n2']), secret: SECRET })),
        ]);
        expect(accepted, `${self} → ${peer}`).toMatchObject({ kind, message: expect.stringMatching(message) });
        expect(dialed, `${self} → ${peer}`).toMatchObject({ kind: 'refused' });
      } finally {
        await close();
      }
    }
  });

  it('refuses bytes that are not the handshake, and times out a silent stranger', async () => {
    const garbage = await connectedPair();
    try {
      garbage.dialer.write(encodeEnvelopeFrame([JSON.stringify(numbered('n1', 'n2', 1))]));
      const accepted = await outcome(acceptHandshake(garbage.acceptor, { self: 'n2', peers: new Set(['n1']), secret: SECRET }));
      expect(accepted).toMatchObject({ kind: 'protocol', message: expect.stringMatching(/sent messages before the handshake finished/) });
    } finally {
      await garbage.close();
    }
    const silent = await connectedPair();
    try {
      const started = Date.now();
      const accepted = await outcome(acceptHandshake(silent.acceptor, { self: 'n2', peers: new Set(['n1']), secret: SECRET, timeoutMs: 100 }));
      expect(accepted).toMatchObject({ kind: 'timeout', message: expect.stringMatching(/did not finish within 100 ms/) });
      expect(Date.now() - started).toBeLessThan(1000);
      await Promise.race([silent.dialer.closed, sleep(2000)]);
      expect(silent.dialer.isClosed).toBe(true);
    } finally {
      await silent.close();
    }
  });

  it('refuses a malformed handshake message', async () => {
    const { dialer, acceptor, close } = await connectedPair();
    try {
      dialer.write(encodeHandshakeFrame({ type: 'hello', version: 1, from: 'n1', to: 'n2', nonce: 'short' }));
      const accepted = await outcome(acceptHandshake(acceptor, { self: 'n2', peers: new Set(['n1']), secret: SECRET }));
      expect(accepted).toMatchObject({ kind: 'protocol', message: expect.stringMatching(/invalid handshake message: nonce: expected 64 lowercase hex digits/) });
    } finally {
      await close();
    }
  });
});

describe('handshake in PeerTransport', () => {
  it('a node with the wrong secret is refused and logged on both sides, and nothing is delivered', async () => {
    const cluster = await TransportCluster.create(['n1', 'n2'], (id) => (id === 'n1' ? { secret: OTHER_SECRET } : {}));
    try {
      cluster.node('n1').send(numbered('n1', 'n2', 1));
      // Each node dials the other: each sees the failure as a dialer and as an acceptor.
      for (const [node, peer] of [['n1', 'n2'], ['n2', 'n1']] as const) {
        await waitFor(`${node} to log both failures`, () => {
          const log = cluster.log(node);
          const asDialer = log.matching('error', new RegExp(`could not authenticate with ${peer}: ${peer} at .* could not prove it holds the cluster secret: the secrets differ`));
          const asAcceptor = log.matching('warn', new RegExp(`refused a peer connection: ${peer} refused the connection: authentication failed`));
          return asDialer.length > 0 && asAcceptor.length > 0;
        });
        expect(cluster.node(node).stats().authFailures).toBeGreaterThanOrEqual(2);
      }
      await sleep(100);
      expect(cluster.inbox('n2')).toEqual([]);
      expect(cluster.inbox('n1')).toEqual([]);
      expect(cluster.node('n1').stats().peers['n2']?.state).not.toBe('open');
    } finally {
      await cluster.stopAll();
    }
  });

  it('a node unknown to the cluster is refused and logged', async () => {
    const cluster = await TransportCluster.create(['n1', 'n2']);
    const [port = 0] = await freePorts(1);
    const logger = recordingLogger();
    const stranger = new PeerTransport({ id: 'n7', peers: { n2: { port: cluster.port('n2') } }, listen: { port }, secret: SECRET, logger, onEnvelope: () => {} });
    await stranger.start();
    try {
      stranger.send(numbered('n7', 'n2', 1));
      await waitFor('n2 to refuse n7', () => cluster.log('n2').matching('warn', /node id "n7" is not one of this node's peers/).length > 0);
      await waitFor('n7 to hear why', () => logger.matching('error', /n2 refused the connection: unknown node id "n7"/).length > 0);
      expect(cluster.node('n2').stats().authFailures).toBeGreaterThan(0);
      expect(cluster.inbox('n2')).toEqual([]);
    } finally {
      await stranger.stop();
      await cluster.stopAll();
    }
  });

  it('an authenticated peer that sends in another node’s name loses its connection', async () => {
    const cluster = await TransportCluster.create(['n1', 'n2', 'n3']);
    try {
      const spoofs = [numbered('n3', 'n2', 1), { ...append('n3', 'n2', 2), from: 'n1' }];
      for (const spoof of spoofs) {
        const raw = await rawPeer({ self: 'n1', peer: 'n2', port: cluster.port('n2') });
        raw.write(encodeEnvelopeFrame([JSON.stringify(spoof)]));
        await Promise.race([raw.closed, sleep(2000)]);
        expect(raw.isClosed).toBe(true);
      }
      expect(cluster.log('n2').matching('error', /closed the link from n1: peer "n1" sent a message from "n3"/)).toHaveLength(1);
      expect(cluster.log('n2').matching('error', /closed the link from n1: peer "n1" sent a message AppendEntries naming "n3"/)).toHaveLength(1);
      expect(cluster.node('n2').stats()).toMatchObject({ authFailures: 2, protocolErrors: 2 });
      expect(cluster.inbox('n2')).toEqual([]);
      // The real n1 and n3 still get through.
      cluster.node('n1').send(numbered('n1', 'n2', 5));
      cluster.node('n3').send(numbered('n3', 'n2', 6));
      await waitFor('the genuine messages', () => cluster.inbox('n2').length === 2);
    } finally {
      await cluster.stopAll();
    }
  });

  it('a client that does not speak the protocol (HTTP) is refused; the node keeps serving', async () => {
    const cluster = await TransportCluster.create(['n1', 'n2']);
    try {
      const socket = connect({ host: '127.0.0.1', port: cluster.port('n2') });
      socket.on('error', () => {});
      socket.write('GET /metrics HTTP/1.1\r\nHost: n2\r\n\r\n');
      await Promise.race([new Promise((resolve) => socket.once('close', resolve)), sleep(2000)]);
      expect(socket.destroyed).toBe(true);
      expect(cluster.log('n2').matching('warn', /refused a peer connection: .*does not speak figure2's peer protocol: refused a frame of \d+ bytes/)).toHaveLength(1);
      cluster.node('n1').send(numbered('n1', 'n2', 1));
      await waitFor('a genuine message', () => cluster.inbox('n2').length === 1);
    } finally {
      await cluster.stopAll();
    }
  });
});

describe('loadSecret', () => {
  const dir = mkdtempSync(join(tmpdir(), 'figure2-secret-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  it('reads --secret-file (without its trailing newline), else FIGURE2_SECRET; the file wins', () => {
    const hex = 'a'.repeat(64);
    expect(loadSecret({ file: file('ok', `${hex}\n`), env: {} }).toString()).toBe(hex);
    expect(loadSecret({ env: { FIGURE2_SECRET: `${hex}\r\n` } }).toString()).toBe(hex);
    expect(loadSecret({ file: file('wins', 'from-the-file-0123456789'), env: { FIGURE2_SECRET: hex } }).toString()).toBe('from-the-file-0123456789');
  });

  it('refuses a missing, empty, short or unreadable secret with a message that says what to do', () => {
    const refused = (options: Parameters<typeof loadSecret>[0]): SecretError => {
      try {
        loadSecret(options);
      } catch (error) {
        if (error instanceof SecretError) return error;
        throw error;
      }
      throw new Error('loadSecret accepted it');
    };
    expect(refused({ env: {} })).toMatchObject({ kind: 'missing', message: expect.stringMatching(/no cluster secret: pass --secret-file FILE or set FIGURE2_SECRET/) });
    expect(refused({ env: { FIGURE2_SECRET: '' } })).toMatchObject({ kind: 'too-short', message: expect.stringMatching(/in FIGURE2_SECRET is empty; e\.g\. `openssl rand -hex 32/) });
    expect(refused({ file: file('blank', '\n'), env: {} })).toMatchObject({ kind: 'too-short', message: expect.stringMatching(/--secret-file .*blank is empty/) });
    expect(refused({ env: { FIGURE2_SECRET: 'x'.repeat(MIN_SECRET_BYTES - 1) } })).toMatchObject({
      kind: 'too-short',
      message: expect.stringMatching(/is 15 bytes; at least 16 are required/),
    });
    expect(refused({ file: join(dir, 'absent'), env: { FIGURE2_SECRET: 'x'.repeat(32) } })).toMatchObject({
      kind: 'unreadable',
      message: expect.stringMatching(/cannot read the secret file .*absent \(ENOENT\): check the path given to --secret-file/),
    });
  });
});
