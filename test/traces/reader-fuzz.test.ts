/**
 * The v1 reader never throws on bad input: random bytes and mutated trace lines come back as
 * valid events or located input errors; a 100 MB line is refused without being held in memory.
 */
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readTrace, type TraceLine } from '../../traces/reader.ts';
import { arbTraceEvent } from '../support/arbitraries.ts';

async function readAll(source: Readable): Promise<TraceLine[]> {
  const out: TraceLine[] = [];
  for await (const line of readTrace(source, { maxLineBytes: 4096 })) out.push(line);
  return out;
}

describe('trace reader under fuzzing', () => {
  it('random bytes: only events or located errors, never an exception', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 1, max: 64 }), async (bytes, chunk) => {
        const chunks: Buffer[] = [];
        for (let i = 0; i < bytes.length; i += chunk) chunks.push(Buffer.from(bytes.subarray(i, i + chunk)));
        const lines = await readAll(Readable.from(chunks));
        for (const l of lines) {
          expect(l.line).toBeGreaterThan(0);
          if ('error' in l) expect(l.error.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('mutated lines (cut, spliced, byte-flipped events): every line accounted for, errors name a path', async () => {
    const mutated = fc.tuple(fc.array(arbTraceEvent, { minLength: 1, maxLength: 8 }), fc.nat(), fc.nat(), fc.constantFrom('cut', 'flip', 'splice', 'truncate-last')).map(([events, a, b, how]) => {
      const lines = events.map((e) => JSON.stringify(e));
      const k = a % lines.length;
      const line = lines[k] as string;
      const at = b % Math.max(1, line.length);
      if (how === 'cut') lines[k] = line.slice(0, at);
      if (how === 'flip') lines[k] = line.slice(0, at) + String.fromCharCode((line.charCodeAt(at) + 1) % 128) + line.slice(at + 1);
      if (how === 'splice') lines[k] = line.slice(0, at) + (lines[(k + 1) % lines.length] ?? '') ;
      const text = lines.join('\n');
      return how === 'truncate-last' ? text.slice(0, Math.max(1, text.length - 1 - (b % 20))) : `${text}\n`;
    });
    await fc.assert(
      fc.asyncProperty(mutated, async (text) => {
        const lines = await readAll(Readable.from([Buffer.from(text, 'utf8')]));
        const nonBlank = text.split('\n').filter((l) => l.trim() !== '').length;
        // Every non-blank line yields at least one result (an event, or one or more errors).
        expect(new Set(lines.map((l) => l.line)).size).toBe(nonBlank);
        for (const l of lines) if ('error' in l) expect(l.error.path).toMatch(/^\$/);
      }),
      { numRuns: 500 },
    );
  });

  it('a 100 MB line is refused with a clear error, and the next line is still read', async () => {
    const size = 100 * 2 ** 20;
    async function* hugeThenValid(): AsyncGenerator<Buffer> {
      const block = Buffer.alloc(1 << 20, 0x61);
      for (let sent = 0; sent < size; sent += block.length) yield block;
      yield Buffer.from('\n{"ev":"crash","node":"n1"}\n');
    }
    const results: TraceLine[] = [];
    for await (const line of readTrace(Readable.from(hugeThenValid()))) results.push(line);
    expect(results).toHaveLength(2);
    expect(results[0]).toEqual({ line: 1, error: { path: '$', message: expect.stringMatching(/longer than 1048576 bytes/) } });
    expect(results[1]).toMatchObject({ line: 2, event: { ev: 'crash', node: 'n1' } });
  });
});
