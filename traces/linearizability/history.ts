/**
 * CL-LIN: building a client history from trace format v1 events (invoke / ok / fail / info).
 *
 * Pairing is by (client, opId): a client has at most one operation in flight. What the
 * events say maps onto the checker's statuses like this:
 * - `ok`   → `ok` (took effect once, between invoke and ok; a get's `value` is its output);
 * - `fail` → dropped: it definitely did not take effect, so it constrains nothing;
 * - `info` → `info`: it may take effect at any time after its invocation, or never;
 * - an invoke never completed → `pending`, the same as `info`.
 * Malformed pairings are input problems: they are returned as errors, never thrown, and the
 * history is built in the most permissive way (so they can never cause a false violation).
 */
import type { ClientId, OperationId } from '../../spec/schemas/client.ts';
import type { TraceEvent } from '../../spec/schemas/trace-events.ts';
import type { KvInput, KvOutput } from './models/kv.ts';
import type { HistoryOp } from './types.ts';

/** An input problem in the client history. */
export interface HistoryError {
  readonly line: number;
  /** Position of the offending event in the input array. */
  readonly position: number;
  readonly message: string;
}

export interface EventHistory {
  /** The operations, in invocation order; `call` and `ret` are positions in the input array. */
  readonly ops: readonly HistoryOp<KvInput, KvOutput>[];
  readonly errors: readonly HistoryError[];
  /** For each operation that completed with `ok` or `info`: the position of that event. */
  readonly completion: ReadonlyMap<HistoryOp<KvInput, KvOutput>, number>;
  /** How many client events (invoke / ok / fail / info) the input held. */
  readonly clientEvents: number;
}

interface Open {
  readonly client: ClientId;
  readonly opId: OperationId;
  readonly input: KvInput;
  readonly call: number;
  readonly line: number;
}

/**
 * Builds the CL-LIN history from events; events other than client events are skipped (they still
 * count as positions, so `call`/`ret` index straight into `events`).
 */
export function historyFromEvents(events: readonly { readonly line: number; readonly event: TraceEvent }[]): EventHistory {
  const ops: HistoryOp<KvInput, KvOutput>[] = [];
  const errors: HistoryError[] = [];
  const completion = new Map<HistoryOp<KvInput, KvOutput>, number>();
  const open = new Map<string, Open>();
  const used = new Map<string, number>(); // client+opId → line of its invoke
  let clientEvents = 0;

  const pending = (o: Open): HistoryOp<KvInput, KvOutput> => ({
    client: o.client,
    opId: o.opId,
    input: o.input,
    call: o.call,
    ret: undefined,
    status: 'pending',
    line: o.line,
  });

  events.forEach(({ line, event }, position) => {
    if (event.ev !== 'invoke' && event.ev !== 'ok' && event.ev !== 'fail' && event.ev !== 'info') return;
    clientEvents++;
    const client = clientKey(event.client);
    const who = `client ${JSON.stringify(event.client)}`;
    if (event.ev === 'invoke') {
      const opKey = `${client}#${typeof event.opId}:${String(event.opId)}`;
      const earlier = used.get(opKey);
      if (earlier !== undefined) {
        errors.push({ line, position, message: `CL-LIN: ${who} reuses opId ${JSON.stringify(event.opId)} (first invoked on line ${earlier}); an opId must be unique per client` });
      }
      used.set(opKey, line);
      const inFlight = open.get(client);
      if (inFlight !== undefined) {
        errors.push({
          line,
          position,
          message: `CL-LIN: ${who} invokes opId ${JSON.stringify(event.opId)} while opId ${JSON.stringify(inFlight.opId)} (line ${inFlight.line}) is still open; a client has one operation in flight — the open one is taken as outcome unknown`,
        });
        ops.push(pending(inFlight));
      }
      open.set(client, { client: event.client, opId: event.opId, input: event.op, call: position, line });
      return;
    }
    const inFlight = open.get(client);
    if (inFlight === undefined || inFlight.opId !== event.opId) {
      const expected = inFlight === undefined ? 'it has no open operation' : `its open operation is opId ${JSON.stringify(inFlight.opId)} (line ${inFlight.line})`;
      errors.push({ line, position, message: `CL-LIN: ${event.ev} for ${who} opId ${JSON.stringify(event.opId)} has no matching invoke: ${expected}; ignored` });
      return;
    }
    open.delete(client);
    if (event.ev === 'fail') return;
    const base = { client: inFlight.client, opId: inFlight.opId, input: inFlight.input, call: inFlight.call, line: inFlight.line, retLine: line };
    let op: HistoryOp<KvInput, KvOutput>;
    if (event.ev === 'info') {
      op = { ...base, ret: undefined, status: 'info' };
    } else {
      if (inFlight.input.kind === 'get' && event.value === undefined) {
        errors.push({ line, position, message: `CL-LIN: ok of a get (${who} opId ${JSON.stringify(event.opId)}) must carry value (a string, or null when the key is absent); its result is taken as unknown` });
      }
      op = { ...base, ret: position, status: 'ok', output: event.value === undefined ? {} : { value: event.value } };
    }
    ops.push(op);
    completion.set(op, position);
  });
  for (const o of open.values()) ops.push(pending(o));
  ops.sort((a, b) => a.call - b.call);
  return { ops, errors, completion, clientEvents };
}

/** Clients are compared by JSON identity: the integer 1 and the string "1" are different clients. */
function clientKey(client: ClientId): string {
  return `${typeof client}:${String(client)}`;
}
