/**
 * Fuzzing the Jepsen importer (fast-check; a failure prints seed and path): random text, random
 * bytes and mutated real lines produce only errors — never an exception — with line numbers
 * inside the input, and whatever imports can be checked. The EDN reader reads back what it prints.
 */
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkJepsenHistory, importJepsen, importJepsenStream, readEdn, showEdn, type Edn, type JepsenImport } from '../../traces/importers/jepsen.ts';

const ETCD = [
  'INFO  jepsen.util - 0\t:invoke\t:read\tnil',
  'INFO  jepsen.util - 3\t:invoke\t:write\t4',
  'INFO  jepsen.util - 0\t:ok\t:read\tnil',
  'INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]',
  'INFO  jepsen.util - 2\t:fail\t:cas\t[3 0]',
  'INFO  jepsen.util - 3\t:info\t:write\t:timed-out',
  'INFO  jepsen.util - 9\t:invoke\t:read\tnil',
  'INFO  jepsen.util - 9\t:fail\t:read\t:timed-out',
];
const KV = [
  '{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}',
  '{:process 0, :type :ok, :f :append, :key "0", :value "x 0 0 y"}',
  '{:process 1, :type :invoke, :f :get, :key "0", :value nil}',
  '{:process 1, :type :ok, :f :get, :key "0", :value "x 0 0 y"}',
  '{:process 2, :type :invoke, :f :put, :key "9", :value "x 2 0 y"}',
];

/** The importer's contract on any input: no exception, errors inside the text, a checkable history. */
function expectWellBehaved(text: string, imported: JepsenImport): void {
  const lineCount = text.split(/\r?\n/).length;
  for (const e of imported.errors) {
    expect(e.line).toBeGreaterThanOrEqual(1);
    expect(e.line).toBeLessThanOrEqual(lineCount);
    expect(e.message.length).toBeGreaterThan(0);
  }
  const history = imported.history;
  if (history === undefined) return;
  const result = checkJepsenHistory(history, { maxSteps: 20_000, shrinkMaxSteps: 20_000 });
  expect(['linearizable', 'not-linearizable', 'unknown']).toContain(result.verdict);
}

/** Characters that matter to the two formats, so mutations hit the parser's decisions. */
const significant = fc.constantFrom(...'{}[]()#":,; \t\n\\-0123456789Nnil:invoke:ok:fail:info'.split(''), '\u0000', '\uFEFF', '\r', 'é', '🚀');

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.string({ unit: significant, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), with: fc.nat() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(lines: readonly string[], m: Mutation): string[] {
  const out = [...lines];
  const i = m.at % out.length;
  const line = out[i]!;
  const at = line.length === 0 ? 0 : m.at % line.length;
  switch (m.kind) {
    case 'delete':
      out[i] = line.slice(0, at) + line.slice(at + m.length);
      break;
    case 'insert':
      out[i] = line.slice(0, at) + m.text + line.slice(at);
      break;
    case 'truncate':
      out[i] = line.slice(0, at);
      break;
    case 'duplicate':
      out.splice(i, 0, line);
      break;
    case 'swap': {
      const j = m.with % out.length;
      out[i] = out[j]!;
      out[j] = line;
      break;
    }
  }
  return out;
}

describe('Jepsen importer fuzzing', () => {
  it('random text: only errors, never an exception', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.oneof(significant, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })), maxLength: 300 }), (text) => {
        expectWellBehaved(text, importJepsen(text));
      }),
      { numRuns: 1000 },
    );
  });

  it('random bytes, read as a stream in random chunks: only errors', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 1, max: 64 }), async (bytes, size) => {
        const chunks: Uint8Array[] = [];
        for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
        const imported = await importJepsenStream(Readable.from(chunks));
        expectWellBehaved(new TextDecoder().decode(bytes), imported);
      }),
      { numRuns: 300 },
    );
  });

  it('mutated real lines of both formats: only errors, and a history that can be checked', () => {
    fc.assert(
      fc.property(fc.constantFrom(ETCD, KV), fc.array(mutation, { minLength: 1, maxLength: 6 }), (lines, mutations) => {
        const text = mutations.reduce(mutate, lines).join('\n');
        expectWellBehaved(text, importJepsen(text));
      }),
      { numRuns: 1500 },
    );
  });

  it('the unmutated samples import cleanly (so the mutations above start from valid input)', () => {
    expect(importJepsen(ETCD.join('\n')).errors).toEqual([]);
    expect(importJepsen(KV.join('\n')).errors).toEqual([]);
  });
});

describe('EDN reader round trip', () => {
  const keyword = fc.stringMatching(/^[a-z][a-z0-9?!*-]{0,6}$/).map((name): Edn => ({ kind: 'keyword', name }));
  const scalar: fc.Arbitrary<Edn> = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.string({ maxLength: 8 }), keyword);
  const { value } = fc.letrec<{ value: Edn }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      scalar,
      fc.array(tie('value'), { maxLength: 4 }).map((items): Edn => ({ kind: 'vector', items })),
      fc.array(tie('value'), { maxLength: 4 }).map((items): Edn => ({ kind: 'list', items })),
      fc.array(fc.tuple(keyword, tie('value')), { maxLength: 3 }).map((entries): Edn => ({ kind: 'map', entries })),
    ),
  }));

  it('reads back what showEdn prints', () => {
    fc.assert(
      fc.property(value, (v) => {
        const r = readEdn(showEdn(v));
        expect(r).toEqual({ ok: true, values: [v] });
      }),
      { numRuns: 500 },
    );
  });
});
