/**
 * The outbound half of a peer link: one TCP connection to one peer, used only for sending this
 * node's messages to it (the peer's messages to us arrive on the connection it dials).
 *
 * Raft tolerates loss, so a link never blocks or fails its caller: while the peer is unreachable
 * messages wait in a bounded queue that drops its oldest (a fresh heartbeat is worth more than a
 * stale one), and the link reconnects with exponential backoff and jitter. While one write is in
 * flight, everything queued behind it leaves together in the next frame (batching), and frames
 * follow each other without waiting for replies (pipelining).
 */
import { connect } from 'node:net';
import type { NodeId } from '../../spec/schemas/primitives.ts';
import { FramedConnection } from './connection.ts';
import { dialHandshake, HandshakeError, HANDSHAKE_MAX_FRAME_BYTES } from './handshake.ts';
import { errorMessage, type Logger } from './logger.ts';
import { encodeEnvelopeFrame, ENVELOPE_PAYLOAD_OVERHEAD_BYTES, envelopeWireBytes, WireError } from './wire.ts';

/** Where everything listens and dials unless told otherwise: loopback, never an open interface by accident. */
export const DEFAULT_HOST = '127.0.0.1';

export interface PeerAddress {
  /** Defaults to 127.0.0.1. */
  readonly host?: string | undefined;
  readonly port: number;
}

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ initialMs: 50, maxMs: 2000 });

/** TCP keepalive: a peer that vanished without a FIN is noticed by the kernel. */
export const KEEPALIVE_INITIAL_DELAY_MS = 5000;

/**
 * The wait before reconnect attempt `attempt` (0 = the first retry): a ceiling doubling from
 * `initialMs` up to `maxMs`, and a uniform draw in its upper half — a floor keeps retries from
 * hammering, the jitter keeps a restarted cluster's nodes from reconnecting in lockstep.
 */
export function backoffDelayMs(attempt: number, backoff: BackoffOptions, random: () => number): number {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + (random() * ceiling) / 2;
}

/** Counters shared by a transport's links (see PeerTransport.stats). */
export interface Counters {
  framesSent: number;
  framesReceived: number;
  messagesSent: number;
  messagesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  connects: number;
  reconnects: number;
  authFailures: number;
  dropped: number;
  rejected: number;
  protocolErrors: number;
}

export function zeroCounters(): Counters {
  return {
    framesSent: 0,
    framesReceived: 0,
    messagesSent: 0,
    messagesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    connects: 0,
    reconnects: 0,
    authFailures: 0,
    dropped: 0,
    rejected: 0,
    protocolErrors: 0,
  };
}

interface Queued {
  readonly json: string;
  /** Its share of a frame: UTF-8 bytes and a separator. */
  readonly bytes: number;
}

/** A FIFO bounded in count and bytes that drops its oldest items to make room. */
export class BoundedQueue {
  private items: Queued[] = [];
  private head = 0;
  private totalBytes = 0;

  constructor(
    private readonly maxItems: number,
    private readonly maxBytes: number,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Appends, then drops from the front until within bounds; returns how many were dropped. */
  push(item: Queued): number {
    this.items.push(item);
    this.totalBytes += item.bytes;
    let dropped = 0;
    while (this.length > 1 && (this.length > this.maxItems || this.totalBytes > this.maxBytes)) {
      this.shift();
      dropped++;
    }
    return dropped;
  }

  /** The longest prefix whose bytes fit `budget` (at least one item when not empty). */
  takeBatch(budget: number): Queued[] {
    const batch: Queued[] = [];
    let used = 0;
    for (let next = this.items[this.head]; next !== undefined; next = this.items[this.head]) {
      if (batch.length > 0 && used + next.bytes > budget) break;
      batch.push(this.shift());
      used += next.bytes;
    }
    return batch;
  }

  /** Empties the queue; returns how many items were in it. */
  clear(): number {
    const n = this.length;
    this.items = [];
    this.head = 0;
    this.totalBytes = 0;
    return n;
  }

  private shift(): Queued {
    const item = this.items[this.head];
    if (item === undefined) throw new Error('BoundedQueue.shift on an empty queue');
    this.head++;
    this.totalBytes -= item.bytes;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

export type LinkState = 'idle' | 'connecting' | 'open' | 'backoff' | 'stopped';

export interface PeerLinkOptions {
  readonly self: NodeId;
  readonly peer: NodeId;
  readonly address: PeerAddress;
  readonly secret: Buffer;
  readonly maxFrameBytes: number;
  readonly maxQueuedMessages: number;
  readonly maxQueuedBytes: number;
  readonly backoff: BackoffOptions;
  readonly handshakeTimeoutMs: number;
  /** A write that makes no progress for this long means a dead path: reconnect. */
  readonly writeStallTimeoutMs: number;
  readonly logger: Logger;
  readonly counters: Counters;
  /** Jitter: uniform in [0, 1). */
  readonly random: () => number;
}

export class PeerLink {
  private state: LinkState = 'idle';
  private stopping = false;
  private readonly queue: BoundedQueue;
  private conn: FramedConnection | null = null;
  private writing = false;
  private flushScheduled = false;
  /** Connection attempts since the link was last open: drives the backoff. */
  private attempts = 0;
  /**
   * What this outage's last logged failure was: the first failure of a kind is worth a line, the
   * retries that fail the same way are not (a wrong secret retried every 2 s would flood the log).
   */
  private loggedFailure: 'auth' | 'unreachable' | null = null;
  private everOpened = false;
  private timer: NodeJS.Timeout | null = null;
  private stallTimer: NodeJS.Timeout | null = null;
  /** Waiting in stop() for the queue to drain. */
  private drainWaiter: (() => void) | null = null;
  private droppedHere = 0;

  constructor(private readonly options: PeerLinkOptions) {
    this.queue = new BoundedQueue(options.maxQueuedMessages, options.maxQueuedBytes);
  }

  get status(): { readonly state: LinkState; readonly queued: number; readonly dropped: number } {
    return { state: this.state, queued: this.queue.length, dropped: this.droppedHere };
  }

  /** Starts connecting (once). */
  start(): void {
    if (this.state === 'idle' && !this.stopping) this.connect();
  }

  /** Queues one serialized envelope; never throws. */
  enqueue(json: string): void {
    const bytes = envelopeWireBytes(json);
    if (bytes + ENVELOPE_PAYLOAD_OVERHEAD_BYTES > this.options.maxFrameBytes) {
      this.drop(1);
      this.options.logger.error(
        { peer: this.options.peer, bytes, maxFrameBytes: this.options.maxFrameBytes },
        `dropped a message to ${this.options.peer}: ${bytes} bytes do not fit a frame (maxFrameBytes ${this.options.maxFrameBytes}); lower the core's maxBytesPerMessage or snapshotChunkBytes`,
      );
      return;
    }
    const dropped = this.queue.push({ json, bytes });
    if (dropped > 0) this.drop(dropped);
    this.scheduleFlush();
  }

  /**
   * Stops reconnecting, sends what is queued if the link is open (within `graceMs`), then closes.
   * Whatever could not be sent is counted as dropped.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const conn = this.conn;
    const deadline = Date.now() + graceMs;
    if (conn !== null && this.state === 'open') await this.drained(graceMs);
    this.drop(this.queue.clear());
    this.state = 'stopped';
    if (conn === null) return;
    conn.socket.end();
    await withTimeout(conn.closed, Math.max(0, deadline - Date.now()));
    conn.destroy();
    await conn.closed;
  }

  // -------------------------------------------------------------------------------------------
  // Connection lifecycle.

  private connect(): void {
    const { host = DEFAULT_HOST, port } = this.options.address;
    this.state = 'connecting';
    this.attempts++;
    const socket = connect({ host, port });
    socket.setNoDelay(true); // we batch ourselves; Nagle would only add latency to heartbeats
    socket.setKeepAlive(true, KEEPALIVE_INITIAL_DELAY_MS);
    const conn = new FramedConnection(socket, {
      maxFrameBytes: HANDSHAKE_MAX_FRAME_BYTES,
      onBytes: (n) => (this.options.counters.bytesReceived += n),
      onError: (error) => this.refusedFrame(error),
    });
    this.conn = conn;
    void conn.closed.then(() => this.lost(conn));
    const { self, peer, secret, handshakeTimeoutMs } = this.options;
    dialHandshake(conn, { self, peer, secret, timeoutMs: handshakeTimeoutMs }).then(
      () => this.opened(conn),
      (error: unknown) => this.handshakeFailed(conn, error),
    );
  }

  private opened(conn: FramedConnection): void {
    if (conn !== this.conn || conn.isClosed) return;
    const { counters, logger, peer } = this.options;
    this.state = 'open';
    counters.connects++;
    if (this.everOpened) counters.reconnects++;
    logger.info({ peer, remote: conn.remote, attempts: this.attempts }, `connected to ${peer}`);
    this.everOpened = true;
    this.attempts = 0;
    this.loggedFailure = null;
    // Send-only: the peer's messages come on the connection it dials. Anything else is a bug there.
    conn.onFrames(() => {
      throw new WireError('malformed', `${peer} sent a frame on a send-only link`);
    });
    this.flush();
  }

  /** Logs a failed attempt. The connection may already be closed and replaced by `lost` (no matter). */
  private handshakeFailed(conn: FramedConnection, error: unknown): void {
    if (this.stopping) return;
    const { counters, logger, peer } = this.options;
    const { host = DEFAULT_HOST, port } = this.options.address;
    const context = { peer, address: `${host}:${port}`, attempt: this.attempts };
    const failure = error instanceof HandshakeError && error.isAuthFailure ? 'auth' : 'unreachable';
    // A refused or unroutable connect says it best by its errno code (ECONNREFUSED, EHOSTUNREACH).
    const code = (conn.error as NodeJS.ErrnoException | null)?.code;
    const reason = error instanceof HandshakeError && error.kind === 'closed' && code !== undefined ? code : errorMessage(error);
    if (failure === 'auth') counters.authFailures++;
    if (failure === this.loggedFailure) {
      logger.debug(context, `still cannot connect to ${peer} at ${host}:${port}: ${reason}`);
    } else if (failure === 'auth') {
      logger.error(context, `could not authenticate with ${peer}: ${reason} (retrying with backoff)`);
    } else {
      logger.warn(context, `cannot reach ${peer} at ${host}:${port} (${reason}); retrying with backoff`);
    }
    this.loggedFailure = failure;
  }

  private refusedFrame(error: Error): void {
    this.options.counters.protocolErrors++;
    this.options.logger.error({ peer: this.options.peer, err: error.message }, `closed the link to ${this.options.peer}: ${error.message}`);
  }

  private lost(conn: FramedConnection): void {
    if (conn !== this.conn) return;
    this.conn = null;
    this.writing = false;
    this.clearStallTimer();
    const wasOpen = this.state === 'open';
    if (this.stopping) {
      this.state = 'stopped';
      this.notifyDrained();
      return;
    }
    if (wasOpen) this.options.logger.warn({ peer: this.options.peer, queued: this.queue.length }, `lost the connection to ${this.options.peer}; reconnecting`);
    this.state = 'backoff';
    // After an open link, retry soon (attempts is 0); each failed attempt since doubles the wait.
    const delay = backoffDelayMs(Math.max(0, this.attempts - 1), this.options.backoff, this.options.random);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopping) this.connect();
    }, delay);
  }

  // -------------------------------------------------------------------------------------------
  // Sending.

  /** Sends in a microtask: everything a caller sends in one synchronous burst (a Ready) shares a frame. */
  private scheduleFlush(): void {
    if (this.flushScheduled || this.state !== 'open' || this.writing) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const conn = this.conn;
    if (this.state !== 'open' || conn === null || this.writing || this.queue.length === 0) {
      this.notifyDrained();
      return;
    }
    const batch = this.queue.takeBatch(this.options.maxFrameBytes - ENVELOPE_PAYLOAD_OVERHEAD_BYTES);
    const frame = encodeEnvelopeFrame(batch.map((m) => m.json));
    this.writing = true;
    this.watchForStall(conn, frame.length);
    conn.write(frame, (error) => {
      if (conn === this.conn) this.clearStallTimer();
      if (error !== null && error !== undefined) {
        this.drop(batch.length); // the connection is going down; 'close' reconnects
        return;
      }
      const { counters } = this.options;
      counters.framesSent++;
      counters.messagesSent += batch.length;
      counters.bytesSent += frame.length;
      if (conn !== this.conn) return; // a stale callback from a connection already replaced
      this.writing = false;
      this.flush();
    });
  }

  /**
   * A peer that vanished mid-partition leaves the kernel retransmitting for many minutes, and after
   * the partition heals a stalled connection can take minutes more to resume. A write that makes no
   * progress for writeStallTimeoutMs closes the connection instead; a fresh one is up in seconds.
   */
  private watchForStall(conn: FramedConnection, bytes: number): void {
    this.clearStallTimer();
    const { writeStallTimeoutMs, peer, logger } = this.options;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = null;
      if (conn !== this.conn || !this.writing) return;
      logger.warn({ peer, bytes, writeStallTimeoutMs }, `a write to ${peer} made no progress for ${writeStallTimeoutMs} ms; reconnecting`);
      conn.destroy();
    }, writeStallTimeoutMs);
  }

  private clearStallTimer(): void {
    if (this.stallTimer !== null) clearTimeout(this.stallTimer);
    this.stallTimer = null;
  }

  private notifyDrained(): void {
    if (this.writing || (this.queue.length > 0 && this.conn !== null)) return;
    const waiter = this.drainWaiter;
    this.drainWaiter = null;
    waiter?.();
  }

  /** Resolves when everything queued was written (or the link went down), or after `timeoutMs`. */
  private drained(timeoutMs: number): Promise<void> {
    const done = new Promise<void>((resolve) => (this.drainWaiter = resolve));
    this.scheduleFlush();
    this.notifyDrained();
    return withTimeout(done, timeoutMs);
  }

  private drop(n: number): void {
    this.options.counters.dropped += n;
    this.droppedHere += n;
  }
}

/** Waits for `promise`, at most `ms`; never rejects. */
function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}
