/**
 * The NDJSON trace writer: one line per event in emission order, `ts` stamped right after `ev`
 * from the simulator's clock (never overriding an event's own), chunked writes, nothing after close.
 */
import { describe, expect, it } from 'vitest';
import { memoryTraceWriter, NdjsonTraceWriter } from '../../../conformance/sim/trace-writer.ts';

describe('NdjsonTraceWriter', () => {
  it('writes one line per event, stamping ts after ev while the clock is set', () => {
    const { writer, text } = memoryTraceWriter();
    writer.append({ ev: 'header', format: 'raft-trace', version: 1, cluster: ['n1'] });
    writer.ts = 4;
    writer.append({ ev: 'crash', node: 'n1' });
    writer.append({ ev: 'timeout', node: 'n1', kind: 'election', ts: 99 });
    expect(text()).toBe(
      '{"ev":"header","format":"raft-trace","version":1,"cluster":["n1"]}\n' +
        '{"ev":"crash","ts":4,"node":"n1"}\n' +
        '{"ev":"timeout","node":"n1","kind":"election","ts":99}\n',
    );
    expect(writer.events).toBe(3);
  });

  it('can leave timestamps out', () => {
    const { writer, text } = memoryTraceWriter({ timestamps: false });
    writer.ts = 1;
    writer.sink({ ev: 'crash', node: 'n2' });
    expect(text()).toBe('{"ev":"crash","node":"n2"}\n');
  });

  it('hands whole lines to write in chunks of about chunkChars', () => {
    const chunks: string[] = [];
    const writer = new NdjsonTraceWriter({ write: (c) => void chunks.push(c), chunkChars: 60, timestamps: false });
    for (let i = 0; i < 10; i++) writer.append({ ev: 'crash', node: `n${i}` });
    expect(chunks.length).toBeGreaterThan(1);
    writer.close();
    for (const c of chunks) expect(c.endsWith('\n')).toBe(true);
    expect(chunks.join('').split('\n')).toHaveLength(11);
    expect(() => writer.append({ ev: 'crash', node: 'n1' })).toThrow(/after close/);
  });
});
