/**
 * A TCP socket seen as a sequence of frames. The handshake pulls frames one at a time (`next`);
 * once the link is authenticated, the transport takes the rest as they come (`onFrames`). Any
 * refused frame — oversized, or thrown out by a handler — closes the connection: after a bad
 * frame nothing on the stream can be trusted, while the process itself keeps serving.
 */
import type { Socket } from 'node:net';
import { FrameDecoder, FrameError } from './frame.ts';
import { WireError } from './wire.ts';

/** Frames accepted before anyone reads them (the handshake reads one at a time): a bound, not a buffer. */
const MAX_BACKLOG_FRAMES = 64;

/** The connection closed before the frame that was awaited arrived. */
export class ConnectionClosedError extends Error {
  override readonly name = 'ConnectionClosedError';
}

export interface FramedConnectionOptions {
  readonly maxFrameBytes: number;
  /** Every received chunk's size, for byte counters. */
  readonly onBytes?: ((bytes: number) => void) | undefined;
  /** A refused frame (FrameError, WireError, or what a frame handler threw); the connection then closes. */
  readonly onError?: ((error: Error) => void) | undefined;
}

type Waiter = { readonly resolve: (payload: Buffer) => void; readonly reject: (error: Error) => void };

export class FramedConnection {
  private readonly decoder: FrameDecoder;
  private readonly backlog: Buffer[] = [];
  private handler: ((payload: Buffer) => void) | null = null;
  private waiter: Waiter | null = null;
  private closedFlag = false;
  /** Why the connection closed, when it was not a plain end of stream. */
  private failure: Error | null = null;
  /** Resolves once the socket is fully closed. */
  readonly closed: Promise<void>;

  constructor(
    readonly socket: Socket,
    private readonly options: FramedConnectionOptions,
  ) {
    this.decoder = new FrameDecoder({ maxFrameBytes: options.maxFrameBytes });
    let markClosed: () => void = () => {};
    this.closed = new Promise((resolve) => (markClosed = resolve));
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('end', () => this.checkEnd());
    // 'error' is always followed by 'close'; listening keeps it from crashing the process.
    socket.on('error', (error) => (this.failure ??= error));
    socket.on('close', () => {
      this.closedFlag = true;
      this.waiter?.reject(this.failure ?? new ConnectionClosedError('the connection closed'));
      this.waiter = null;
      markClosed();
    });
  }

  get isClosed(): boolean {
    return this.closedFlag || this.socket.destroyed;
  }

  /** The error that closed the connection, if one did. */
  get error(): Error | null {
    return this.failure;
  }

  /** The peer's `host:port`, for log lines. */
  get remote(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  /** Raises (or lowers) the frame size limit, e.g. once the peer is authenticated. */
  setMaxFrameBytes(maxFrameBytes: number): void {
    this.decoder.setMaxFrameBytes(maxFrameBytes);
  }

  /** The next frame's payload. Rejects if the connection closes first. One reader at a time. */
  next(): Promise<Buffer> {
    if (this.waiter !== null || this.handler !== null) return Promise.reject(new Error('FramedConnection.next: a reader is already waiting'));
    const queued = this.backlog.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.isClosed) return Promise.reject(this.failure ?? new ConnectionClosedError('the connection closed'));
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** Every frame from now on (the backlog first) goes to `handler`; a throw closes the connection. */
  onFrames(handler: (payload: Buffer) => void): void {
    this.handler = handler;
    while (this.backlog.length > 0 && !this.isClosed) this.deliver(this.backlog.shift() as Buffer);
  }

  write(frame: Buffer, callback?: (error?: Error | null) => void): boolean {
    return this.socket.write(frame, callback);
  }

  /** Closes at once, recording why (the waiter, if any, sees the reason). */
  destroy(reason?: Error): void {
    if (reason !== undefined) this.failure ??= reason;
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.options.onBytes?.(chunk.length);
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      this.refuse(error);
      return;
    }
    for (const frame of frames) {
      if (this.isClosed) return;
      this.deliver(frame);
    }
  }

  private deliver(frame: Buffer): void {
    try {
      if (this.handler !== null) {
        this.handler(frame);
      } else if (this.waiter !== null) {
        const waiter = this.waiter;
        this.waiter = null;
        waiter.resolve(frame);
      } else if (this.backlog.length < MAX_BACKLOG_FRAMES) {
        this.backlog.push(frame);
      } else {
        throw new WireError('malformed', `more than ${MAX_BACKLOG_FRAMES} frames sent before the handshake finished`);
      }
    } catch (error) {
      this.refuse(error);
    }
  }

  /** A stream that ends inside a frame is reported like any other bad frame. */
  private checkEnd(): void {
    try {
      this.decoder.finish();
    } catch (error) {
      this.refuse(error);
    }
  }

  private refuse(error: unknown): void {
    const refusal = error instanceof Error ? error : new Error(String(error));
    if (this.failure === null && !this.isClosed) {
      this.failure = refusal;
      this.options.onError?.(refusal);
    }
    this.socket.destroy();
  }
}

/** True for the errors that mean "the peer sent bytes we refuse", as opposed to I/O failures. */
export function isProtocolError(error: unknown): error is FrameError | WireError {
  return error instanceof FrameError || error instanceof WireError;
}
