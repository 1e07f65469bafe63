/**
 * The chaos test's fault-injecting proxy, one fault at a time, between a frame client and a frame
 * echo server: partition (reset and blackhole) and heal, a one-way cut each way, delay that keeps
 * order, a drop fraction that spares handshakes and replays from its seed — and in front of a
 * real PeerTransport, where a partition stops the messages and healing brings the link back.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { FaultProxy } from '../../../conformance/chaos/fault-proxy.ts';
import { encodeFrame, FrameDecoder } from '../../../impl/transport/frame.ts';
import { FrameKind } from '../../../impl/transport/wire.ts';
import { numbered, openTcpHandles, sleep, TransportCluster, waitFor } from '../../impl/transport/support.ts';

/** A frame whose payload is a kind byte and a sequence number. */
function frame(seq: number, kind: number = FrameKind.ENVELOPES): Buffer {
  return encodeFrame(Buffer.from([kind, ...Buffer.from(String(seq))]));
}
const seqOf = (payload: Buffer): number => Number(payload.toString('utf8', 1));

/** A server that records every frame it receives and echoes it back. */
class EchoServer {
  readonly received: number[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor() {
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {});
      const decoder = new FrameDecoder();
      socket.on('data', (chunk: Buffer) => {
        for (const payload of decoder.push(chunk)) {
          this.received.push(seqOf(payload));
          socket.write(encodeFrame(payload));
        }
      });
    });
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A client that records the echoes (sequence numbers and when they arrived). */
class FrameClient {
  readonly echoes: number[] = [];
  readonly arrivals: number[] = [];
  readonly closed: Promise<void>;
  private readonly socket: Socket;

  constructor(port: number) {
    this.socket = connect({ host: '127.0.0.1', port });
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    const decoder = new FrameDecoder();
    this.socket.on('data', (chunk: Buffer) => {
      for (const payload of decoder.push(chunk)) {
        this.echoes.push(seqOf(payload));
        this.arrivals.push(performance.now());
      }
    });
  }

  get isClosed(): boolean {
    return this.socket.destroyed;
  }

  /** Writes frames, split across writes at odd offsets (the proxy must reassemble). */
  send(seqs: readonly number[], kind: number = FrameKind.ENVELOPES): void {
    const bytes = Buffer.concat(seqs.map((s) => frame(s, kind)));
    for (let at = 0; at < bytes.length; at += 7) this.socket.write(bytes.subarray(at, at + 7));
  }

  async close(): Promise<void> {
    this.socket.destroy();
    await this.closed;
  }
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => from + k);

/** An echo server behind a proxy; `run` gets both and everything is closed afterwards. */
async function withProxy(seed: number, run: (proxy: FaultProxy, echo: EchoServer, port: number) => Promise<void>): Promise<void> {
  const echo = new EchoServer();
  const proxy = new FaultProxy({ target: { port: await echo.start() }, seed });
  await proxy.start();
  try {
    await run(proxy, echo, proxy.address().port);
  } finally {
    await proxy.stop();
    await echo.stop();
  }
}

afterAll(async () => {
  await waitFor('all TCP handles to close', () => openTcpHandles().length === 0, 2000).catch(() => {});
  expect(openTcpHandles()).toEqual([]);
});

describe('FaultProxy', () => {
  it('forwards frames both ways, unchanged and in order, while healthy', async () => {
    await withProxy(1, async (proxy, echo, port) => {
      const client = new FrameClient(port);
      client.send(range(0, 300));
      await waitFor('the echoes', () => client.echoes.length === 300);
      expect(echo.received).toEqual(range(0, 300));
      expect(client.echoes).toEqual(range(0, 300));
      expect(proxy.stats()).toMatchObject({ connections: 1, forwarded: { forward: 300, backward: 300 }, dropped: { forward: 0, backward: 0 } });
      await client.close();
    });
  });

  it('partition (reset) closes connections and refuses new ones until healed', async () => {
    await withProxy(1, async (proxy, echo, port) => {
      const before = new FrameClient(port);
      before.send([1]);
      await waitFor('a first echo', () => before.echoes.length === 1);
      proxy.partition();
      await Promise.race([before.closed, sleep(2000)]);
      expect(before.isClosed).toBe(true);
      const during = new FrameClient(port);
      during.send([2]);
      await Promise.race([during.closed, sleep(2000)]);
      expect(during.isClosed).toBe(true);
      expect(echo.received).toEqual([1]);
      proxy.heal();
      const after = new FrameClient(port);
      after.send([3]);
      await waitFor('an echo after healing', () => after.echoes.length === 1);
      expect(echo.received).toEqual([1, 3]);
      expect(proxy.stats().resets).toBe(2);
      await after.close();
    });
  });

  it('partition (blackhole) keeps connections open and drops every frame, handshakes included', async () => {
    await withProxy(1, async (proxy, echo, port) => {
      const client = new FrameClient(port);
      client.send([0]);
      await waitFor('a first echo', () => client.echoes.length === 1);
      proxy.partition('blackhole');
      client.send(range(1, 21));
      client.send([100], FrameKind.HANDSHAKE);
      await sleep(100);
      expect(echo.received).toEqual([0]);
      expect(client.isClosed).toBe(false);
      expect(proxy.stats().dropped.forward).toBe(21);
      proxy.heal();
      client.send([21]);
      await waitFor('traffic on the same connection after healing', () => client.echoes.length === 2);
      expect(client.echoes).toEqual([0, 21]);
      await client.close();
    });
  });

  it('cuts one direction only', async () => {
    await withProxy(1, async (proxy, echo, port) => {
      const client = new FrameClient(port);
      proxy.cut('forward');
      client.send(range(0, 10));
      await sleep(100);
      expect(echo.received).toEqual([]);
      proxy.heal();
      proxy.cut('backward');
      client.send(range(10, 20));
      await waitFor('the target to receive', () => echo.received.length === 10);
      await sleep(50);
      expect(echo.received).toEqual(range(10, 20)); // forward flows…
      expect(client.echoes).toEqual([]); // …backward does not
      expect(proxy.stats().dropped).toEqual({ forward: 10, backward: 10 });
      proxy.heal();
      client.send([20]);
      await waitFor('an echo after healing', () => client.echoes.length === 1);
      expect(client.echoes).toEqual([20]);
      expect(client.isClosed).toBe(false);
      await client.close();
    });
  });

  it('delays frames by the given time, keeping their order', async () => {
    await withProxy(1, async (proxy, _echo, port) => {
      const client = new FrameClient(port);
      client.send([0]);
      await waitFor('a first echo', () => client.echoes.length === 1);
      proxy.delay(150);
      const sentAt = performance.now();
      client.send(range(1, 41));
      await waitFor('the delayed echoes', () => client.echoes.length === 41, 3000);
      expect(client.echoes).toEqual(range(0, 41));
      // Held 150 ms each way.
      expect((client.arrivals[1] ?? 0) - sentAt).toBeGreaterThanOrEqual(295);
      proxy.delay(0);
      const fastAt = performance.now();
      client.send([41]);
      await waitFor('an undelayed echo', () => client.echoes.length === 42);
      expect((client.arrivals[41] ?? Infinity) - fastAt).toBeLessThan(150);
      expect(() => proxy.delay(-1)).toThrow(RangeError);
      await client.close();
    });
  });

  it('drops a fraction of data frames, spares handshakes, and replays from its seed', async () => {
    const survivors = async (seed: number): Promise<number[]> => {
      let kept: number[] = [];
      await withProxy(seed, async (proxy, echo, port) => {
        const client = new FrameClient(port);
        proxy.dropFraction(1);
        client.send(range(0, 50), FrameKind.HANDSHAKE);
        await waitFor('every handshake frame', () => echo.received.length === 50);
        proxy.heal();
        proxy.cut('backward'); // keep the draws to the forward direction
        proxy.dropFraction(0.3);
        client.send(range(1000, 3000));
        await waitFor('the frames to be decided', () => proxy.stats().forwarded.forward + proxy.stats().dropped.forward === 2050, 5000);
        await waitFor('the kept frames to arrive', () => echo.received.length === proxy.stats().forwarded.forward);
        kept = echo.received.slice(50);
        await client.close();
      });
      return kept;
    };
    const first = await survivors(42);
    expect(first.length).toBeGreaterThan(2000 * 0.65);
    expect(first.length).toBeLessThan(2000 * 0.75);
    expect(first).toEqual([...first].sort((a, b) => a - b)); // what survives keeps its order
    expect(await survivors(42)).toEqual(first);
    expect(await survivors(43)).not.toEqual(first);
    expect(() => new FaultProxy({ target: { port: 1 }, seed: 1 }).dropFraction(1.5)).toThrow(/within \[0, 1\]/);
  });

  it('in front of a PeerTransport: a partition stops the messages, healing brings the link back', async () => {
    const proxies: FaultProxy[] = [];
    const cluster = await TransportCluster.create(['n1', 'n2'], (id) => (id === 'n1' ? { handshakeTimeoutMs: 300 } : {}));
    try {
      // n1 reaches n2 through a proxy: restart n1 with n2's address replaced by the proxy's.
      const proxy = new FaultProxy({ target: { port: cluster.port('n2') }, seed: 7 });
      proxies.push(proxy);
      await proxy.start();
      await cluster.node('n1').stop();
      const n1 = await cluster.startNode('n1', { handshakeTimeoutMs: 300 }, { n2: { port: proxy.address().port } });
      n1.send(numbered('n1', 'n2', 1));
      await waitFor('a message through the proxy', () => cluster.terms('n2', 'n1').length === 1);
      proxy.partition();
      await waitFor('n1 to lose the link', () => n1.stats().peers['n2']?.state !== 'open');
      for (let seq = 2; seq <= 10; seq++) n1.send(numbered('n1', 'n2', seq));
      await sleep(100);
      expect(cluster.terms('n2', 'n1')).toEqual([1]);
      proxy.heal();
      await waitFor('the link to come back', () => n1.stats().peers['n2']?.state === 'open', 5000);
      await waitFor('the queued messages', () => cluster.terms('n2', 'n1').length === 10, 3000);
      expect(cluster.terms('n2', 'n1')).toEqual(range(1, 11));
      expect(n1.stats().reconnects).toBeGreaterThanOrEqual(1);
    } finally {
      await cluster.stopAll();
      await Promise.all(proxies.map((p) => p.stop()));
    }
  });
});
