/**
 * `--merge`: several per-node trace files become one trace, ordered by `ts` (trace-format.md:
 * "Per-node files may be merged by `ts` before checking").
 *
 * A k-way merge over streams: each file is read batch by batch as it is consumed, so memory
 * stays bounded by one batch per file, not by the traces. Within one file the order of lines is
 * kept — it is that node's own order, and the merge never second-guesses it — so every file must
 * already be in `ts` order. The rules:
 *
 * - A `header` (only ever a file's first line) carries no time: every file's header comes first,
 *   in file order. Headers that disagree on the cluster are an input error — the files are not one
 *   cluster's.
 * - Every other event needs a `ts`. An event without one, or whose `ts` is smaller than the
 *   previous event's of the same file, is an input error naming its file and line (and is left out
 *   of the merged order).
 * - Equal `ts` across files (logical ticks, coarse clocks) are ordered so that a `recv` goes after
 *   the other events of that instant, then by file order, then line: a message's `send` and `recv`
 *   stamped with the same tick come out send first.
 * - Reader errors pass through as they come: a trace with any input error is not checked, so their
 *   position in the merged order does not matter, only that each names its file and line.
 */
import type { TraceEvent } from '../spec/schemas/trace-events.ts';
import type { TraceLine } from './reader.ts';

/** One input of the merge: a file's lines in batches, as `readTraceBatches` yields them. */
export interface MergeSource {
  readonly file: string;
  readonly lines: AsyncIterable<readonly TraceLine[]>;
}

/** A line of the merged trace, with the file it came from (line numbers stay those of that file). */
export type MergedLine = TraceLine & { readonly file: string };

export interface MergeOptions {
  /** Merged lines per yielded batch (default 1024). */
  readonly batchSize?: number;
}

/** The state of one input: its iterator and the batch being consumed. */
interface Cursor {
  readonly file: string;
  readonly order: number;
  readonly iterator: AsyncIterator<readonly TraceLine[]>;
  batch: readonly TraceLine[];
  position: number;
  done: boolean;
  /** The `ts` and line of the last event taken from this file (for the "going backwards" check). */
  lastTs: number | undefined;
  lastLine: number;
  /** The current head, once classified. */
  head: Head | undefined;
}

type Head =
  | { readonly kind: 'event'; readonly item: TraceLine & { readonly event: TraceEvent }; readonly ts: number; readonly rank: number }
  | { readonly kind: 'now'; readonly item: MergedLine };

/**
 * Merges `sources` by `ts`. Yields batches of merged lines; never throws for bad input (a file
 * that cannot be read rejects, as its own iterator does).
 */
export async function* mergeByTs(sources: readonly MergeSource[], options: MergeOptions = {}): AsyncGenerator<readonly MergedLine[]> {
  const batchSize = Math.max(1, options.batchSize ?? 1024);
  const cursors: Cursor[] = sources.map((s, order) => ({
    file: s.file,
    order,
    iterator: s.lines[Symbol.asyncIterator](),
    batch: [],
    position: 0,
    done: false,
    lastTs: undefined,
    lastLine: 0,
    head: undefined,
  }));
  try {
    let out: MergedLine[] = [];

    // Headers first: each file's first line, if it is a header.
    let firstHeader: { readonly file: string; readonly cluster: readonly string[] } | undefined;
    for (const c of cursors) {
      const item = await peek(c);
      if (item === undefined || !('event' in item) || item.event.ev !== 'header') continue;
      take(c);
      const cluster = item.event.cluster;
      if (firstHeader === undefined) {
        firstHeader = { file: c.file, cluster };
        out.push({ ...item, file: c.file });
      } else if (!sameMembers(cluster, firstHeader.cluster)) {
        out.push({
          file: c.file,
          line: item.line,
          error: {
            path: '$.cluster',
            message: `the header's cluster ${JSON.stringify(cluster)} differs from ${JSON.stringify(firstHeader.cluster)} in ${firstHeader.file}: --merge merges the files of one cluster`,
          },
        });
      } else {
        out.push({ ...item, file: c.file });
      }
    }

    for (;;) {
      let best: Cursor | undefined;
      let passThrough: MergedLine | undefined;
      for (const c of cursors) {
        // Awaiting only when a cursor's batch is used up keeps the per-line cost synchronous.
        if (c.head === undefined && c.position >= c.batch.length && !c.done) await peek(c);
        const head = classify(c);
        if (head === undefined) continue;
        if (head.kind === 'now') {
          // An error to pass through: no ordering needed.
          take(c);
          passThrough = head.item;
          break;
        }
        if (best === undefined || before(head, c, best)) best = c;
      }
      if (passThrough !== undefined) {
        out.push(passThrough);
      } else if (best === undefined) {
        break;
      } else {
        const head = best.head as Head & { kind: 'event' };
        take(best);
        best.lastTs = head.ts;
        best.lastLine = head.item.line;
        out.push({ ...head.item, file: best.file });
      }
      if (out.length >= batchSize) {
        yield out;
        out = [];
      }
    }
    if (out.length > 0) yield out;
  } finally {
    // Stopped early (or failed): release the inputs that are still open (file handles).
    await Promise.all(cursors.filter((c) => !c.done).map((c) => c.iterator.return?.()));
  }
}

/** The next unconsumed line of a cursor, reading its next batch when needed. */
async function peek(c: Cursor): Promise<TraceLine | undefined> {
  while (c.position >= c.batch.length) {
    if (c.done) return undefined;
    const next = await c.iterator.next();
    if (next.done === true) {
      c.done = true;
      return undefined;
    }
    c.batch = next.value;
    c.position = 0;
  }
  return c.batch[c.position];
}

function take(c: Cursor): void {
  c.position++;
  c.head = undefined;
}

/**
 * Classifies a cursor's head (once, from its loaded batch): an orderable event, or something to
 * emit at once; undefined when the cursor is exhausted.
 */
function classify(c: Cursor): Head | undefined {
  if (c.head !== undefined) return c.head;
  const item = c.batch[c.position];
  if (item === undefined) return undefined;
  if ('error' in item) {
    c.head = { kind: 'now', item: { ...item, file: c.file } };
    return c.head;
  }
  const ts = item.event.ts;
  if (ts === undefined) {
    c.head = {
      kind: 'now',
      item: { file: c.file, line: item.line, error: { path: '$.ts', message: `missing ts: --merge orders the files' events by ts, so every event but the header needs one` } },
    };
    return c.head;
  }
  if (c.lastTs !== undefined && ts < c.lastTs) {
    c.head = {
      kind: 'now',
      item: {
        file: c.file,
        line: item.line,
        error: { path: '$.ts', message: `ts ${ts} is before ts ${c.lastTs} of line ${c.lastLine}: --merge needs each file in ts order` },
      },
    };
    return c.head;
  }
  c.head = { kind: 'event', item, ts, rank: item.event.ev === 'recv' ? 1 : 0 };
  return c.head;
}

/** Merge order: `ts`, then non-`recv` before `recv`, then file order (line order is the file's own). */
function before(head: Head & { kind: 'event' }, c: Cursor, best: Cursor): boolean {
  const other = best.head;
  if (other?.kind !== 'event') return true;
  if (head.ts !== other.ts) return head.ts < other.ts;
  if (head.rank !== other.rank) return head.rank < other.rank;
  return c.order < best.order;
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  const set = new Set(a);
  return set.size === new Set(b).size && b.every((x) => set.has(x));
}
