/**
 * Little-endian integers and strings for the WAL and snapshot formats. Indexes and terms are JS
 * numbers (safe integers, < 2^53), stored as u64 — two u32 halves, because BigInt conversions
 * would cost more than the rest of the encoding.
 */
import { assert } from './assert.ts';

const TWO_32 = 0x1_0000_0000;
/** The u32 length that stands for `null` in a string-or-null field. */
export const NULL_LENGTH = 0xffff_ffff;

export function writeU64(buf: Buffer, offset: number, value: number): void {
  assert(Number.isSafeInteger(value) && value >= 0, () => `u64 field: ${value} is not a non-negative safe integer`);
  buf.writeUInt32LE(value % TWO_32, offset);
  buf.writeUInt32LE(Math.floor(value / TWO_32), offset + 4);
}

export function readU64(buf: Buffer, offset: number): number {
  return buf.readUInt32LE(offset) + buf.readUInt32LE(offset + 4) * TWO_32;
}

/** Bytes a string-or-null field takes: a u32 length (NULL_LENGTH for null) then UTF-8. */
export function stringFieldBytes(value: string | null): number {
  return 4 + (value === null ? 0 : Buffer.byteLength(value, 'utf8'));
}

/** Writes a string-or-null field; returns the offset after it. */
export function writeStringField(buf: Buffer, offset: number, value: string | null): number {
  if (value === null) {
    buf.writeUInt32LE(NULL_LENGTH, offset);
    return offset + 4;
  }
  const written = buf.write(value, offset + 4, 'utf8');
  buf.writeUInt32LE(written, offset);
  return offset + 4 + written;
}

/** A field read from a buffer: its value and the offset after it. */
export interface Read<T> {
  readonly value: T;
  readonly next: number;
}

/** Reads a string-or-null field, or undefined when it runs past `end` (a malformed payload). */
export function readStringField(buf: Buffer, offset: number, end: number): Read<string | null> | undefined {
  if (offset + 4 > end) return undefined;
  const length = buf.readUInt32LE(offset);
  if (length === NULL_LENGTH) return { value: null, next: offset + 4 };
  if (offset + 4 + length > end) return undefined;
  return { value: buf.toString('utf8', offset + 4, offset + 4 + length), next: offset + 4 + length };
}
