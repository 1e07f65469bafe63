/**
 * Trace output for simulations: every event, from the core's sink and from the simulator itself
 * (drops, crashes, client history), goes through one writer, in emission order, as NDJSON —
 * header first. The simulator is single-threaded and draws all randomness from its seed, so the
 * same seed and options give byte-identical output.
 *
 * The writer takes its I/O as a parameter (`write`), so the CLI can hand it a file, the bench a
 * write stream and tests an array. Lines are gathered into chunks of about `chunkChars`
 * characters before each `write`, which keeps the per-event cost to one JSON.stringify.
 *
 * Tracing off costs nothing here: a simulation without a writer passes no sink to anyone, and
 * every emitter checks for the sink before it builds an event object.
 */
import type { TraceEvent } from '../../spec/schemas/trace-events.ts';
import type { TraceSink } from '../../impl/core/types.ts';
import { assert } from './assert.ts';

export interface TraceWriterOptions {
  /** Receives whole lines, each ending in a newline, in order. */
  readonly write: (chunk: string) => void;
  /** Characters gathered before a write (default 64 Ki). */
  readonly chunkChars?: number | undefined;
  /** Stamp `ts` (the simulator's tick) on events that have none (default true). */
  readonly timestamps?: boolean | undefined;
}

export class NdjsonTraceWriter {
  /** The simulator's clock, in ticks; stamped as `ts` on the events written while it is set. */
  ts: number | undefined = undefined;
  /** The sink to hand to the core and the simulator's emitters. */
  readonly sink: TraceSink;
  private readonly write: (chunk: string) => void;
  private readonly chunkChars: number;
  private readonly timestamps: boolean;
  private buffer = '';
  private count = 0;
  /** Weak: a message's entry goes when the message does (delivered, lost or never sent again). */
  private readonly messageJsonCache = new WeakMap<object, string>();
  private closed = false;

  constructor(options: TraceWriterOptions) {
    this.write = options.write;
    this.chunkChars = options.chunkChars ?? 64 * 1024;
    this.timestamps = options.timestamps ?? true;
    assert(this.chunkChars >= 0, 'trace writer: chunkChars must be ≥ 0');
    this.sink = (event) => this.append(event);
  }

  /** Events written so far. */
  get events(): number {
    return this.count;
  }

  /** Writes one event as one line. */
  append(event: TraceEvent): void {
    assert(!this.closed, 'trace writer: event after close');
    const ts = this.timestamps && event.ts === undefined ? this.ts : undefined;
    let json: string;
    if ((event.ev === 'send' || event.ev === 'recv') && ownKeyCount(event) === 4) {
      // The fast path for the bulk of a trace: a message is serialized once, for its `send`,
      // and its JSON reused for its `recv` (and for every duplicate delivered).
      const peer = event.ev === 'send' ? `"to":${JSON.stringify(event.to)}` : `"from":${JSON.stringify(event.from)}`;
      const stamp = ts === undefined ? '' : `,"ts":${ts}`;
      json = `{"ev":"${event.ev}"${stamp},"node":${JSON.stringify(event.node)},${peer},"msg":${this.messageJson(event.msg)}}`;
    } else {
      json = JSON.stringify(event);
      if (ts !== undefined) json = withTs(json, ts);
    }
    this.buffer += `${json}\n`;
    this.count++;
    if (this.buffer.length >= this.chunkChars) this.flush();
  }

  /** A message's JSON, computed once per message object (the core never mutates a sent message). */
  private messageJson(msg: object): string {
    let json = this.messageJsonCache.get(msg);
    if (json === undefined) {
      json = JSON.stringify(msg);
      this.messageJsonCache.set(msg, json);
    }
    return json;
  }

  /** Hands what is buffered to `write`. */
  flush(): void {
    if (this.buffer.length === 0) return;
    const chunk = this.buffer;
    this.buffer = '';
    this.write(chunk);
  }

  /** Flushes; no event may follow. */
  close(): void {
    this.flush();
    this.closed = true;
  }
}

/** Own enumerable keys, counted without allocating an array. */
function ownKeyCount(event: object): number {
  let n = 0;
  for (const key in event) if (Object.hasOwn(event, key)) n++;
  return n;
}

/**
 * Inserts `"ts":N` right after the `ev` field, where a reader looks for it. The event types are
 * plain words (no commas), so when `ev` is the first field the first comma ends it.
 */
function withTs(json: string, ts: number): string {
  if (json.startsWith('{"ev":"')) {
    const comma = json.indexOf(',', 7);
    if (comma > 0) return `${json.slice(0, comma)},"ts":${ts}${json.slice(comma)}`;
  }
  return json.length > 2 ? `{"ts":${ts},${json.slice(1)}` : `{"ts":${ts}}`;
}

/** A writer that keeps its output in memory: for tests and for `--out` files written at the end. */
export function memoryTraceWriter(options: { readonly timestamps?: boolean | undefined } = {}): {
  readonly writer: NdjsonTraceWriter;
  /** The whole trace so far (flushes first). */
  readonly text: () => string;
} {
  const chunks: string[] = [];
  const writer = new NdjsonTraceWriter({ write: (chunk) => void chunks.push(chunk), timestamps: options.timestamps });
  return {
    writer,
    text: () => {
      writer.flush();
      return chunks.join('');
    },
  };
}
