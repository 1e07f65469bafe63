/**
 * Clients of a real-time target, and the key-value state machine its adapter runs on top of the
 * target's committed commands. Every operation is recorded as `invoke` … `ok`/`fail`/`info` (the
 * history CL-LIN is checked on). A client has at most one operation in flight; an operation with
 * no answer within the timeout ends `info` (it may or may not take effect), as does one whose
 * node crashed under it.
 */
import type { ClientOperation } from '../../spec/schemas/client.ts';
import type { NodeId } from '../../spec/schemas/primitives.ts';
import type { TraceEvent } from '../../spec/schemas/trace-events.ts';

export type Outcome =
  | { readonly kind: 'ok'; readonly value?: string | null | undefined }
  | { readonly kind: 'fail'; readonly error: string }
  | { readonly kind: 'info'; readonly error: string };

export interface OpenOperation {
  readonly client: number;
  readonly clientId: string;
  readonly opId: number;
  readonly op: ClientOperation;
  /** The node the operation is at now (it moves on a redirect). */
  node: NodeId;
  readonly startedAt: number;
}

export class RealtimeClients {
  private readonly open = new Map<number, OpenOperation>();
  private nextOpId = 0;

  constructor(
    readonly count: number,
    private readonly emit: (event: TraceEvent) => void,
  ) {}

  idle(): number[] {
    const idle: number[] = [];
    for (let c = 0; c < this.count; c++) if (!this.open.has(c)) idle.push(c);
    return idle;
  }

  get pending(): number {
    return this.open.size;
  }

  operations(): IterableIterator<OpenOperation> {
    return this.open.values();
  }

  /** Starts an operation (the client must be idle): emits `invoke`. */
  begin(client: number, op: ClientOperation, node: NodeId): OpenOperation {
    if (this.open.has(client)) throw new Error(`client c${client + 1} already has an operation in flight`);
    const started: OpenOperation = { client, clientId: `c${client + 1}`, opId: ++this.nextOpId, op, node, startedAt: performance.now() };
    this.open.set(client, started);
    this.emit({ ev: 'invoke', client: started.clientId, opId: started.opId, op, node });
    return started;
  }

  /** Ends `operation` (if it is still the client's open one): emits ok, fail or info. */
  finish(operation: OpenOperation, outcome: Outcome): void {
    if (this.open.get(operation.client) !== operation) return;
    this.open.delete(operation.client);
    const { clientId: client, opId } = operation;
    if (outcome.kind === 'ok') {
      this.emit(operation.op.kind === 'get' ? { ev: 'ok', client, opId, value: outcome.value ?? null } : { ev: 'ok', client, opId });
    } else if (outcome.kind === 'fail') this.emit({ ev: 'fail', client, opId, error: outcome.error });
    else this.emit({ ev: 'info', client, opId, error: outcome.error });
  }

  /** Operations open for longer than `timeoutMs` end `info`. */
  expire(timeoutMs: number): void {
    const now = performance.now();
    for (const operation of [...this.open.values()]) {
      if (now - operation.startedAt > timeoutMs) this.finish(operation, { kind: 'info', error: `no answer within ${Math.round(timeoutMs)} ms` });
    }
  }

  /** Every open operation ends `info` (the cluster stops). */
  abandonAll(why: string): void {
    for (const operation of [...this.open.values()]) this.finish(operation, { kind: 'info', error: why });
  }
}

/** The result of applying an operation to a key-value replica. */
export type KvResult = { readonly kind: 'ok'; readonly value?: string | null } | { readonly kind: 'cas-mismatch'; readonly current: string | null };

/** Applies `op` to `store` (the state machine the adapters run on a target's committed commands). */
export function applyKv(store: Map<string, string>, op: ClientOperation): KvResult {
  switch (op.kind) {
    case 'get':
      return { kind: 'ok', value: store.get(op.key) ?? null };
    case 'put':
      store.set(op.key, op.value);
      return { kind: 'ok' };
    case 'delete':
      store.delete(op.key);
      return { kind: 'ok' };
    case 'cas': {
      const current = store.get(op.key) ?? null;
      if (current !== op.expected) return { kind: 'cas-mismatch', current };
      store.set(op.key, op.value);
      return { kind: 'ok' };
    }
  }
}

/** What a client is told for a KvResult: a cas that did not match is a `fail` (trace-format.md). */
export function outcomeOf(result: KvResult): Outcome {
  return result.kind === 'ok' ? { kind: 'ok', value: result.value } : { kind: 'fail', error: `cas mismatch: current ${JSON.stringify(result.current)}` };
}
