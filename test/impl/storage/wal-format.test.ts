/**
 * The pieces of the WAL format on their own: CRC-32C against published vectors, record framing
 * round trips, segment names and headers, the recovery decision table, the log index and the
 * entry cache.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../../impl/core/types.ts';
import { crc32c } from '../../../impl/storage/crc32c.ts';
import { EntryCache } from '../../../impl/storage/entry-cache.ts';
import { LogIndex } from '../../../impl/storage/wal/log-index.ts';
import { decodeEntry, decodePayload, encodeBatch, END_OF_BATCH, RECORD_HEADER_BYTES, readFrame, checksumOk, type WalRecord } from '../../../impl/storage/wal/record.ts';
import { decide, RECOVERY_DECISIONS, type RecordState } from '../../../impl/storage/wal/recovery.ts';
import { checkSegmentHeader, classifyDirectory, encodeSegmentHeader, parseSegmentFileName, segmentFileName } from '../../../impl/storage/wal/segment.ts';
import { decodeSnapshot, encodeSnapshot } from '../../../impl/storage/snapshot-file.ts';

describe('CRC-32C', () => {
  it('matches the check value and the RFC 3720 (iSCSI, B.4) vectors', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    const pdu = Buffer.from('01c000000000000000000000000000001400000000000400000000140000001828000000000000000200000000000000', 'hex');
    expect(crc32c(pdu)).toBe(0xd9963a56);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('is the same computed in pieces, over a sub-range, and against a bitwise reference', () => {
    const reference = (bytes: Uint8Array): number => {
      let c = ~0;
      for (const b of bytes) {
        c ^= b;
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      }
      return ~c >>> 0;
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), (bytes, cutAt) => {
        const cut = Math.min(cutAt, bytes.length);
        expect(crc32c(bytes)).toBe(reference(bytes));
        expect(crc32c(bytes.subarray(cut), crc32c(bytes.subarray(0, cut)))).toBe(crc32c(bytes));
        expect(crc32c(bytes, 0, cut, bytes.length)).toBe(reference(bytes.subarray(cut)));
      }),
    );
  });
});

const entryArb = (index: number): fc.Arbitrary<Entry> =>
  fc.record({ index: fc.constant(index), term: fc.nat(1_000_000), kind: fc.constantFrom('command' as const, 'noop' as const, 'config' as const), data: fc.string({ unit: 'grapheme', maxLength: 40 }) });

describe('WAL records', () => {
  it('round-trip: every record type, with its checksum, end-of-batch on the last record only', () => {
    const recordArb: fc.Arbitrary<WalRecord> = fc.oneof(
      fc.record({ type: fc.constant('hard-state' as const), hardState: fc.record({ currentTerm: fc.maxSafeNat(), votedFor: fc.option(fc.string({ minLength: 1 }), { nil: null }), commitIndex: fc.maxSafeNat() }) }),
      fc.record({ type: fc.constant('truncate' as const), from: fc.maxSafeNat() }),
      fc.record({ type: fc.constant('snapshot' as const), marker: fc.record({ index: fc.maxSafeNat(), term: fc.maxSafeNat(), keepSuffix: fc.boolean(), file: fc.string({ minLength: 1 }) }) }),
    );
    const entriesArb = fc.integer({ min: 1, max: 2 ** 40 }).chain((first) =>
      fc.array(fc.nat(3), { minLength: 1, maxLength: 8 }).chain((terms) => fc.tuple(...terms.map((_, k) => entryArb(first + k)))),
    );
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 3 }), fc.option(entriesArb, { nil: undefined }), (records, batchEntries) => {
        const sorted = batchEntries === undefined ? undefined : [...batchEntries].sort((a, b) => a.term - b.term).map((e, k) => ({ ...e, index: (batchEntries[0] as Entry).index + k }));
        const all: WalRecord[] = sorted === undefined ? records : [...records, { type: 'entries', entries: sorted }];
        if (all.length === 0) return;
        const { bytes, entryOffsets } = encodeBatch(all);
        let at = 0;
        all.forEach((record, i) => {
          const frame = readFrame(bytes, at);
          expect(checksumOk(bytes, at, frame)).toBe(true);
          expect((frame.type & END_OF_BATCH) !== 0).toBe(i === all.length - 1);
          const decoded = decodePayload(frame.type, bytes, at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + frame.length);
          if (record.type === 'entries') {
            expect(decoded).toMatchObject({ type: 'entries', firstIndex: record.entries[0]?.index, count: record.entries.length });
            record.entries.forEach((e, k) => expect(decodeEntry(bytes, entryOffsets[k] as number, e.index)).toEqual(e));
          } else {
            expect(decoded).toEqual(record);
          }
          at += RECORD_HEADER_BYTES + frame.length;
        });
        expect(at).toBe(bytes.length);
      }),
    );
  });

  it('a flipped bit anywhere in type or payload fails the checksum', () => {
    const { bytes } = encodeBatch([{ type: 'entries', entries: [{ index: 7, term: 2, kind: 'command', data: 'hello' }] }]);
    for (let bit = 8 * 8; bit < bytes.length * 8; bit++) {
      const copy = Buffer.from(bytes);
      copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
      expect(checksumOk(copy, 0, readFrame(copy, 0)), `bit ${bit}`).toBe(false);
    }
  });
});

describe('segments and snapshot files', () => {
  it('names sort in log order and parse back', () => {
    const names = [{ seq: 10, firstIndex: 5 }, { seq: 2, firstIndex: 900 }, { seq: 1, firstIndex: 1 }].map(segmentFileName);
    expect(names[2]).toBe('0000000000000001-0000000000000001.wal');
    expect(classifyDirectory([...names, 'x.tmp', 'snap-0000000000000001-0000000000000001.snap', 'README']).segments.map((s) => s.seq)).toEqual([1, 2, 10]);
    expect(parseSegmentFileName('0000000000000002-0000000000000900.wal')).toEqual({ seq: 2, firstIndex: 900, name: '0000000000000002-0000000000000900.wal' });
    expect(parseSegmentFileName('2-900.wal')).toBeUndefined();
  });

  it('headers: ours pass; someone else\'s file is not a WAL; damage and renames are corruption', () => {
    const id = { seq: 3, firstIndex: 77 };
    const header = encodeSegmentHeader(id);
    expect(() => checkSegmentHeader(header, 'p', id)).not.toThrow();
    expect(() => checkSegmentHeader(Buffer.from('hello world, not a wal at all...'), 'p', id)).toThrow(expect.objectContaining({ kind: 'not-a-wal', path: 'p' }));
    expect(() => checkSegmentHeader(header, 'p', { seq: 4, firstIndex: 77 })).toThrow(expect.objectContaining({ kind: 'corruption' }));
    const damaged = Buffer.from(header);
    damaged[20] = 1;
    expect(() => checkSegmentHeader(damaged, 'p', id)).toThrow(expect.objectContaining({ kind: 'corruption', offset: 0 }));
    expect(() => checkSegmentHeader(header.subarray(0, 20), 'p', id)).toThrow(expect.objectContaining({ kind: 'corruption' }));
  });

  it('snapshot files round-trip and fail their checksum when damaged', () => {
    const snapshot = { lastIncludedIndex: 42, lastIncludedTerm: 3, voters: ['a', 'b'], data: 'état ✓' };
    const bytes = encodeSnapshot(snapshot);
    expect(decodeSnapshot(bytes, 'f')).toEqual(snapshot);
    const damaged = Buffer.from(bytes);
    damaged[damaged.length - 2] = (damaged[damaged.length - 2] as number) ^ 1;
    expect(() => decodeSnapshot(damaged, 'f')).toThrow(expect.objectContaining({ kind: 'corruption', path: 'f' }));
    expect(() => decodeSnapshot(Buffer.from('not a snapshot'), 'f')).toThrow(expect.objectContaining({ kind: 'not-a-wal' }));
  });
});

describe('the recovery decision table', () => {
  const states: RecordState[] = ['valid', 'incomplete', 'crc-bad', 'unterminated-batch'];
  it('has exactly one row for every combination', () => {
    for (const state of states) {
      for (const validAfter of [true, false]) {
        for (const segment of ['last', 'earlier'] as const) {
          expect(RECOVERY_DECISIONS.filter((r) => r.state === state && r.validAfter === validAfter && r.segment === segment), `${state}/${validAfter}/${segment}`).toHaveLength(1);
        }
      }
    }
    expect(RECOVERY_DECISIONS).toHaveLength(16);
  });

  it('truncates only a damaged tail of the last segment with nothing valid after it', () => {
    for (const row of RECOVERY_DECISIONS) {
      const torn = row.state !== 'valid' && !row.validAfter && row.segment === 'last';
      expect(row.verdict, JSON.stringify(row)).toBe(row.state === 'valid' ? 'replay' : torn ? 'truncate-tail' : 'corruption');
    }
    expect(decide('crc-bad', true, 'last').verdict).toBe('corruption');
  });
});

describe('LogIndex', () => {
  it('appends, truncates, drops its front and grows, agreeing with an array model', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('append', 'truncate', 'drop'), fc.nat(50)), { maxLength: 200 }), (ops) => {
        const index = new LogIndex();
        let model: { index: number; term: number }[] = [];
        let first = 1;
        for (const [op, n] of ops) {
          const last = first + model.length - 1;
          if (op === 'append') {
            for (let k = 0; k <= n; k++) {
              const i = first + model.length;
              index.append(i, 1, i * 10, i * 2, 5);
              model.push({ index: i, term: i * 2 });
            }
          } else if (op === 'truncate' && model.length > 0) {
            const from = first + (n % model.length);
            index.truncateFrom(from);
            model = model.slice(0, from - first);
          } else if (op === 'drop' && model.length > 0) {
            const through = Math.min(last, first + n);
            index.dropThrough(through);
            model = model.filter((e) => e.index > through);
            first = through + 1;
          }
          expect([index.first, index.last]).toEqual([first, first + model.length - 1]);
          for (const e of model) expect([index.term(e.index), index.position(e.index)]).toEqual([e.term, e.index * 10]);
        }
      }),
    );
  });
});

describe('EntryCache', () => {
  it('stays within its byte budget, evicting the least recently used', () => {
    const cache = new EntryCache(1000);
    const e = (index: number): Entry => ({ index, term: 1, kind: 'command', data: 'x'.repeat(100) });
    for (let i = 1; i <= 20; i++) {
      cache.set(e(i));
      if (i === 3) cache.get(1);
    }
    expect(cache.size).toBeLessThanOrEqual(1000 / 196 + 1);
    expect(cache.has(20)).toBe(true);
    expect(cache.has(2)).toBe(false);
    cache.deleteFrom(19);
    expect(cache.has(20) || cache.has(19)).toBe(false);
    cache.set({ index: 99, term: 1, kind: 'command', data: 'y'.repeat(5000) });
    expect(cache.has(99)).toBe(false);
  });
});

describe('layering', () => {
  it('impl/storage imports node built-ins, its own files, and only types from impl/core', async () => {
    const { readdirSync, readFileSync, statSync } = await import('node:fs');
    const { join, relative, resolve } = await import('node:path');
    const root = resolve(import.meta.dirname, '../../..');
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        return statSync(path).isDirectory() ? files(path) : name.endsWith('.ts') ? [path] : [];
      });
    const sources = files(join(root, 'impl/storage'));
    expect(sources.length).toBeGreaterThan(15);
    for (const file of sources) {
      for (const m of readFileSync(file, 'utf8').matchAll(/^import (type )?[^'"]*from '([^']+)'/gm)) {
        const [, typeOnly, spec] = m;
        const where = `${relative(root, file)} imports ${spec}`;
        if (spec?.startsWith('node:')) continue;
        expect(spec?.startsWith('.'), where).toBe(true);
        const target = relative(root, resolve(file, '..', spec as string));
        if (target.startsWith('impl/storage/')) continue;
        expect(target.startsWith('impl/core/') && typeOnly !== undefined, where).toBe(true);
      }
    }
  });
});
