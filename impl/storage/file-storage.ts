/**
 * FileStorage: the durable `Storage` — a segmented WAL (wal/) with CRC-32C records and group
 * commit, and snapshot files (snapshot-file.ts), in one directory:
 *
 *   0000000000000001-0000000000000001.wal   segments, in log order (wal/segment.ts)
 *   snap-<index>-<term>.snap                the last K snapshots (default 2)
 *
 * Memory stays bounded: the log is not held in memory. A typed-array index (wal/log-index.ts)
 * says where each entry lives; a bounded LRU cache (entry-cache.ts) holds recent entries; the
 * others are read back synchronously from their segment when the core asks (`entries`). Entries
 * whose write is still queued are served from memory until they are in the file.
 *
 * Snapshots (installed by a batch, IS-6/IS-7, or taken by `compact`) take four steps, each
 * durable before the next: (1) the snapshot file — temporary, fsync, rename, directory fsync;
 * (2) a WAL record naming it, synced with the rest of its batch: from here on the snapshot is
 * the one in force; (3) the segments it wholly covers are deleted, oldest first; (4) snapshot
 * files beyond the last K are deleted. A crash between any two steps recovers consistently: the
 * WAL record decides which snapshot is in force (a newer file without its record was never
 * acknowledged, and open deletes it), and open finishes steps 3 and 4.
 *
 * A save or compact that fails (ENOSPC, EIO) fails the storage for good — reads still work, but
 * writes are refused until the host reopens it (wal/writer.ts says why).
 */
import { dirname, join } from 'node:path';
import type { Entry, HardState, Snapshot } from '../core/types.ts';
import { assert } from './assert.ts';
import { EntryCache } from './entry-cache.ts';
import { fsError, StorageError } from './errors.ts';
import { fsyncDir, fsyncDirSync, nodeFs, type StorageFs } from './fs-layer.ts';
import { checkRange, fitsBudget, isEmptyPlan, planBatch, planCompaction, type BatchPlan, type LogShape } from './log-plan.ts';
import { parseSnapshotFileName, snapshotFileName, writeSnapshotFile } from './snapshot-file.ts';
import type { StepHook } from './steps.ts';
import type { Storage, StorageBatch } from './storage.ts';
import { LogIndex } from './wal/log-index.ts';
import { decodeEntry, encodeBatch, type EncodedBatch, type SnapshotMarker, type WalRecord } from './wal/record.ts';
import { analyzeWal, EMPTY_HARD_STATE, type TornTail, type WalAnalysis } from './wal/recovery.ts';
import { DEFAULT_SEGMENT_BYTES, SEGMENT_HEADER_BYTES } from './wal/segment.ts';
import { createSegment, failedError, WalWriter, type Placement, type SegmentInfo, type SegmentStart, type WalWriterOptions } from './wal/writer.ts';

export interface FileStorageOptions {
  /** Segment size before rotation (a single larger batch gets a segment of its own). Default 64 MiB. */
  readonly segmentBytes?: number;
  /** Snapshot files kept (the one in force and older ones). Default 2. */
  readonly keepSnapshots?: number;
  /** Budget of the entry cache, in bytes of data (plus per-entry overhead). Default 8 MiB. */
  readonly cacheBytes?: number;
  /** Create the directory when missing. Default true. */
  readonly create?: boolean;
  /** The file system (tests inject faults). Default node:fs. */
  readonly fs?: StorageFs;
  /** Fault injection: called after each step of snapshots and rotations (steps.ts). */
  readonly onStep?: StepHook;
}

/** What open found and did. */
export interface RecoveryReport {
  readonly recordsReplayed: number;
  /** Bytes of torn tail cut off the last segment. */
  readonly bytesTruncated: number;
  readonly truncated: TornTail | undefined;
  readonly segments: number;
  readonly snapshotIndex: number;
  readonly lastIndex: number;
  /** Everything open repaired or cleaned up, one line each, for the log. */
  readonly warnings: readonly string[];
}

export interface FileStorageStats {
  /** Entries in the LRU cache (bounded by `cacheBytes`). */
  readonly cachedEntries: number;
  /** Entries saved whose bytes are not yet in the file (held until written). */
  readonly unwrittenEntries: number;
  /** Reads of entries from segment files since open. */
  readonly diskReads: number;
  readonly segments: number;
}

export const DEFAULT_KEEP_SNAPSHOTS = 2;
export const DEFAULT_CACHE_BYTES = 8 * 1024 * 1024;
const NOTHING = Buffer.alloc(0);
/** A disk read for a run of entries spans at most this much of a segment (bounded memory per read). */
const READ_SPAN_BYTES = 1024 * 1024;

/** Makes `dir` exist as a directory (creating it when allowed), or throws naming it. */
function ensureDirectory(fsys: StorageFs, dir: string, create: boolean): void {
  let isDirectory: boolean;
  try {
    isDirectory = fsys.statSync(dir).isDirectory();
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ENOENT' || !create) throw fsError(err, { path: dir, action: 'open the storage directory' });
    try {
      fsys.mkdirSync(dir);
      fsyncDirSync(fsys, dirname(dir));
    } catch (mkdirErr) {
      throw fsError(mkdirErr, { path: dir, action: 'create the storage directory' });
    }
    return;
  }
  if (!isDirectory) {
    throw new StorageError({ kind: 'unreadable', path: dir, message: `cannot open the storage directory ${dir}: it is a file, not a directory` });
  }
}

/** Cuts a torn tail off and removes leftovers; returns the warnings to report. */
function cleanUp(fsys: StorageFs, analysis: WalAnalysis): string[] {
  const warnings: string[] = [];
  const { dir, tail } = analysis;
  if (tail !== undefined) {
    try {
      const fd = fsys.openSync(tail.path, 'r+');
      try {
        fsys.ftruncateSync(fd, tail.offset);
        fsys.fsyncSync(fd);
      } finally {
        fsys.closeSync(fd);
      }
    } catch (err) {
      throw fsError(err, { path: tail.path, action: 'truncate the torn tail of' });
    }
    warnings.push(`truncated a torn tail of ${tail.bytes} bytes at byte ${tail.offset} of ${tail.path} (${tail.state}: ${tail.reason}): a write that was never acknowledged`);
  }
  const leftovers = [
    ...analysis.listing.temporaries.map((n) => ({ name: n, why: 'a temporary file from an interrupted write' })),
    ...analysis.orphanSnapshots.map((n) => ({ name: n, why: 'a snapshot written but never recorded in the WAL (not acknowledged)' })),
  ];
  for (const { name, why } of leftovers) {
    const path = join(dir, name);
    try {
      fsys.unlinkSync(path);
    } catch (err) {
      throw fsError(err, { path, action: 'remove' });
    }
    warnings.push(`removed ${path}: ${why}`);
  }
  if (leftovers.length > 0) fsyncDirSync(fsys, dir);
  return warnings;
}

export class FileStorage implements Storage {
  private hard: HardState;
  private snap: Snapshot | null;
  private snapIndex: number;
  private snapTerm: number;
  private last: number;
  private readonly index: LogIndex;
  private readonly cache: EntryCache;
  /** Entries whose bytes are not in the file yet (queued in the writer), by index. */
  private readonly unwritten = new Map<number, Entry>();
  /** The snapshot marker last synced: what recovery would find. */
  private durableMarker: SnapshotMarker | null;
  private readonly readFds = new Map<number, number>();
  private readBuffer = Buffer.alloc(64 * 1024);
  private releasing: Promise<void> = Promise.resolve();
  private closed = false;
  private diskReads = 0;

  private constructor(
    private readonly dir: string,
    private readonly fsys: StorageFs,
    private readonly writer: WalWriter,
    private readonly options: FileStorageOptions,
    analysis: WalAnalysis,
  ) {
    this.hard = analysis.hardState;
    this.snap = analysis.snapshot;
    this.snapIndex = analysis.marker?.index ?? 0;
    this.snapTerm = analysis.marker?.term ?? 0;
    this.last = analysis.lastIndex;
    this.index = analysis.index;
    this.durableMarker = analysis.marker;
    this.cache = new EntryCache(options.cacheBytes ?? DEFAULT_CACHE_BYTES);
    assert(this.index.first === this.snapIndex + 1 && this.index.last === this.last, () =>
      `file storage: recovered index ${this.index.first}..${this.index.last}, log ${this.snapIndex + 1}..${this.last}`);
  }

  /**
   * Opens (or creates) the storage in `dir`: recovers the WAL, cuts a torn tail, removes what
   * interrupted writes left, finishes an interrupted compaction. Throws a StorageError naming
   * the file (and byte offset) when the directory cannot be used: corruption, not a WAL,
   * permissions, I/O.
   */
  static async open(dir: string, options: FileStorageOptions = {}): Promise<{ storage: FileStorage; report: RecoveryReport }> {
    const fsys = options.fs ?? nodeFs;
    const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    assert(Number.isSafeInteger(segmentBytes) && segmentBytes >= 4096 && segmentBytes < 2 ** 32, () => `file storage: segmentBytes ${segmentBytes} (4 KiB ≤ size < 4 GiB)`);
    const keep = options.keepSnapshots ?? DEFAULT_KEEP_SNAPSHOTS;
    assert(Number.isSafeInteger(keep) && keep >= 1, () => `file storage: keepSnapshots ${keep} (≥ 1)`);
    ensureDirectory(fsys, dir, options.create ?? true);
    const analysis = analyzeWal(fsys, dir);
    const warnings = cleanUp(fsys, analysis);
    const writerOptions: WalWriterOptions = { fs: fsys, dir, segmentBytes, onStep: options.onStep };
    let segments: SegmentInfo[] = analysis.segments.map((s) => ({ seq: s.seq, firstIndex: s.firstIndex, name: s.name, path: s.path }));
    let end = analysis.segments[analysis.segments.length - 1]?.end ?? 0;
    if (segments.length === 0) {
      const start = encodeBatch([{ type: 'hard-state', hardState: EMPTY_HARD_STATE }]).bytes;
      segments = [await createSegment(writerOptions, { seq: 1, firstIndex: 1 }, start)];
      end = SEGMENT_HEADER_BYTES + start.length;
    }
    const writer = await WalWriter.open(writerOptions, segments, end);
    const storage = new FileStorage(dir, fsys, writer, options, analysis);
    try {
      await storage.release();
    } catch (err) {
      await storage.close();
      throw err;
    }
    const report: RecoveryReport = {
      recordsReplayed: analysis.records,
      bytesTruncated: analysis.tail?.bytes ?? 0,
      truncated: analysis.tail,
      segments: writer.segments.length,
      snapshotIndex: storage.snapIndex,
      lastIndex: storage.last,
      warnings,
    };
    return { storage, report };
  }

  // -------------------------------------------------------------------------------------------
  // LogReader

  firstIndex(): number {
    return this.snapIndex + 1;
  }

  lastIndex(): number {
    return this.last;
  }

  term(index: number): number | undefined {
    if (index === this.snapIndex) return this.snapTerm;
    return this.index.has(index) ? this.index.term(index) : undefined;
  }

  entries(lo: number, hi: number, maxBytes = Number.POSITIVE_INFINITY): readonly Entry[] {
    checkRange(lo, hi, this.firstIndex(), this.last);
    const out: Entry[] = [];
    let bytes = 0;
    let i = lo;
    while (i < hi) {
      const inMemory = this.unwritten.get(i) ?? this.cache.get(i);
      const run = inMemory === undefined ? this.readRun(i, hi, maxBytes - bytes) : [inMemory];
      for (const e of run) {
        if (!fitsBudget(out.length, bytes, e, maxBytes)) return out;
        out.push(e);
        bytes += e.data.length;
        i++;
      }
    }
    return out;
  }

  hardState(): HardState {
    return this.hard;
  }

  snapshot(): Snapshot | null {
    return this.snap;
  }

  /** What memory holds and what reads cost, for tests and operators. */
  stats(): FileStorageStats {
    return { cachedEntries: this.cache.size, unwrittenEntries: this.unwritten.size, diskReads: this.diskReads, segments: this.writer.segments.length };
  }

  /** Entries from `from` (not in memory) read from their segment in one read, and cached. */
  private readRun(from: number, hi: number, budget: number): Entry[] {
    const seq = this.index.seq(from);
    const start = this.index.position(from);
    let to = from;
    let end = start + this.index.size(from);
    let data = this.index.size(from);
    // Extend over following entries of the same segment that are not in memory, within the span and budget.
    while (to + 1 < hi && this.index.seq(to + 1) === seq && !this.unwritten.has(to + 1) && !this.cache.has(to + 1)) {
      const next = this.index.position(to + 1) + this.index.size(to + 1);
      if (next - start > READ_SPAN_BYTES || data > budget) break;
      to++;
      end = next;
      data += this.index.size(to);
    }
    const length = end - start;
    if (this.readBuffer.length < length) this.readBuffer = Buffer.alloc(Math.max(length, this.readBuffer.length * 2));
    const fd = this.readFd(seq);
    const path = this.writer.segment(seq).path;
    this.diskReads++;
    let got = 0;
    try {
      while (got < length) {
        const n = this.fsys.readSync(fd, this.readBuffer, got, length - got, start + got);
        if (n === 0) break;
        got += n;
      }
    } catch (err) {
      throw fsError(err, { path, action: 'read entries from' });
    }
    if (got < length) {
      throw new StorageError({ kind: 'corruption', path, offset: start + got, message: `corrupt WAL: ${path} ends at byte ${start + got}, before entry ${to} (shortened while open?)` });
    }
    const run: Entry[] = [];
    for (let i = from; i <= to; i++) {
      const e = decodeEntry(this.readBuffer, this.index.position(i) - start, i);
      assert(e.term === this.index.term(i), () => `file storage: entry ${i} read back with term ${e.term}, indexed with ${this.index.term(i)}`);
      this.cache.set(e);
      run.push(e);
    }
    return run;
  }

  private readFd(seq: number): number {
    let fd = this.readFds.get(seq);
    if (fd !== undefined) return fd;
    if (this.closed) throw new StorageError({ kind: 'closed', path: this.dir, message: `the storage in ${this.dir} is closed` });
    const path = this.writer.segment(seq).path;
    try {
      fd = this.fsys.openSync(path, 'r');
    } catch (err) {
      throw fsError(err, { path, action: 'open for reading' });
    }
    this.readFds.set(seq, fd);
    return fd;
  }

  // -------------------------------------------------------------------------------------------
  // Writes

  save(batch: StorageBatch): Promise<void> {
    const unusable = this.unusable();
    if (unusable !== undefined) return Promise.reject(unusable);
    return this.write(planBatch(this.shape(), batch));
  }

  compact(snapshot: Snapshot): Promise<void> {
    const unusable = this.unusable();
    if (unusable !== undefined) return Promise.reject(unusable);
    const plan = planCompaction(this.shape(), snapshot);
    return plan === undefined ? this.barrier() : this.write(plan);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer.close();
    await this.releasing.catch(() => undefined);
    for (const fd of this.readFds.values()) this.fsys.closeSync(fd);
    this.readFds.clear();
  }

  private unusable(): StorageError | undefined {
    if (this.closed) return new StorageError({ kind: 'closed', path: this.dir, message: `the storage in ${this.dir} is closed` });
    const failure = this.writer.failed;
    return failure === undefined ? undefined : failedError(failure);
  }

  /** The log as log-plan.ts sees it: one view, made once (saves are the hot path). */
  private readonly view: LogShape = ((self: FileStorage): LogShape => ({
    get snapshotIndex() {
      return self.snapIndex;
    },
    get lastIndex() {
      return self.last;
    },
    get hardState() {
      return self.hard;
    },
    term: (i) => self.term(i),
  }))(this);

  private shape(): LogShape {
    return this.view;
  }

  private readonly startOfSegment = (): SegmentStart => this.segmentStart();

  /** The records of a plan, in the order replay applies them. */
  private records(plan: BatchPlan, marker: SnapshotMarker | undefined): WalRecord[] {
    const records: WalRecord[] = [];
    if (marker !== undefined) records.push({ type: 'snapshot', marker });
    if (plan.truncateFrom !== undefined) records.push({ type: 'truncate', from: plan.truncateFrom });
    if (plan.entries.length > 0) records.push({ type: 'entries', entries: plan.entries });
    if (plan.hardState !== undefined) records.push({ type: 'hard-state', hardState: plan.hardState });
    return records;
  }

  /** How a new segment starts: the snapshot marker in force and the hard state, restated. */
  private segmentStart(): SegmentStart {
    const records: WalRecord[] = [];
    if (this.snap !== null) {
      records.push({ type: 'snapshot', marker: { index: this.snapIndex, term: this.snapTerm, keepSuffix: true, file: snapshotFileName(this.snap) } });
    }
    records.push({ type: 'hard-state', hardState: this.hard });
    return { firstIndex: this.last + 1, batch: encodeBatch(records).bytes };
  }

  /** Resolves once every save before it is durable, in order with them (a batch with nothing to write). */
  private barrier(): Promise<void> {
    return this.writer.append(NOTHING, { start: this.startOfSegment }).durable;
  }

  private write(plan: BatchPlan): Promise<void> {
    if (isEmptyPlan(plan)) return this.barrier();
    const step = plan.snapshot;
    const marker: SnapshotMarker | undefined =
      step === undefined ? undefined : { index: step.snapshot.lastIncludedIndex, term: step.snapshot.lastIncludedTerm, keepSuffix: step.keepSuffix, file: snapshotFileName(step.snapshot) };
    const encoded = encodeBatch(this.records(plan, marker));
    // The snapshot file must be durable before the WAL record naming it is written.
    const ready = step === undefined ? undefined : writeSnapshotFile({ fs: this.fsys, dir: this.dir, snapshot: step.snapshot, onStep: this.options.onStep });
    const entries = plan.entries;
    const placed = this.writer.append(encoded.bytes, {
      ready,
      start: this.startOfSegment,
      onWritten: entries.length === 0 ? undefined : () => this.written(entries),
    });
    this.apply(plan, placed, encoded);
    if (marker === undefined) return placed.durable;
    return placed.durable.then(async () => {
      this.options.onStep?.('marker-synced', this.writer.segment(placed.seq).path);
      this.durableMarker = marker;
      await this.release();
    });
  }

  /** Applies a plan to the in-memory view (reads see a batch as soon as it is saved). */
  private apply(plan: BatchPlan, placed: Placement, encoded: EncodedBatch): void {
    if (plan.snapshot !== undefined) {
      const s = plan.snapshot.snapshot;
      const at = s.lastIncludedIndex;
      if (plan.snapshot.keepSuffix) {
        this.index.dropThrough(at);
        this.cache.deleteThrough(at);
        for (const i of [...this.unwritten.keys()]) if (i <= at) this.unwritten.delete(i);
      } else {
        this.index.reset(at + 1);
        this.cache.clear();
        this.unwritten.clear();
        this.last = at;
      }
      this.snap = s;
      this.snapIndex = at;
      this.snapTerm = s.lastIncludedTerm;
    }
    if (plan.truncateFrom !== undefined) {
      const from = plan.truncateFrom;
      this.index.truncateFrom(from);
      this.cache.deleteFrom(from);
      for (const i of [...this.unwritten.keys()]) if (i >= from) this.unwritten.delete(i);
      this.last = from - 1;
    }
    plan.entries.forEach((e, k) => {
      this.index.append(e.index, placed.seq, placed.offset + (encoded.entryOffsets[k] as number), e.term, encoded.entrySizes[k] as number);
      this.unwritten.set(e.index, e);
      this.last = e.index;
    });
    if (plan.hardState !== undefined) this.hard = plan.hardState;
  }

  /** The entries' bytes are in the file: serve them from the cache (or disk) from now on. */
  private written(entries: readonly Entry[]): void {
    for (const e of entries) {
      // A later batch may have truncated or compacted the entry away meanwhile: only move our own.
      if (this.unwritten.get(e.index) !== e) continue;
      this.unwritten.delete(e.index);
      this.cache.set(e);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Compaction: releasing what the durable snapshot covers

  /** Deletes the segments and old snapshot files the durable snapshot makes unnecessary; one release at a time. */
  private release(): Promise<void> {
    const run = this.releasing.then(() => this.releaseNow());
    this.releasing = run.catch(() => undefined);
    return run;
  }

  private async releaseNow(): Promise<void> {
    const marker = this.durableMarker;
    if (marker === null) return;
    const segments = this.writer.segments;
    // The newest segment whose start the snapshot covers: every live entry before it is ≤ its
    // firstIndex − 1 (entries only leave the log from the end or the front), so those before it go.
    let keepFrom: number | undefined;
    for (const s of segments) if (s.seq <= this.writer.activeSegment && s.firstIndex - 1 <= marker.index) keepFrom = s.seq;
    if (keepFrom !== undefined && segments[0] !== undefined && segments[0].seq < keepFrom) {
      for (const s of segments.filter((x) => x.seq < (keepFrom as number))) {
        const fd = this.readFds.get(s.seq);
        if (fd !== undefined) {
          this.fsys.closeSync(fd);
          this.readFds.delete(s.seq);
        }
        await this.removeFile(s.path);
        this.writer.forgetBefore(s.seq + 1);
        this.options.onStep?.('segment-deleted', s.path);
      }
      await this.syncDir();
    }
    await this.pruneSnapshots(marker);
  }

  /** Keeps the K newest snapshot files up to the one in force; never touches newer ones (in flight). */
  private async pruneSnapshots(marker: SnapshotMarker): Promise<void> {
    let names: string[];
    try {
      names = this.fsys.readdirSync(this.dir);
    } catch (err) {
      throw fsError(err, { path: this.dir, action: 'list' });
    }
    const older = names
      .map(parseSnapshotFileName)
      .filter((s): s is NonNullable<typeof s> => s !== undefined && (s.index < marker.index || (s.index === marker.index && s.term <= marker.term)))
      .sort((a, b) => a.index - b.index || a.term - b.term);
    const doomed = older.slice(0, Math.max(0, older.length - (this.options.keepSnapshots ?? DEFAULT_KEEP_SNAPSHOTS)));
    for (const s of doomed) {
      assert(s.name !== marker.file, 'file storage: pruning the snapshot in force');
      const path = join(this.dir, s.name);
      await this.removeFile(path);
      this.options.onStep?.('snapshot-pruned', path);
    }
    if (doomed.length > 0) await this.syncDir();
  }

  private async removeFile(path: string): Promise<void> {
    try {
      await this.fsys.unlink(path);
    } catch (err) {
      throw fsError(err, { path, action: 'delete' });
    }
  }

  private async syncDir(): Promise<void> {
    try {
      await fsyncDir(this.fsys, this.dir);
    } catch (err) {
      throw fsError(err, { path: this.dir, action: 'fsync' });
    }
  }
}
