/**
 * Length-prefixed framing for peer links: every frame is a u32 big-endian payload length followed
 * by the payload. TCP delivers a byte stream in arbitrary pieces, so the decoder reassembles
 * frames across any chunk split, and it refuses a length above its limit before allocating
 * anything: a garbage or hostile stream (an HTTP request sent to the peer port reads as a
 * ~1 GiB length) costs nothing but the refusal.
 */

export const FRAME_HEADER_BYTES = 4;

/** The default limit on a frame's payload: well above a 16 KiB snapshot chunk batch, far below harm. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** The u32 length field cannot say more. */
export const FRAME_LENGTH_LIMIT = 0xffff_ffff;

export type FrameErrorKind =
  /** The length prefix announces more than the limit (or a stream that is not ours). */
  | 'oversized'
  /** The stream ended inside a frame. */
  | 'truncated';

/** A refused frame. The connection that carried it cannot be trusted to be in sync any more. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
  constructor(
    readonly kind: FrameErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** Checks a limit given by a caller: a positive integer the length field can express. */
export function validateMaxFrameBytes(maxFrameBytes: number): number {
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 1 || maxFrameBytes > FRAME_LENGTH_LIMIT) {
    throw new RangeError(`maxFrameBytes must be an integer from 1 to ${FRAME_LENGTH_LIMIT}, got ${maxFrameBytes}`);
  }
  return maxFrameBytes;
}

/** One frame: the length prefix and the payload, in one Buffer (one `write`). */
export function encodeFrame(payload: Uint8Array): Buffer {
  if (payload.length > FRAME_LENGTH_LIMIT) throw new RangeError(`a frame payload of ${payload.length} bytes does not fit a u32 length`);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

export interface FrameDecoderOptions {
  readonly maxFrameBytes?: number | undefined;
}

/**
 * A streaming decoder: `push` each chunk as it arrives and get the payloads it completes. After a
 * refusal the decoder stays failed (every later `push` throws the same error): the bytes that
 * follow an unparseable header have no frame boundaries we could trust.
 */
export class FrameDecoder {
  private maxFrameBytes: number;
  /** Received bytes not yet returned, oldest first; `head` skips the consumed chunks. */
  private chunks: Buffer[] = [];
  private head = 0;
  private buffered = 0;
  /** The payload length of the frame being assembled, once its header is read. */
  private expected: number | null = null;
  private failure: FrameError | null = null;

  constructor(options: FrameDecoderOptions = {}) {
    this.maxFrameBytes = validateMaxFrameBytes(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
  }

  /** Bytes received but not yet part of a returned frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  get limit(): number {
    return this.maxFrameBytes;
  }

  /**
   * Changes the limit for frames whose header is not read yet — a link starts with a small limit
   * while the peer is unauthenticated and raises it after the handshake.
   */
  setMaxFrameBytes(maxFrameBytes: number): void {
    this.maxFrameBytes = validateMaxFrameBytes(maxFrameBytes);
  }

  /** The payloads completed by `chunk`, in order. Throws FrameError on an oversized length. */
  push(chunk: Uint8Array): Buffer[] {
    if (this.failure !== null) throw this.failure;
    if (chunk.length > 0) {
      this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.buffered += chunk.length;
    }
    const frames: Buffer[] = [];
    for (;;) {
      if (this.expected === null) {
        if (this.buffered < FRAME_HEADER_BYTES) break;
        this.expected = this.checkedLength(this.take(FRAME_HEADER_BYTES).readUInt32BE(0));
      }
      if (this.buffered < this.expected) break;
      frames.push(this.take(this.expected));
      this.expected = null;
    }
    return frames;
  }

  /** Call when the stream ends: a partial frame left over means the peer stopped mid-frame. */
  finish(): void {
    if (this.failure !== null) throw this.failure;
    if (this.buffered === 0 && this.expected === null) return;
    const have = this.expected === null ? `${this.buffered} bytes of a frame header` : `${this.buffered} of ${this.expected} payload bytes`;
    throw this.fail(new FrameError('truncated', `the stream ended inside a frame (${have})`));
  }

  private checkedLength(length: number): number {
    if (length <= this.maxFrameBytes) return length;
    return this.fail(
      new FrameError(
        'oversized',
        `refused a frame of ${length} bytes: the limit is ${this.maxFrameBytes} bytes (maxFrameBytes) — ` +
          'either the peer sends more than this node accepts, or the bytes are not a figure2 peer stream',
      ),
    );
  }

  private fail(error: FrameError): never {
    this.failure = error;
    this.chunks = [];
    this.head = 0;
    this.buffered = 0;
    throw error;
  }

  /** Removes and returns the next `n` buffered bytes (n ≤ buffered); copies only across chunks. */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[this.head];
    if (first !== undefined && first.length >= n) return this.takeFromHead(first, n);
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[this.head];
      if (chunk === undefined) throw new Error(`frame decoder invariant: ${n - filled} bytes missing`);
      const part = this.takeFromHead(chunk, Math.min(chunk.length, n - filled));
      out.set(part, filled);
      filled += part.length;
    }
    return out;
  }

  private takeFromHead(chunk: Buffer, n: number): Buffer {
    if (n < chunk.length) {
      this.chunks[this.head] = chunk.subarray(n);
      return chunk.subarray(0, n);
    }
    this.head++;
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      // Many tiny chunks: drop the consumed prefix now and then, so the array stays bounded.
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
    return chunk.subarray(0, n);
  }
}
