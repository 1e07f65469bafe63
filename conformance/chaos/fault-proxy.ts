/**
 * A fault-injecting TCP proxy for the chaos test: put it in front of a peer's port (peers dial
 * the proxy, the proxy dials the peer) and break the link at runtime — a partition, a one-way cut,
 * delay, loss — then heal it.
 *
 * The proxy speaks the peer protocol's framing (impl/transport/frame.ts): it reassembles frames in
 * each direction and decides per frame. Handshakes are frames too, told apart by their kind byte
 * (impl/transport/wire.ts), so the faults can choose what they spare:
 *   - partition ('reset') closes every connection and every new one at once: peers see a refused
 *     link and back off; ('blackhole') keeps connections open and silently drops every frame,
 *     handshakes included — a network that eats packets, noticed only through timeouts;
 *   - cut(direction) drops every frame one way (handshakes included: a real one-way cut does not
 *     spare them), while the other way flows;
 *   - dropFraction(p) drops each data frame with probability p — handshakes pass, so links come
 *     up and the loss falls on Raft messages; a frame is a batch, so a whole batch goes at once;
 *   - delay(ms) holds every frame for ms before forwarding, keeping the order of each direction.
 *
 * Loss is drawn from a seeded PRNG: the sequence of keep/drop decisions replays from the seed
 * (which frame meets which decision depends on arrival order, as on any real network).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createPrng, type Prng } from '../prng.ts';
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, FrameDecoder } from '../../impl/transport/frame.ts';
import { errorMessage, noopLogger, type Logger } from '../../impl/transport/logger.ts';
import { FrameKind, payloadKind } from '../../impl/transport/wire.ts';

/** `forward`: from the dialer to the target (the messages); `backward`: from the target to the dialer. */
export type Direction = 'forward' | 'backward';
export const DIRECTIONS: readonly Direction[] = ['forward', 'backward'];

export type PartitionMode = 'reset' | 'blackhole';

export interface FaultProxyEndpoint {
  /** Defaults to 127.0.0.1. */
  readonly host?: string | undefined;
  readonly port: number;
}

export interface FaultProxyOptions {
  /** The real peer port. */
  readonly target: FaultProxyEndpoint;
  /** Where the proxy listens (default 127.0.0.1, port 0: read it back with `address()`). */
  readonly listen?: FaultProxyEndpoint | undefined;
  /** Seeds the loss decisions. */
  readonly seed: number;
  /** Frames above this are refused and the connection closed (default 16 MiB, like the transport). */
  readonly maxFrameBytes?: number | undefined;
  readonly logger?: Logger | undefined;
}

export interface FaultProxyStats {
  /** Connections accepted (including those refused by a 'reset' partition). */
  readonly connections: number;
  /** Connections closed because of a 'reset' partition. */
  readonly resets: number;
  readonly forwarded: Readonly<Record<Direction, number>>;
  readonly dropped: Readonly<Record<Direction, number>>;
}

/** The faults in force; `heal()` clears them all. */
interface Faults {
  partition: PartitionMode | null;
  readonly cut: Set<Direction>;
  delayMs: number;
  dropFraction: number;
}

const HOST = '127.0.0.1';

export class FaultProxy {
  private readonly prng: Prng;
  private readonly logger: Logger;
  private readonly maxFrameBytes: number;
  private readonly faults: Faults = { partition: null, cut: new Set(), delayMs: 0, dropFraction: 0 };
  private readonly pairs = new Set<ProxiedPair>();
  private server: Server | null = null;
  private port: number | null = null;
  private readonly counts = { connections: 0, resets: 0, forwarded: { forward: 0, backward: 0 }, dropped: { forward: 0, backward: 0 } };

  constructor(private readonly options: FaultProxyOptions) {
    this.prng = createPrng(options.seed);
    this.logger = options.logger ?? noopLogger;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  async start(): Promise<void> {
    if (this.server !== null) throw new Error('FaultProxy.start: already started');
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.listen?.port ?? 0, this.options.listen?.host ?? HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    this.port = typeof address === 'object' && address !== null ? address.port : null;
  }

  /** The proxy's own address: give this to the peers in place of the target's. */
  address(): { readonly host: string; readonly port: number } {
    if (this.port === null) throw new Error('FaultProxy.address: not started');
    return { host: this.options.listen?.host ?? HOST, port: this.port };
  }

  /** Partitions the link. 'reset' (default) closes connections now and refuses new ones. */
  partition(mode: PartitionMode = 'reset'): void {
    this.faults.partition = mode;
    if (mode === 'reset') this.resetAll();
  }

  /** Drops every frame travelling in `direction`. */
  cut(direction: Direction): void {
    this.faults.cut.add(direction);
  }

  /** Holds every frame `ms` before forwarding it (0 ends the delay for frames arriving from now on). */
  delay(ms: number): void {
    if (!(Number.isFinite(ms) && ms >= 0)) throw new RangeError(`delay must be a non-negative number of ms, got ${ms}`);
    this.faults.delayMs = ms;
  }

  /** Drops each data frame with probability `p` (handshake frames pass). */
  dropFraction(p: number): void {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`the drop fraction must be within [0, 1], got ${p}`);
    this.faults.dropFraction = p;
  }

  /** Ends every fault. Frames already dropped stay lost; frames being delayed still arrive. */
  heal(): void {
    this.faults.partition = null;
    this.faults.cut.clear();
    this.faults.delayMs = 0;
    this.faults.dropFraction = 0;
  }

  stats(): FaultProxyStats {
    const { connections, resets, forwarded, dropped } = this.counts;
    return { connections, resets, forwarded: { ...forwarded }, dropped: { ...dropped } };
  }

  /** Closes the listener and every proxied connection. */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === null) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all([...this.pairs].map((pair) => pair.close()));
    await closed;
  }

  private accept(client: Socket): void {
    this.counts.connections++;
    if (this.faults.partition === 'reset' || this.server === null) {
      this.counts.resets++;
      client.destroy();
      return;
    }
    const { host = HOST, port } = this.options.target;
    const upstream = connect({ host, port });
    const pair = new ProxiedPair(client, upstream, {
      maxFrameBytes: this.maxFrameBytes,
      decide: (direction, payload) => this.decide(direction, payload),
      delayMs: () => this.faults.delayMs,
      onForward: (direction) => this.counts.forwarded[direction]++,
      onError: (error) => this.logger.warn({ err: errorMessage(error) }, `fault proxy closed a connection: ${errorMessage(error)}`),
    });
    this.pairs.add(pair);
    void pair.closed.then(() => this.pairs.delete(pair));
  }

  /** Whether a frame survives the faults in force; counts the drops. */
  private decide(direction: Direction, payload: Buffer): boolean {
    const { partition, cut, dropFraction } = this.faults;
    // A draw is made for every data frame, whatever else applies, so decisions stay aligned with the seed.
    const lossy = payloadKind(payload) !== FrameKind.HANDSHAKE && dropFraction > 0 && this.prng.chance(dropFraction);
    const keep = partition === null && !cut.has(direction) && !lossy;
    if (!keep) this.counts.dropped[direction]++;
    return keep;
  }

  private resetAll(): void {
    for (const pair of this.pairs) {
      this.counts.resets++;
      void pair.close();
    }
  }
}

interface PairOptions {
  readonly maxFrameBytes: number;
  readonly decide: (direction: Direction, payload: Buffer) => boolean;
  readonly delayMs: () => number;
  readonly onForward: (direction: Direction) => void;
  readonly onError: (error: Error) => void;
}

/** One proxied connection: the dialer's socket, the one to the target, a lane each way. */
class ProxiedPair {
  readonly closed: Promise<void>;
  private readonly lanes: Lane[];

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    options: PairOptions,
  ) {
    this.lanes = [new Lane('forward', client, upstream, options, () => this.destroy()), new Lane('backward', upstream, client, options, () => this.destroy())];
    const closes = [client, upstream].map((socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())));
    for (const socket of [client, upstream]) {
      socket.on('error', () => {}); // 'close' follows; a peer going away is not the proxy's error
      socket.once('close', () => this.destroy());
    }
    this.closed = Promise.all(closes).then(() => undefined);
  }

  close(): Promise<void> {
    this.destroy();
    return this.closed;
  }

  private destroy(): void {
    for (const lane of this.lanes) lane.stop();
    this.client.destroy();
    this.upstream.destroy();
  }
}

/** One direction of a pair: reassemble frames, decide, hold them for the delay, forward in order. */
class Lane {
  private readonly decoder: FrameDecoder;
  private readonly held: { readonly frame: Buffer; readonly dueAt: number }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private lastDueAt = 0;

  constructor(
    private readonly direction: Direction,
    from: Socket,
    private readonly to: Socket,
    private readonly options: PairOptions,
    private readonly fail: () => void,
  ) {
    this.decoder = new FrameDecoder({ maxFrameBytes: options.maxFrameBytes });
    from.on('data', (chunk: Buffer) => this.receive(chunk));
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.held.length = 0;
  }

  private receive(chunk: Buffer): void {
    let payloads: Buffer[];
    try {
      payloads = this.decoder.push(chunk);
    } catch (error) {
      this.options.onError(error instanceof Error ? error : new Error(String(error)));
      this.fail();
      return;
    }
    for (const payload of payloads) {
      if (this.options.decide(this.direction, payload)) this.hold(encodeFrame(payload));
    }
  }

  /** Forwards now, or at now + delay but never before the frame ahead of it (order per direction). */
  private hold(frame: Buffer): void {
    const delayMs = this.options.delayMs();
    if (delayMs === 0 && this.held.length === 0) {
      this.forward(frame);
      return;
    }
    const dueAt = Math.max(performance.now() + delayMs, this.lastDueAt);
    this.lastDueAt = dueAt;
    this.held.push({ frame, dueAt });
    this.arm();
  }

  private arm(): void {
    const next = this.held[0];
    if (this.timer !== null || next === undefined) return;
    this.timer = setTimeout(() => this.release(), Math.max(0, next.dueAt - performance.now()));
  }

  private release(): void {
    this.timer = null;
    const now = performance.now();
    while (this.held.length > 0 && (this.held[0]?.dueAt ?? Infinity) <= now + 1) {
      const item = this.held.shift();
      if (item !== undefined) this.forward(item.frame);
    }
    this.arm();
  }

  private forward(frame: Buffer): void {
    if (this.to.destroyed) return;
    this.to.write(frame);
    this.options.onForward(this.direction);
  }
}
