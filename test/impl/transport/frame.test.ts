/**
 * Length-prefixed framing: any chunk split of a frame stream decodes to the same payloads; an
 * oversized length or a stream that is not ours is refused before anything is allocated; a
 * stream that ends mid-frame is reported.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, FrameDecoder, FrameError, validateMaxFrameBytes } from '../../../impl/transport/frame.ts';

/** Splits `bytes` at the given cut points (sorted, deduplicated, clamped to the length). */
function split(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const p of [...points, bytes.length]) {
    pieces.push(bytes.subarray(start, p));
    start = p;
  }
  return pieces;
}

const payloads = fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 });

describe('frame decoder', () => {
  it('decodes any chunk split of a frame stream into the payloads that were encoded', () => {
    fc.assert(
      fc.property(payloads, fc.array(fc.nat(), { maxLength: 40 }), (items, cuts) => {
        const stream = Buffer.concat(items.map((p) => encodeFrame(p)));
        const decoder = new FrameDecoder();
        const out = split(stream, cuts).flatMap((piece) => decoder.push(piece));
        expect(out.map((b) => [...b])).toEqual(items.map((p) => [...p]));
        expect(decoder.bufferedBytes).toBe(0);
        expect(() => decoder.finish()).not.toThrow();
      }),
      { numRuns: 300 },
    );
  });

  it('decodes a stream fed one byte at a time', () => {
    const items = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(70_000, 7), Buffer.from('end')];
    const stream = Buffer.concat(items.map((p) => encodeFrame(p)));
    const decoder = new FrameDecoder();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...decoder.push(stream.subarray(i, i + 1)));
    expect(out.map((b) => b.length)).toEqual([1, 0, 70_000, 3]);
    expect(out[2]?.every((b) => b === 7)).toBe(true);
  });

  it('reports a stream that ends inside a frame', () => {
    fc.assert(
      fc.property(payloads.filter((p) => p.length > 0), fc.nat(), (items, cut) => {
        const stream = Buffer.concat(items.map((p) => encodeFrame(p)));
        const boundaries = new Set<number>([0]);
        let at = 0;
        for (const p of items) boundaries.add((at += 4 + p.length));
        const end = cut % stream.length;
        fc.pre(!boundaries.has(end));
        const decoder = new FrameDecoder();
        decoder.push(stream.subarray(0, end));
        expect(() => decoder.finish()).toThrow(FrameError);
        expect(() => decoder.finish()).toThrow(/ended inside a frame/);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a length above the limit before the payload arrives, and stays failed', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 1000 });
    expect(decoder.push(encodeFrame(Buffer.alloc(1000)))).toHaveLength(1);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1001);
    let error: unknown;
    try {
      decoder.push(header);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FrameError);
    expect((error as FrameError).kind).toBe('oversized');
    expect((error as FrameError).message).toMatch(/refused a frame of 1001 bytes: the limit is 1000 bytes \(maxFrameBytes\)/);
    // The bytes after a bad header have no boundaries we could trust.
    expect(() => decoder.push(encodeFrame(Buffer.from('ok')))).toThrow(FrameError);
  });

  it('refuses a stream that is not figure2 framing (an HTTP request to the peer port)', () => {
    const decoder = new FrameDecoder();
    expect(() => decoder.push(Buffer.from('GET / HTTP/1.1\r\nHost: n1\r\n\r\n'))).toThrow(/refused a frame of \d+ bytes.*not a figure2 peer stream/);
  });

  it('never fails on random bytes with anything but a FrameError', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { maxLength: 10 }), (chunks) => {
        const decoder = new FrameDecoder({ maxFrameBytes: 256 });
        try {
          for (const c of chunks) for (const frame of decoder.push(c)) expect(frame.length).toBeLessThanOrEqual(256);
        } catch (error) {
          expect(error).toBeInstanceOf(FrameError);
        }
      }),
    );
  });

  it('applies a raised limit to the frames whose header comes after', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 10 });
    expect(() => new FrameDecoder({ maxFrameBytes: 10 }).push(encodeFrame(Buffer.alloc(11)))).toThrow(FrameError);
    decoder.setMaxFrameBytes(100);
    expect(decoder.push(encodeFrame(Buffer.alloc(11)))[0]?.length).toBe(11);
    expect(decoder.limit).toBe(100);
  });

  it('validates the limit it is given', () => {
    expect(validateMaxFrameBytes(DEFAULT_MAX_FRAME_BYTES)).toBe(16 * 1024 * 1024);
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 32]) expect(() => validateMaxFrameBytes(bad)).toThrow(RangeError);
  });
});
