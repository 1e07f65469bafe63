/**
 * traces/merge.ts: per-node trace files merged by `ts` for `figure2 check --merge` — ordered by
 * ts, each file's own order kept, headers first, and every line without a usable ts an input
 * error naming its file and line.
 */
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../spec/schemas/trace-events.ts';
import { mergeByTs, type MergedLine, type MergeSource } from '../../traces/merge.ts';
import { readTraceBatches, type TraceLine } from '../../traces/reader.ts';

const HEADER = '{"ev":"header","format":"raft-trace","version":1,"cluster":["n1","n2","n3"]}';

/** A file's lines through the real reader, from text (split into small chunks). */
function source(file: string, lines: readonly string[], chunk = 64): MergeSource {
  const bytes = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.subarray(i, i + chunk));
  return { file, lines: readTraceBatches(Readable.from(chunks)) };
}

function ev(node: string, ts: number | undefined, extra: Record<string, unknown> = { ev: 'timeout', kind: 'election' }): string {
  return JSON.stringify({ ...extra, node, ...(ts === undefined ? {} : { ts }) });
}

async function collect(sources: readonly MergeSource[], batchSize?: number): Promise<{ lines: MergedLine[]; batches: number }> {
  const lines: MergedLine[] = [];
  let batches = 0;
  for await (const batch of mergeByTs(sources, batchSize === undefined ? {} : { batchSize })) {
    batches++;
    lines.push(...batch);
  }
  return { lines, batches };
}

const where = (l: MergedLine): string => `${l.file}:${l.line}`;
const events = (lines: readonly MergedLine[]): (MergedLine & { event: TraceEvent })[] => lines.filter((l): l is MergedLine & { event: TraceEvent } => 'event' in l);
const errors = (lines: readonly MergedLine[]): string[] => lines.flatMap((l) => ('error' in l ? [`${where(l)}: ${l.error.path}: ${l.error.message}`] : []));

describe('mergeByTs', () => {
  it('orders events by ts across files, keeps each file\'s own order, and headers come first', async () => {
    const a = source('n1.ndjson', [HEADER, ev('n1', 1), ev('n1', 4), ev('n1', 9)]);
    const b = source('n2.ndjson', [HEADER, ev('n2', 2), ev('n2', 3), ev('n2', 10)]);
    const c = source('n3.ndjson', [ev('n3', 0), ev('n3', 5)]);
    const { lines } = await collect([a, b, c]);
    expect(errors(lines)).toEqual([]);
    expect(lines.map(where)).toEqual([
      'n1.ndjson:1',
      'n2.ndjson:1',
      'n3.ndjson:1',
      'n1.ndjson:2',
      'n2.ndjson:2',
      'n2.ndjson:3',
      'n1.ndjson:3',
      'n3.ndjson:2',
      'n1.ndjson:4',
      'n2.ndjson:4',
    ]);
  });

  it('at equal ts puts a recv after the other events of that instant, then follows file order', async () => {
    const msg = { type: 'RequestVote', term: 1, candidateId: 'n2', lastLogIndex: 0, lastLogTerm: 0 };
    const a = source('a.ndjson', [ev('n1', 5, { ev: 'recv', from: 'n2', msg }), ev('n1', 5)]);
    const b = source('b.ndjson', [ev('n2', 5, { ev: 'send', to: 'n1', msg })]);
    const { lines } = await collect([a, b]);
    expect(lines.map(where)).toEqual(['b.ndjson:1', 'a.ndjson:1', 'a.ndjson:2']);
    const c = source('c.ndjson', [ev('n1', 7)]);
    const d = source('d.ndjson', [ev('n2', 7)]);
    expect((await collect([d, c])).lines.map(where)).toEqual(['d.ndjson:1', 'c.ndjson:1']);
  });

  it('reports an event without ts as an input error naming its file and line, and leaves it out', async () => {
    const a = source('a.ndjson', [HEADER, ev('n1', 1), ev('n1', undefined), ev('n1', 3)]);
    const { lines } = await collect([a]);
    expect(errors(lines)).toEqual(['a.ndjson:3: $.ts: missing ts: --merge orders the files\' events by ts, so every event but the header needs one']);
    expect(events(lines).map(where)).toEqual(['a.ndjson:1', 'a.ndjson:2', 'a.ndjson:4']);
  });

  it('reports ts going backwards within one file, naming both lines', async () => {
    const a = source('a.ndjson', [ev('n1', 5), ev('n1', 3), ev('n1', 6)]);
    const b = source('b.ndjson', [ev('n2', 4)]);
    const { lines } = await collect([a, b]);
    expect(errors(lines)).toEqual(['a.ndjson:2: $.ts: ts 3 is before ts 5 of line 1: --merge needs each file in ts order']);
    expect(events(lines).map(where)).toEqual(['b.ndjson:1', 'a.ndjson:1', 'a.ndjson:3']);
  });

  it('passes the reader\'s errors through with their file', async () => {
    const a = source('a.ndjson', [ev('n1', 1), '{"ev":"role","node":"n1"', ev('n1', 2)]);
    const { lines } = await collect([a]);
    expect(errors(lines)).toHaveLength(1);
    expect(errors(lines)[0]).toMatch(/^a\.ndjson:2: \$: not valid JSON/);
  });

  it('reports headers that disagree on the cluster', async () => {
    const a = source('a.ndjson', [HEADER, ev('n1', 1)]);
    const b = source('b.ndjson', ['{"ev":"header","format":"raft-trace","version":1,"cluster":["n1","n2","n9"]}', ev('n2', 1)]);
    const { lines } = await collect([a, b]);
    expect(errors(lines)).toEqual(['b.ndjson:1: $.cluster: the header\'s cluster ["n1","n2","n9"] differs from ["n1","n2","n3"] in a.ndjson: --merge merges the files of one cluster']);
    // The same members in another order are the same cluster.
    const c = source('c.ndjson', ['{"ev":"header","format":"raft-trace","version":1,"cluster":["n3","n2","n1"]}']);
    expect(errors((await collect([source('a.ndjson', [HEADER]), c])).lines)).toEqual([]);
  });

  it('yields batches of at most batchSize lines', async () => {
    const a = source('a.ndjson', Array.from({ length: 25 }, (_, i) => ev('n1', i)));
    const b = source('b.ndjson', Array.from({ length: 25 }, (_, i) => ev('n2', i)));
    const { lines, batches } = await collect([a, b], 10);
    expect(lines).toHaveLength(50);
    expect(batches).toBe(5);
  });

  it('handles no input and empty files', async () => {
    expect((await collect([])).lines).toEqual([]);
    expect((await collect([source('a.ndjson', []), source('b.ndjson', [ev('n2', 1)])])).lines.map(where)).toEqual(['b.ndjson:1']);
  });

  it('releases its inputs when the consumer stops early', async () => {
    let returned = 0;
    const endless = (file: string): MergeSource => ({
      file,
      lines: {
        [Symbol.asyncIterator]: () => {
          let ts = 0;
          return {
            next: async (): Promise<IteratorResult<readonly TraceLine[]>> => ({ done: false, value: [{ line: ts + 1, event: { ev: 'timeout', node: file, kind: 'election', ts: ts++ } }] }),
            return: async (): Promise<IteratorResult<readonly TraceLine[]>> => {
              returned++;
              return { done: true, value: undefined };
            },
          };
        },
      },
    });
    for await (const batch of mergeByTs([endless('x'), endless('y')], { batchSize: 4 })) {
      expect(batch).toHaveLength(4);
      break;
    }
    expect(returned).toBe(2);
  });

  it('property: the merge is sorted by ts, a permutation of the valid lines, and keeps each file\'s order', async () => {
    const file = fc.array(fc.nat({ max: 20 }), { maxLength: 15 }).map((ts) => [...ts].sort((x, y) => x - y));
    await fc.assert(
      fc.asyncProperty(fc.array(file, { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 7 }), async (files, batchSize) => {
        const sources = files.map((ts, k) => source(`f${k}`, ts.map((t) => ev(`n${k}`, t)), 17));
        const { lines } = await collect(sources, batchSize);
        expect(errors(lines)).toEqual([]);
        const merged = events(lines);
        expect(merged).toHaveLength(files.reduce((n, f) => n + f.length, 0));
        const stamps = merged.map((l) => l.event.ts ?? -1);
        expect(stamps).toEqual([...stamps].sort((x, y) => x - y));
        files.forEach((_, k) => {
          const own = merged.filter((l) => l.file === `f${k}`).map((l) => l.line);
          expect(own).toEqual(own.map((_, i) => i + 1));
        });
      }),
      { numRuns: 100 },
    );
  });
});
