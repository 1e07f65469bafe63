/**
 * WAL records: framing and payloads.
 *
 * Frame (little-endian):  length u32 | crc u32 | type u8 | payload (length bytes)
 *   - `length` counts the payload only, so a zeroed tail (length 0 with a zero CRC) can never
 *     pass for a record: every payload is at least 8 bytes.
 *   - `crc` is CRC-32C over type and payload: a flipped bit anywhere in them is caught, and a
 *     flipped length makes the checksum cover the wrong bytes, which is caught too.
 *   - `type`: the low 7 bits are the record type; the high bit marks the last record of a batch.
 *     A batch (one `save`) is several records — snapshot marker, truncation, entries, hard state —
 *     and must be replayed whole or not at all, so records after the last end-of-batch mark at
 *     the tail are an unfinished write and are dropped like a torn record.
 *
 * Payloads: compact binary rather than JSON, since recovery parses every record (1M entries in
 * well under a second) and entry data must be readable in place without decoding its neighbours.
 *   hard-state  term u64 | commitIndex u64 | votedFor (string or null)
 *   entries     firstIndex u64 | count u32 | count × (term u64 | kind u8 | dataLength u32 | data UTF-8)
 *   truncate    fromIndex u64 (AE-3: entries from here on are deleted)
 *   snapshot    index u64 | term u64 | keepSuffix u8 | file name (string): a snapshot was installed
 *               (or taken) at index/term, stored in that file; keepSuffix says whether the log
 *               after it stayed (IS-6, compaction) or was discarded (IS-7) — decided when written,
 *               so that replay never needs the terms of entries in segments already deleted.
 * Strings are a u32 byte length (0xFFFFFFFF for null) then UTF-8.
 */
import type { Entry, HardState } from '../../core/types.ts';
import { assert } from '../assert.ts';
import { readStringField, readU64, stringFieldBytes, writeStringField, writeU64 } from '../binary.ts';
import { crc32c } from '../crc32c.ts';

export const RECORD_HEADER_BYTES = 9;
/** Larger payloads are framing damage, not records (a batch of entries is far smaller). */
export const MAX_PAYLOAD_BYTES = 512 * 1024 * 1024;
export const END_OF_BATCH = 0x80;
/** Bytes before an entry's data: term u64, kind u8, data length u32. */
export const ENTRY_HEADER_BYTES = 13;

export const RECORD_TYPES = Object.freeze({ 'hard-state': 1, entries: 2, truncate: 3, snapshot: 4 } as const);
export type RecordTypeName = keyof typeof RECORD_TYPES;
const TYPE_NAMES: readonly (RecordTypeName | undefined)[] = [undefined, 'hard-state', 'entries', 'truncate', 'snapshot'];

export function recordTypeName(code: number): RecordTypeName | undefined {
  return TYPE_NAMES[code & ~END_OF_BATCH];
}

type EntryKind = Entry['kind'];
const KIND_CODES: readonly EntryKind[] = ['command', 'noop', 'config'];
function kindCode(kind: EntryKind): number {
  const code = KIND_CODES.indexOf(kind);
  assert(code >= 0, () => `entry kind ${String(kind)}`);
  return code;
}
export function kindName(code: number): EntryKind | undefined {
  return KIND_CODES[code];
}

/** A snapshot marker: the log's snapshot point moved to index/term, kept in `file`. */
export interface SnapshotMarker {
  readonly index: number;
  readonly term: number;
  /** IS-6 (and compaction): the entries after `index` stay. IS-7: all entries are discarded. */
  readonly keepSuffix: boolean;
  readonly file: string;
}

/** A record to write (entries as Entry objects) or read back (entries summarised). */
export type WalRecord =
  | { readonly type: 'hard-state'; readonly hardState: HardState }
  | { readonly type: 'entries'; readonly entries: readonly Entry[] }
  | { readonly type: 'truncate'; readonly from: number }
  | { readonly type: 'snapshot'; readonly marker: SnapshotMarker };

/** A batch ready to write, with where its entries landed in it (for the log index). */
export interface EncodedBatch {
  readonly bytes: Buffer;
  /** Offset in `bytes` of each entry (of its term field), in entry order. */
  readonly entryOffsets: readonly number[];
  /** Encoded size of each entry (header and data). */
  readonly entrySizes: readonly number[];
}

function payloadBytes(record: WalRecord, dataBytes: number[]): number {
  switch (record.type) {
    case 'hard-state':
      return 16 + stringFieldBytes(record.hardState.votedFor);
    case 'truncate':
      return 8;
    case 'snapshot':
      return 17 + stringFieldBytes(record.marker.file);
    case 'entries': {
      let n = 12;
      for (const e of record.entries) {
        const bytes = Buffer.byteLength(e.data, 'utf8');
        dataBytes.push(bytes);
        n += ENTRY_HEADER_BYTES + bytes;
      }
      return n;
    }
  }
}

/**
 * Encodes one batch: the records in order, the last marked end-of-batch. At most one entries
 * record (a batch's entries are contiguous).
 */
export function encodeBatch(records: readonly WalRecord[]): EncodedBatch {
  // Plain loops: this runs once per save, on the hot path of every append.
  const dataBytes: number[] = [];
  const sizes: number[] = [];
  let total = 0;
  let entriesRecords = 0;
  for (const record of records) {
    const size = payloadBytes(record, dataBytes);
    assert(size <= MAX_PAYLOAD_BYTES, () => `a ${record.type} record of ${size} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
    if (record.type === 'entries') entriesRecords++;
    sizes.push(size);
    total += RECORD_HEADER_BYTES + size;
  }
  assert(entriesRecords <= 1, 'a batch holds at most one entries record');
  const bytes = Buffer.allocUnsafe(total);
  const entryOffsets: number[] = [];
  const entrySizes: number[] = [];
  let at = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as WalRecord;
    const length = sizes[i] as number;
    const payload = at + RECORD_HEADER_BYTES;
    const end = writePayload(bytes, payload, record, dataBytes, entryOffsets, entrySizes);
    assert(end === payload + length, () => `${record.type} payload: wrote ${end - payload} bytes, sized ${length}`);
    bytes.writeUInt32LE(length, at);
    bytes[at + 8] = RECORD_TYPES[record.type] | (i === records.length - 1 ? END_OF_BATCH : 0);
    bytes.writeUInt32LE(crc32c(bytes, 0, at + 8, end), at + 4);
    at = end;
  }
  return { bytes, entryOffsets, entrySizes };
}

function writePayload(buf: Buffer, at: number, record: WalRecord, dataBytes: readonly number[], offsets: number[], sizes: number[]): number {
  switch (record.type) {
    case 'hard-state': {
      const hs = record.hardState;
      writeU64(buf, at, hs.currentTerm);
      writeU64(buf, at + 8, hs.commitIndex);
      return writeStringField(buf, at + 16, hs.votedFor);
    }
    case 'truncate':
      writeU64(buf, at, record.from);
      return at + 8;
    case 'snapshot': {
      const m = record.marker;
      writeU64(buf, at, m.index);
      writeU64(buf, at + 8, m.term);
      buf[at + 16] = m.keepSuffix ? 1 : 0;
      return writeStringField(buf, at + 17, m.file);
    }
    case 'entries': {
      const entries = record.entries;
      assert(entries.length > 0, 'an entries record holds at least one entry');
      writeU64(buf, at, (entries[0] as Entry).index);
      buf.writeUInt32LE(entries.length, at + 8);
      let p = at + 12;
      for (let k = 0; k < entries.length; k++) {
        const e = entries[k] as Entry;
        const data = dataBytes[k] as number;
        offsets.push(p);
        sizes.push(ENTRY_HEADER_BYTES + data);
        writeU64(buf, p, e.term);
        buf[p + 8] = kindCode(e.kind);
        buf.writeUInt32LE(data, p + 9);
        const written = buf.write(e.data, p + ENTRY_HEADER_BYTES, 'utf8');
        assert(written === data, 'entry data: UTF-8 length changed while encoding');
        p += ENTRY_HEADER_BYTES + data;
      }
      return p;
    }
  }
}

/** The frame of a record at `at` in `buf`, before its checksum is checked. */
export interface Frame {
  readonly length: number;
  readonly crc: number;
  readonly type: number;
}

export function readFrame(buf: Buffer, at: number): Frame {
  return { length: buf.readUInt32LE(at), crc: buf.readUInt32LE(at + 4), type: buf[at + 8] as number };
}

/** Why a frame cannot be a record whatever its checksum (zeros, garbage), or undefined. */
export function frameProblem(frame: Frame): string | undefined {
  if (recordTypeName(frame.type) === undefined) return `unknown record type ${frame.type}`;
  if (frame.length < 8) return `record length ${frame.length} is shorter than any payload`;
  if (frame.length > MAX_PAYLOAD_BYTES) return `record length ${frame.length} exceeds ${MAX_PAYLOAD_BYTES}`;
  return undefined;
}

/** True when the record at `at` (whole, in `buf`) passes its checksum. */
export function checksumOk(buf: Buffer, at: number, frame: Frame): boolean {
  return crc32c(buf, 0, at + 8, at + RECORD_HEADER_BYTES + frame.length) === frame.crc;
}

/** A record read back: entries summarised (their data stays on disk until asked for). */
export type DecodedRecord =
  | { readonly type: 'hard-state'; readonly hardState: HardState }
  | { readonly type: 'entries'; readonly firstIndex: number; readonly count: number; readonly firstTerm: number; readonly lastTerm: number }
  | { readonly type: 'truncate'; readonly from: number }
  | { readonly type: 'snapshot'; readonly marker: SnapshotMarker };

/** Called per entry of an entries payload: its index, term, and where it lies in the buffer. */
export type EntryVisitor = (index: number, term: number, offset: number, size: number) => void;

/**
 * Decodes the payload `buf[start, end)` of a record of `type`; `visit` sees every entry of an
 * entries record. Returns a string saying what is malformed when the payload does not parse
 * (which a valid checksum makes a bug, not disk damage).
 */
export function decodePayload(type: number, buf: Buffer, start: number, end: number, visit?: EntryVisitor): DecodedRecord | string {
  switch (recordTypeName(type)) {
    case 'hard-state': {
      if (end - start < 20) return 'hard-state payload too short';
      const voted = readStringField(buf, start + 16, end);
      if (voted === undefined || voted.next !== end) return 'hard-state payload: bad votedFor field';
      return { type: 'hard-state', hardState: { currentTerm: readU64(buf, start), commitIndex: readU64(buf, start + 8), votedFor: voted.value } };
    }
    case 'truncate':
      if (end - start !== 8) return 'truncate payload is not 8 bytes';
      return { type: 'truncate', from: readU64(buf, start) };
    case 'snapshot': {
      if (end - start < 21) return 'snapshot payload too short';
      const file = readStringField(buf, start + 17, end);
      if (file === undefined || file.value === null || file.next !== end) return 'snapshot payload: bad file name';
      const keep = buf[start + 16];
      if (keep !== 0 && keep !== 1) return `snapshot payload: keepSuffix ${keep}`;
      return { type: 'snapshot', marker: { index: readU64(buf, start), term: readU64(buf, start + 8), keepSuffix: keep === 1, file: file.value } };
    }
    case 'entries':
      return decodeEntries(buf, start, end, visit);
    case undefined:
      return `unknown record type ${type}`;
  }
}

function decodeEntries(buf: Buffer, start: number, end: number, visit: EntryVisitor | undefined): DecodedRecord | string {
  if (end - start < 12) return 'entries payload too short';
  const firstIndex = readU64(buf, start);
  const count = buf.readUInt32LE(start + 8);
  if (count === 0) return 'entries record with no entries';
  let p = start + 12;
  let firstTerm = 0;
  let lastTerm = 0;
  for (let k = 0; k < count; k++) {
    if (p + ENTRY_HEADER_BYTES > end) return `entries payload: entry ${k + 1} of ${count} runs past the record`;
    const term = readU64(buf, p);
    if (buf[p + 8] as number >= KIND_CODES.length) return `entries payload: entry ${firstIndex + k} has kind code ${buf[p + 8]}`;
    const size = ENTRY_HEADER_BYTES + buf.readUInt32LE(p + 9);
    if (p + size > end) return `entries payload: entry ${firstIndex + k} runs past the record`;
    if (k === 0) firstTerm = term;
    else if (term < lastTerm) return `entries payload: entry ${firstIndex + k} has term ${term} after term ${lastTerm}`;
    lastTerm = term;
    visit?.(firstIndex + k, term, p, size);
    p += size;
  }
  if (p !== end) return `entries payload: ${end - p} bytes after the last entry`;
  return { type: 'entries', firstIndex, count, firstTerm, lastTerm };
}

/** Decodes one entry (index known from the log index) at `at` in `buf`: term, kind, data. */
export function decodeEntry(buf: Buffer, at: number, index: number): Entry {
  const kind = kindName(buf[at + 8] as number);
  assert(kind !== undefined, () => `entry ${index}: kind code ${buf[at + 8]}`);
  const length = buf.readUInt32LE(at + 9);
  return { index, term: readU64(buf, at), kind, data: buf.toString('utf8', at + ENTRY_HEADER_BYTES, at + ENTRY_HEADER_BYTES + length) };
}
