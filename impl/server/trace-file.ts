/**
 * A node process's trace (trace format v1, NDJSON): events are buffered as the core emits them and
 * written with one synchronous write at each `flush` — which NodeHost calls after a Ready's events
 * and before its messages leave. A killed process therefore never leaves a peer holding a message
 * whose `send` is missing from the trace; what it loses is only what never left the node.
 *
 * Every event gets `ts`: wall-clock milliseconds with microsecond precision, so that the per-node
 * files of one machine merge by `ts` (`figure2 check --merge`) in an order consistent with causality.
 * A restarted node appends to its file; the header is written only into a new, empty file. A file
 * that already holds events gets a `crash` event first: whether the last run was killed or
 * stopped cleanly, its volatile state is gone, and that is what `crash` says (so the checker can
 * hold the `init` that follows to P-2: nothing persisted is lost).
 */
import { closeSync, fstatSync, openSync, writeSync } from 'node:fs';
import type { TraceEvent } from '../../spec/schemas/trace-events.ts';

export interface TraceFileOptions {
  readonly path: string;
  readonly cluster: readonly string[];
  /** The node whose trace this is (for the `crash` event of a restart). */
  readonly node: string;
  /** `source` in the header, e.g. "figure2 node n1". */
  readonly source: string;
  readonly meta?: Readonly<Record<string, unknown>> | undefined;
  /** The clock (ms); tests inject one. */
  readonly now?: (() => number) | undefined;
}

const wallClockMs = (): number => performance.timeOrigin + performance.now();

export class TraceFile {
  private readonly fd: number;
  private buffer: string[] = [];
  private readonly now: () => number;
  private lastTs = 0;

  constructor(options: TraceFileOptions) {
    this.now = options.now ?? wallClockMs;
    this.fd = openSync(options.path, 'a');
    if (fstatSync(this.fd).size === 0) {
      const header = { ev: 'header', format: 'raft-trace', version: 1, cluster: [...options.cluster], source: options.source, ...(options.meta === undefined ? {} : { meta: options.meta }) };
      writeSync(this.fd, `${JSON.stringify(header)}\n`);
    } else {
      this.sink({ ev: 'crash', node: options.node });
      this.flush();
    }
  }

  /** The sink to hand the core. */
  readonly sink = (event: TraceEvent): void => {
    // Never backwards within a file (the merge requires each file in ts order), even if the wall clock steps back.
    const ts = Math.max(this.lastTs, Math.round(this.now() * 1000) / 1000);
    this.lastTs = ts;
    this.buffer.push(JSON.stringify({ ...event, ts }));
  };

  /** Writes what is buffered, synchronously: on return it survives the process being killed. */
  flush(): void {
    if (this.buffer.length === 0) return;
    const text = `${this.buffer.join('\n')}\n`;
    this.buffer = [];
    writeSync(this.fd, text);
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}
