/**
 * Shared helpers for the storage tests: temporary directories, entries whose data says which
 * index and term they belong to, a fault-injecting file system, and copies of WAL directories.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { DurableState, Entry, HardState, Snapshot } from '../../../impl/core/types.ts';
import type { Storage } from '../../../impl/storage/storage.ts';
import { nodeFs, type StorageFs } from '../../../impl/storage/fs-layer.ts';

/** A temporary root for one test file, removed after its tests. */
export function tempRoot(prefix: string): () => string {
  const root = mkdtempSync(join(tmpdir(), `figure2-${prefix}-`));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  return () => join(root, `d${++n}`);
}

/** The data of entry `index` in term `term`: recognisable, and `size` characters long (at least the tag). */
export function dataFor(index: number, term: number, size = 0): string {
  const tag = `e${index}t${term}`;
  return size <= tag.length ? tag : `${tag}:${'x'.repeat(size - tag.length - 1)}`;
}

export function entry(index: number, term: number, size = 0): Entry {
  return { index, term, kind: 'command', data: dataFor(index, term, size) };
}

/** Entries from..to (inclusive) in `term`. */
export function entries(from: number, to: number, term: number, size = 0): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term, size));
  return out;
}

export function hardState(currentTerm: number, commitIndex = 0, votedFor: string | null = 'n1'): HardState {
  return { currentTerm, votedFor, commitIndex };
}

export function snapshotAt(index: number, term: number): Snapshot {
  return { lastIncludedIndex: index, lastIncludedTerm: term, voters: ['n1', 'n2', 'n3'], data: `state@${index}/${term}` };
}

/** Everything a storage holds, read through its interface (the whole log). */
export function durableView(s: Storage): DurableState {
  return { hardState: s.hardState(), snapshot: s.snapshot(), entries: s.entries(s.firstIndex(), s.lastIndex() + 1) };
}

/** Copies the files of `from` into a new directory `to` (flat: a storage directory has no subdirectories). */
export function copyDir(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) copyFileSync(join(from, name), join(to, name));
}

/** An errno-style error, as node:fs throws them. */
export function errno(code: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated, ${syscall}`), { code, syscall });
}

/** A file system that behaves like node:fs except where `overrides` say. */
export function faultyFs(overrides: Partial<StorageFs>): StorageFs {
  return { ...nodeFs, ...overrides };
}

/** A crash at a named step: thrown by a step hook. */
export class SimulatedCrash extends Error {
  override readonly name = 'SimulatedCrash';
}
