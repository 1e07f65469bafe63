/**
 * Raft messages between the nodes of a cluster, over TCP (issue 7).
 *
 * Each node listens for its peers and dials each of them once: the connection a node dials
 * carries its messages to that peer (peer-link.ts), the connections it accepts carry the peers'
 * messages to it. Every connection starts with the mutual HMAC handshake (handshake.ts); every
 * received frame goes through the Zod gateway (wire.ts) before `onEnvelope` sees it. A peer that
 * sends what we refuse loses its connection, never the process: the transport keeps serving.
 *
 * `send` is fire-and-forget and never throws — Raft is built for a network that loses messages,
 * so a down peer, a full queue or a stopped transport cost a counted drop, not an error.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Envelope } from '../core/types.ts';
import type { NodeId } from '../../spec/schemas/primitives.ts';
import { FramedConnection } from './connection.ts';
import { DEFAULT_MAX_FRAME_BYTES, validateMaxFrameBytes } from './frame.ts';
import { acceptHandshake, DEFAULT_HANDSHAKE_TIMEOUT_MS, HandshakeError, HANDSHAKE_MAX_FRAME_BYTES, MIN_SECRET_BYTES } from './handshake.ts';
import { errorMessage, noopLogger, type Logger } from './logger.ts';
import { DEFAULT_BACKOFF, DEFAULT_HOST, KEEPALIVE_INITIAL_DELAY_MS, PeerLink, zeroCounters, type BackoffOptions, type Counters, type LinkState, type PeerAddress } from './peer-link.ts';
import { decodePayload, FrameKind, parseEnvelopeBatch, WireError } from './wire.ts';

export type { PeerAddress, BackoffOptions, LinkState } from './peer-link.ts';
export { DEFAULT_HOST } from './peer-link.ts';

export const DEFAULT_MAX_QUEUED_MESSAGES = 10_000;
export const DEFAULT_STOP_GRACE_MS = 500;
/** Long enough for a 16 MiB frame on a slow link, short next to TCP's own retransmission give-up (~15 min). */
export const DEFAULT_WRITE_STALL_TIMEOUT_MS = 15_000;

export interface PeerTransportOptions {
  /** This node. */
  readonly id: NodeId;
  /** Every other node and where it listens; an entry for `id` itself is allowed and ignored. */
  readonly peers: Readonly<Record<NodeId, PeerAddress>>;
  /** Where to listen; port 0 picks a free port (read it back with `address()`). */
  readonly listen: PeerAddress;
  /** The cluster secret (loadSecret), the same on every node; at least MIN_SECRET_BYTES. */
  readonly secret: Buffer;
  /** The largest frame payload accepted, and sent (default 16 MiB). */
  readonly maxFrameBytes?: number | undefined;
  /** Messages queued per peer while it is unreachable; the oldest go beyond this (default 10,000). */
  readonly maxQueuedMessages?: number | undefined;
  /** Bytes queued per peer (default 4 × maxFrameBytes). */
  readonly maxQueuedBytes?: number | undefined;
  /** Reconnect backoff (default 50 ms doubling to 2 s, with jitter). */
  readonly backoff?: BackoffOptions | undefined;
  readonly handshakeTimeoutMs?: number | undefined;
  /** A write to a peer that makes no progress this long closes the connection, to reconnect (default 15 s). */
  readonly writeStallTimeoutMs?: number | undefined;
  /** How long stop() may spend sending what is queued (default 500 ms). */
  readonly stopGraceMs?: number | undefined;
  /** pino-compatible; silent by default. */
  readonly logger?: Logger | undefined;
  /** Backoff jitter, uniform in [0, 1) (default Math.random; the transport is not replayed). */
  readonly random?: (() => number) | undefined;
  /** Every envelope that passed the gateway, in order per peer. Exceptions are logged, not rethrown. */
  readonly onEnvelope: (envelope: Envelope) => void;
}

/** Counters since start, for /metrics. */
export interface TransportStats extends Readonly<Counters> {
  /** Messages waiting in the peers' queues now. */
  readonly queued: number;
  readonly peers: Readonly<Record<NodeId, { readonly state: LinkState; readonly queued: number; readonly dropped: number }>>;
}

export type TransportErrorKind = 'config' | 'listen' | 'state';

/** A transport that cannot be built or started; `message` says what to fix. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly kind: TransportErrorKind,
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}

export class PeerTransport {
  private readonly id: NodeId;
  private readonly logger: Logger;
  private readonly maxFrameBytes: number;
  private readonly counters: Counters = zeroCounters();
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly peerIds: ReadonlySet<NodeId>;
  /** Accepted connections, authenticated or not, so that stop() closes them all. */
  private readonly inbound = new Set<FramedConnection>();
  private server: Server | null = null;
  private bound: { host: string; port: number } | null = null;
  private stopping = false;
  private stopped: Promise<void> | null = null;

  constructor(private readonly options: PeerTransportOptions) {
    validateOptions(options);
    this.id = options.id;
    this.logger = options.logger ?? noopLogger;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.peerIds = new Set(Object.keys(options.peers).filter((peer) => peer !== options.id));
    for (const peer of this.peerIds) this.links.set(peer, this.createLink(peer));
  }

  /** Binds the listening socket and starts dialing the peers. Throws TransportError('listen'). */
  async start(): Promise<void> {
    if (this.server !== null || this.stopping) throw new TransportError('state', 'PeerTransport.start: already started (or stopped); create a new transport');
    const host = this.options.listen.host ?? DEFAULT_HOST;
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await listen(server, host, this.options.listen.port);
    server.on('error', (error) => this.logger.error({ err: error.message }, `peer listener error: ${error.message}`));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : this.options.listen.port;
    this.bound = { host, port };
    this.logger.info({ node: this.id, host, port, peers: [...this.peerIds] }, `listening for peers on ${host}:${port}`);
    for (const link of this.links.values()) link.start();
  }

  /** Where the transport listens (the real port when `listen.port` was 0). */
  address(): { readonly host: string; readonly port: number } {
    if (this.bound === null) throw new TransportError('state', 'PeerTransport.address: not started');
    return this.bound;
  }

  /** Queues `envelope` for its peer. Never throws: what cannot be sent is logged and counted as dropped. */
  send(envelope: Envelope): void {
    try {
      if (this.stopping) {
        this.counters.dropped++;
        return;
      }
      const link = this.links.get(envelope.to);
      if (link === undefined || envelope.from !== this.id) {
        this.counters.dropped++;
        this.logger.error({ from: envelope.from, to: envelope.to, type: envelope.msg.type }, `dropped a message from ${envelope.from} to ${envelope.to}: this transport is ${this.id} and sends only to its peers`);
        return;
      }
      link.enqueue(JSON.stringify(envelope));
    } catch (error) {
      // JSON.stringify can throw (a BigInt, a cycle): a bug in the caller, reported, not propagated.
      this.counters.dropped++;
      this.logger.error({ to: envelope.to, err: errorMessage(error) }, `dropped a message that could not be serialized: ${errorMessage(error)}`);
    }
  }

  stats(): TransportStats {
    const peers: Record<NodeId, { state: LinkState; queued: number; dropped: number }> = {};
    let queued = 0;
    for (const [peer, link] of this.links) {
      const status = link.status;
      peers[peer] = { ...status };
      queued += status.queued;
    }
    return { ...this.counters, queued, peers };
  }

  /**
   * Stops accepting, sends what is queued within `stopGraceMs`, closes every connection. Resolves
   * once all sockets are closed; a second call returns the same promise.
   */
  stop(): Promise<void> {
    this.stopped ??= this.shutDown();
    return this.stopped;
  }

  private async shutDown(): Promise<void> {
    this.stopping = true;
    const server = this.server;
    const closed = server === null ? Promise.resolve() : new Promise<void>((resolve) => server.close(() => resolve()));
    // Inbound first: nothing received now would be delivered, and a handshake still in flight
    // must not complete and hand a peer a link that is about to vanish.
    for (const conn of this.inbound) conn.destroy();
    const grace = this.options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    await Promise.all([...this.links.values()].map((link) => link.stop(grace)));
    await Promise.all([...this.inbound].map((conn) => conn.closed));
    await closed;
    this.logger.info({ node: this.id, ...this.counters }, 'peer transport stopped');
  }

  // -------------------------------------------------------------------------------------------
  // Receiving.

  private accept(socket: Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    let peer: NodeId | null = null;
    const conn = new FramedConnection(socket, {
      maxFrameBytes: HANDSHAKE_MAX_FRAME_BYTES,
      onBytes: (n) => (this.counters.bytesReceived += n),
      // Before authentication the handshake reports the failure itself.
      onError: (error) => peer !== null && this.refusedFrame(peer, conn, error),
    });
    this.inbound.add(conn);
    void conn.closed.then(() => this.inbound.delete(conn));
    const handshake = { self: this.id, peers: this.peerIds, secret: this.options.secret, timeoutMs: this.options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS };
    acceptHandshake(conn, handshake).then(
      (id) => {
        peer = id;
        this.serve(conn, id);
      },
      (error: unknown) => this.handshakeRefused(conn, error),
    );
  }

  private serve(conn: FramedConnection, peer: NodeId): void {
    // A peer that restarts dials again; its old connection closed with its process (or, after a
    // crash without a FIN, is reaped by TCP keepalive), so several inbound connections of one
    // peer are harmless and none is closed in favour of another.
    if (this.stopping || conn.isClosed) return;
    socketKeepAlive(conn);
    conn.setMaxFrameBytes(this.maxFrameBytes);
    this.logger.info({ peer, remote: conn.remote }, `accepted ${peer}`);
    conn.onFrames((payload) => this.receive(peer, payload));
  }

  /** One frame from an authenticated peer. Throwing (WireError) closes that peer's connection. */
  private receive(peer: NodeId, payload: Buffer): void {
    if (this.stopping) return;
    this.counters.framesReceived++;
    const { kind, body } = decodePayload(payload);
    if (kind !== FrameKind.ENVELOPES) throw new WireError('malformed', 'a handshake frame after the handshake finished');
    const batch = parseEnvelopeBatch(body, { self: this.id, peer });
    if (batch.rejected.length > 0) {
      this.counters.rejected += batch.rejected.length;
      const first = batch.rejected[0];
      this.logger.error(
        { peer, rejected: batch.rejected.length, batch: Array.isArray(body) ? body.length : 0, position: first?.position, reason: first?.reason },
        `refused ${batch.rejected.length} invalid message(s) from ${peer}: ${first?.reason ?? ''}`,
      );
    }
    for (const envelope of batch.envelopes) this.deliver(envelope);
  }

  private deliver(envelope: Envelope): void {
    this.counters.messagesReceived++;
    try {
      this.options.onEnvelope(envelope);
    } catch (error) {
      this.logger.error({ from: envelope.from, type: envelope.msg.type, err: errorMessage(error) }, `onEnvelope threw: ${errorMessage(error)}`);
    }
  }

  private refusedFrame(peer: NodeId, conn: FramedConnection, error: Error): void {
    this.counters.protocolErrors++;
    if (error instanceof WireError && error.kind === 'spoofed') this.counters.authFailures++;
    this.logger.error({ peer, remote: conn.remote, err: error.message }, `closed the link from ${peer}: ${error.message}`);
  }

  private handshakeRefused(conn: FramedConnection, error: unknown): void {
    if (this.stopping) return;
    const context = { remote: conn.remote, err: errorMessage(error) };
    if (!(error instanceof HandshakeError)) {
      this.logger.error(context, `peer handshake failed: ${errorMessage(error)}`);
    } else if (error.isAuthFailure) {
      this.counters.authFailures++;
      this.logger.warn({ ...context, kind: error.kind }, `refused a peer connection: ${error.message}`);
    } else if (error.kind === 'closed') {
      // Port probes and health checks connect and leave: not worth more than a debug line.
      this.logger.debug({ ...context, kind: error.kind }, error.message);
    } else {
      this.counters.protocolErrors++;
      this.logger.warn({ ...context, kind: error.kind }, `refused a peer connection: ${error.message}`);
    }
  }

  private createLink(peer: NodeId): PeerLink {
    const address = this.options.peers[peer];
    if (address === undefined) throw new TransportError('config', `no address for peer ${peer}`);
    const maxQueuedBytes = this.options.maxQueuedBytes ?? 4 * this.maxFrameBytes;
    return new PeerLink({
      self: this.id,
      peer,
      address,
      secret: this.options.secret,
      maxFrameBytes: this.maxFrameBytes,
      maxQueuedMessages: this.options.maxQueuedMessages ?? DEFAULT_MAX_QUEUED_MESSAGES,
      maxQueuedBytes,
      backoff: this.options.backoff ?? DEFAULT_BACKOFF,
      handshakeTimeoutMs: this.options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      writeStallTimeoutMs: this.options.writeStallTimeoutMs ?? DEFAULT_WRITE_STALL_TIMEOUT_MS,
      logger: this.logger,
      counters: this.counters,
      random: this.options.random ?? Math.random,
    });
  }
}

/** A vanished peer (power loss, cable pulled) sends no FIN: keepalive lets the kernel notice. */
function socketKeepAlive(conn: FramedConnection): void {
  conn.socket.setKeepAlive(true, KEEPALIVE_INITIAL_DELAY_MS);
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException): void => {
      const hint = error.code === 'EADDRINUSE' ? ': the port is taken (another figure2 node on this machine?)' : error.code === 'EACCES' ? ': permission denied (ports below 1024 need privileges)' : '';
      reject(new TransportError('listen', `cannot listen for peers on ${host}:${port} (${error.code ?? error.message})${hint}`, { cause: error }));
    };
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      resolve();
    });
  });
}

/** Says exactly which option is wrong, before anything binds. */
function validateOptions(options: PeerTransportOptions): void {
  const fail = (message: string): never => {
    throw new TransportError('config', message);
  };
  if (options.id.length === 0) fail('id must be a non-empty node id');
  if (options.secret.length < MIN_SECRET_BYTES) fail(`the cluster secret must be at least ${MIN_SECRET_BYTES} bytes (got ${options.secret.length})`);
  checkPort(`listen.port`, options.listen.port, fail);
  for (const [peer, address] of Object.entries(options.peers)) {
    if (peer.length === 0) fail('peer ids must be non-empty');
    checkPort(`peers.${peer}.port`, address.port, fail);
  }
  if (options.maxFrameBytes !== undefined) {
    try {
      validateMaxFrameBytes(options.maxFrameBytes);
    } catch (error) {
      fail(errorMessage(error));
    }
  }
  for (const [name, value] of [
    ['maxQueuedMessages', options.maxQueuedMessages],
    ['maxQueuedBytes', options.maxQueuedBytes],
    ['handshakeTimeoutMs', options.handshakeTimeoutMs],
    ['writeStallTimeoutMs', options.writeStallTimeoutMs],
  ] as const) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) fail(`${name} must be a positive integer, got ${value}`);
  }
  const backoff = options.backoff;
  if (backoff !== undefined && !(backoff.initialMs > 0 && backoff.maxMs >= backoff.initialMs)) {
    fail(`backoff needs 0 < initialMs ≤ maxMs, got ${backoff.initialMs} and ${backoff.maxMs}`);
  }
}

function checkPort(name: string, port: number, fail: (message: string) => never): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`${name} must be a port number from 0 to 65535, got ${port}`);
}
