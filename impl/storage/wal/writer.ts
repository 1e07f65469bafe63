/**
 * The WAL's write path: group commit over segment files.
 *
 * `append` places a batch's bytes at the log's logical end at once — so the caller knows where
 * every entry will live before a byte is written — and queues it. One flush runs at a time: it
 * takes every queued batch that is ready, writes them with one pwritev and one fdatasync, and
 * only then resolves their callers, in order. While it waits on the disk, new batches queue up
 * and form the next group: the more concurrent writers, the larger the groups, with no timer.
 *
 * When a batch would overflow the active segment, a rotation is queued before it: the segment
 * is already synced (every group is, before the next step), the next one is created complete —
 * header and a batch restating the snapshot marker and the hard state — under a temporary name,
 * fsynced, renamed, and the directory fsynced.
 *
 * A failed write or sync leaves the file in an unknown state (after a failed fsync the kernel
 * may have dropped the dirty pages: retrying would acknowledge data that is not on disk), so the
 * writer fails for good: the group and every queued batch are rejected, later appends too, and
 * the host must reopen — recovery then sees the damage as a torn tail. After a failed write it
 * still tries to cut the partial bytes off, so that nothing half-written stays behind.
 */
import { join } from 'node:path';
import { assert } from '../assert.ts';
import { fsError, StorageError } from '../errors.ts';
import { fsyncDir, writeAll, type StorageFs } from '../fs-layer.ts';
import type { StepHook } from '../steps.ts';
import { encodeSegmentHeader, SEGMENT_HEADER_BYTES, segmentFileName, TEMP_SUFFIX, type SegmentFile, type SegmentId } from './segment.ts';

export interface SegmentInfo extends SegmentFile {
  readonly path: string;
}

/** How a new segment starts: the index it starts at, and the batch restating the log's state. */
export interface SegmentStart {
  readonly firstIndex: number;
  readonly batch: Buffer;
}

/** Where a batch was placed, and its acknowledgement. */
export interface Placement {
  readonly seq: number;
  readonly offset: number;
  /** Resolves once the batch is synced (rejects if the write path failed). */
  readonly durable: Promise<void>;
}

export interface AppendOptions {
  /** The batch may be written only once this resolves (its snapshot file is durable). */
  readonly ready?: Promise<unknown> | undefined;
  /** Called, synchronously, if a rotation must come first: the log's state before this batch. */
  readonly start: () => SegmentStart;
  /** Called once the bytes are written (readable from the file), before the sync. */
  readonly onWritten?: (() => void) | undefined;
}

interface BatchItem {
  readonly kind: 'batch';
  readonly bytes: Buffer;
  readonly seq: number;
  readonly offset: number;
  readonly ready: Promise<unknown> | undefined;
  readonly onWritten: (() => void) | undefined;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

interface RotateItem {
  readonly kind: 'rotate';
  readonly segment: SegmentInfo;
  readonly batch: Buffer;
}

type Item = BatchItem | RotateItem;

/** A group commit writes at most this much at once (more waits for the next sync), bounding a write's size and latency. */
const GROUP_BYTES = 8 * 1024 * 1024;

export interface WalWriterOptions {
  readonly fs: StorageFs;
  readonly dir: string;
  readonly segmentBytes: number;
  readonly onStep?: StepHook | undefined;
}

/**
 * Creates segment `id` complete: temporary file with header and `batch`, fsync, rename,
 * directory fsync. A crash leaves either no segment (only a `.tmp`, deleted at open) or a whole one.
 */
export async function createSegment(options: WalWriterOptions, id: SegmentId, batch: Buffer): Promise<SegmentInfo> {
  const { fs: fsys, dir } = options;
  const name = segmentFileName(id);
  const path = join(dir, name);
  const temp = `${path}${TEMP_SUFFIX}`;
  try {
    const fd = await fsys.open(temp, 'w');
    try {
      await writeAll(fsys, fd, [encodeSegmentHeader(id), batch], 0);
      await fsys.fdatasync(fd);
    } finally {
      await fsys.close(fd);
    }
  } catch (err) {
    await fsys.unlink(temp).catch(() => undefined);
    throw fsError(err, { path: temp, action: 'create WAL segment' });
  }
  options.onStep?.('segment-temp-synced', temp);
  try {
    await fsys.rename(temp, path);
    await fsyncDir(fsys, dir);
  } catch (err) {
    throw fsError(err, { path, action: 'create WAL segment' });
  }
  options.onStep?.('segment-created', path);
  return { ...id, name, path };
}

export class WalWriter {
  /** Every segment, oldest first; the last is where the next batch goes (possibly still queued for creation). */
  private readonly segs: SegmentInfo[];
  /** The logical end: where the next appended byte goes. */
  private tailOffset: number;
  /** End of the active segment's start batch: a segment holding no more is never rotated away. */
  private tailStart: number;
  /** The segment being written, and where its synced bytes end. */
  private fd: number;
  private activeSeq: number;
  private durableEnd: number;
  private readonly queue: Item[] = [];
  private flushing = false;
  private failure: StorageError | undefined;
  private drained: (() => void)[] = [];

  /** A writer appending to `active` (the last of `segments`) from byte `end`, opened for writing as `fd`. */
  private constructor(private readonly options: WalWriterOptions, segments: readonly SegmentInfo[], fd: number, end: number) {
    const active = segments[segments.length - 1];
    assert(active !== undefined, 'WAL writer: no segment');
    this.segs = [...segments];
    this.fd = fd;
    this.activeSeq = active.seq;
    this.tailOffset = end;
    this.tailStart = end;
    this.durableEnd = end;
  }

  /** Appends to the last of `segments` from byte `end` (its whole batches end there). */
  static async open(options: WalWriterOptions, segments: readonly SegmentInfo[], end: number): Promise<WalWriter> {
    const active = segments[segments.length - 1];
    assert(active !== undefined && end >= SEGMENT_HEADER_BYTES, 'WAL writer: no segment to append to');
    let fd: number;
    try {
      fd = await options.fs.open(active.path, 'r+');
    } catch (err) {
      throw fsError(err, { path: active.path, action: 'open for writing' });
    }
    return new WalWriter(options, segments, fd, end);
  }

  get segments(): readonly SegmentInfo[] {
    return this.segs;
  }

  /** The segment holding `seq`. */
  segment(seq: number): SegmentInfo {
    const first = this.segs[0];
    const s = first === undefined ? undefined : this.segs[seq - first.seq];
    assert(s !== undefined && s.seq === seq, () => `WAL writer: no segment ${seq}`);
    return s;
  }

  /** The segment being written to (segments after it are queued for creation). */
  get activeSegment(): number {
    return this.activeSeq;
  }

  get failed(): StorageError | undefined {
    return this.failure;
  }

  /** Places `bytes` at the log's end and queues them; see the file comment. */
  append(bytes: Buffer, options: AppendOptions): Placement {
    if (this.failure !== undefined) {
      const failure = this.failure;
      return { seq: this.activeSeq, offset: this.tailOffset, durable: Promise.reject(failedError(failure)) };
    }
    const full = this.tailOffset + bytes.length > this.options.segmentBytes && this.tailOffset > this.tailStart;
    if (full && bytes.length > 0) this.queueRotation(options.start());
    const last = this.segs[this.segs.length - 1] as SegmentInfo;
    const offset = this.tailOffset;
    this.tailOffset += bytes.length;
    let resolve: () => void = () => undefined;
    let reject: (err: unknown) => void = () => undefined;
    const durable = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // The flusher awaits `ready`; this handler only keeps an early rejection from being reported as unhandled.
    options.ready?.catch(() => undefined);
    this.queue.push({ kind: 'batch', bytes, seq: last.seq, offset, ready: options.ready, onWritten: options.onWritten, resolve, reject });
    this.kick();
    return { seq: last.seq, offset, durable };
  }

  private queueRotation(start: SegmentStart): void {
    const last = this.segs[this.segs.length - 1] as SegmentInfo;
    const id = { seq: last.seq + 1, firstIndex: start.firstIndex };
    const name = segmentFileName(id);
    const segment: SegmentInfo = { ...id, name, path: join(this.options.dir, name) };
    this.segs.push(segment);
    this.queue.push({ kind: 'rotate', segment, batch: start.batch });
    this.tailOffset = SEGMENT_HEADER_BYTES + start.batch.length;
    this.tailStart = this.tailOffset;
  }

  /** Resolves once everything queued so far is synced (or the writer failed). */
  drain(): Promise<void> {
    if (this.queue.length === 0 && !this.flushing) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = true;
    // Start on a microtask, so that batches appended in the same tick share the first write.
    queueMicrotask(() => void this.flush());
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0 && this.failure === undefined) {
        const head = this.queue[0] as Item;
        if (head.kind === 'rotate') {
          this.queue.shift();
          await this.rotate(head);
          continue;
        }
        if (head.ready !== undefined) {
          try {
            await head.ready;
          } catch (err) {
            this.fail(err, head.seq);
            break;
          }
        }
        await this.writeGroup(this.takeGroup());
      }
    } finally {
      this.flushing = false;
      if (this.failure !== undefined) this.rejectQueued();
      const waiting = this.drained;
      this.drained = [];
      for (const done of waiting) done();
    }
  }

  /**
   * The queued batches up to the next rotation, the next batch still waiting on its snapshot
   * file, or GROUP_BYTES — taken with one splice (shifting one by one is quadratic in the queue).
   */
  private takeGroup(): BatchItem[] {
    let n = 0;
    let bytes = 0;
    for (let item = this.queue[0]; item !== undefined && item.kind === 'batch'; item = this.queue[++n]) {
      if (n > 0 && (item.ready !== undefined || bytes + item.bytes.length > GROUP_BYTES)) break;
      bytes += item.bytes.length;
    }
    return this.queue.splice(0, n) as BatchItem[];
  }

  private async writeGroup(group: readonly BatchItem[]): Promise<void> {
    const first = group[0];
    if (first === undefined) return;
    assert(first.seq === this.activeSeq && first.offset === this.durableEnd, () =>
      `WAL writer: batch placed at ${first.seq}:${first.offset}, the segment ends at ${this.activeSeq}:${this.durableEnd}`);
    const path = this.segment(this.activeSeq).path;
    const end = group.reduce((at, item) => at + item.bytes.length, first.offset);
    if (end === first.offset) {
      // Only empty batches (ordering barriers): everything before them is synced already.
      for (const item of group) item.resolve();
      return;
    }
    try {
      await writeAll(this.options.fs, this.fd, groupBuffers(group, end - first.offset), first.offset);
    } catch (err) {
      // Cut the partial write off (best effort: recovery would see it as a torn tail anyway).
      await this.options.fs.ftruncate(this.fd, first.offset).catch(() => undefined);
      this.fail(err, this.activeSeq, group);
      return;
    }
    for (const item of group) item.onWritten?.();
    try {
      await this.options.fs.fdatasync(this.fd);
    } catch (err) {
      this.fail(err, this.activeSeq, group, path);
      return;
    }
    this.durableEnd = end;
    for (const item of group) item.resolve();
  }

  private async rotate(item: RotateItem): Promise<void> {
    let created: SegmentInfo;
    let fd: number;
    try {
      created = await createSegment(this.options, item.segment, item.batch);
      fd = await this.options.fs.open(created.path, 'r+');
    } catch (err) {
      this.fail(err, item.segment.seq);
      return;
    }
    const old = this.fd;
    this.fd = fd;
    this.activeSeq = created.seq;
    this.durableEnd = SEGMENT_HEADER_BYTES + item.batch.length;
    await this.options.fs.close(old).catch(() => undefined);
  }

  private fail(err: unknown, seq: number, group: readonly BatchItem[] = [], path = this.segment(seq).path): void {
    const error = fsError(err, { path, action: 'write' });
    this.failure ??= error;
    for (const item of group) item.reject(error);
    this.rejectQueued();
  }

  private rejectQueued(): void {
    const failure = this.failure;
    if (failure === undefined) return;
    for (const item of this.queue.splice(0)) if (item.kind === 'batch') item.reject(failure);
  }

  /** Forgets segments before `seq` (their files deleted by the caller). */
  forgetBefore(seq: number): void {
    while ((this.segs[0]?.seq ?? seq) < seq && this.segs.length > 1) this.segs.shift();
  }

  /** Waits for the queue to drain, then closes the active segment. */
  async close(): Promise<void> {
    await this.drain();
    await this.options.fs.close(this.fd).catch(() => undefined);
  }
}

/**
 * The buffers of a group, for one pwritev. Many small batches are copied into one buffer first:
 * handing the kernel hundreds of tiny iovecs costs more (Node marshals each) than copying a few
 * dozen kilobytes; large batches go as they are.
 */
function groupBuffers(group: readonly BatchItem[], total: number): Buffer[] {
  if (group.length === 1 || total / group.length >= 4096) return group.map((i) => i.bytes);
  return [Buffer.concat(group.map((i) => i.bytes), total)];
}

/** The error later writes get once the write path has failed. */
export function failedError(cause: StorageError): StorageError {
  return new StorageError({
    kind: 'failed',
    path: cause.path,
    offset: cause.offset,
    cause,
    message: `the WAL stopped accepting writes after an earlier failure (${cause.message}); reopen the storage to recover`,
  });
}
