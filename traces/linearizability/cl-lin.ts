/**
 * CL-LIN for the trace checker: the client events of a v1 trace in, a `LinearizabilityResult`
 * (traces/checker/types.ts) out — so the main checker calls one function.
 */
import type { LinearizabilityResult, LocatedEvent } from '../checker/types.ts';
import { checkLinearizability } from './check.ts';
import { historyFromEvents } from './history.ts';
import { kvModel, type KvInput, type KvOutput } from './models/kv.ts';
import type { HistoryOp, LinOptions, LinResult, Model } from './types.ts';

/** An input problem in the client history, located. */
export interface LocatedHistoryError {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

export interface ClientHistoryCheck {
  readonly result: LinearizabilityResult;
  /** Pairing problems (a completion without invoke, two open invokes for one client, …): input errors. */
  readonly errors: readonly LocatedHistoryError[];
  /** The search's own result, with per-key statistics; undefined when there was no history. */
  readonly detail: LinResult<KvInput, KvOutput> | undefined;
}

/**
 * CL-LIN: checks the client history among `events` (other events are ignored) against the v1
 * key-value model. Never throws for bad input: pairing problems come back in `errors`, and the
 * check runs on what could be paired (the permissive reading, so no false violation).
 */
export function checkClientHistory(events: readonly LocatedEvent[], options: LinOptions = {}): ClientHistoryCheck {
  const history = historyFromEvents(events);
  const errors = history.errors.map((e) => ({ file: events[e.position]?.file ?? '', line: e.line, message: e.message }));
  if (history.clientEvents === 0) {
    return { result: { verdict: 'no-history', message: 'CL-LIN: the trace has no client events (invoke/ok/fail/info)' }, errors, detail: undefined };
  }
  const detail = checkLinearizability(history.ops, kvModel, options);
  const locate = (op: HistoryOp<KvInput, KvOutput>): LocatedEvent[] => {
    const positions = [op.call, history.completion.get(op)].filter((p): p is number => p !== undefined);
    return positions.flatMap((p) => (events[p] === undefined ? [] : [events[p]]));
  };
  return { result: toLinearizabilityResult(detail, kvModel, locate), errors, detail };
}

/**
 * Renders a `LinResult` as the checker's `LinearizabilityResult`. `locate` maps an operation to
 * its events (invoke, then completion); it is what ties the search's operations back to lines.
 */
export function toLinearizabilityResult<S, I, O>(
  result: LinResult<I, O>,
  model: Model<S, I, O>,
  locate: (op: HistoryOp<I, O>) => readonly LocatedEvent[],
): LinearizabilityResult {
  const opCount = result.keys.reduce((sum, k) => sum + k.operations, 0);
  switch (result.verdict) {
    case 'linearizable':
      return {
        verdict: 'linearizable',
        message: `CL-LIN: ${opCount} operations on ${result.keys.length} key${result.keys.length === 1 ? '' : 's'} are linearizable (${result.steps} search steps)`,
      };
    case 'unknown':
      return {
        verdict: 'unknown',
        message: `CL-LIN: undecided — the search ${result.reason === 'deadline' ? 'ran past its deadline' : `used its budget of ${result.steps} steps`} on key${result.undecided.length === 1 ? '' : 's'} ${result.undecided.map((k) => JSON.stringify(k)).join(', ')}`,
      };
    case 'not-linearizable': {
      const { key, operations, minimal, keyOperations } = result.violation;
      const located = operations.flatMap(locate).slice().sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
      return {
        verdict: 'not-linearizable',
        key,
        operations: located,
        message: describeViolation({ key, operations, minimal, keyOperations, model }),
      };
    }
  }
}

/** One sentence on the violation, listing the operations that cannot be ordered. */
export function describeViolation<S, I, O>(v: {
  readonly key: string;
  readonly operations: readonly HistoryOp<I, O>[];
  readonly minimal: boolean;
  readonly keyOperations: number;
  readonly model: Model<S, I, O>;
}): string {
  const show = (op: HistoryOp<I, O>): string => {
    const what = v.model.describe?.(op.input, op.status === 'ok' ? op.output : undefined) ?? JSON.stringify(op.input);
    const where = op.line === undefined ? '' : ` (line ${op.line}${op.retLine === undefined ? '' : `–${op.retLine}`})`;
    return `client ${JSON.stringify(op.client)}: ${what}${op.status === 'ok' ? '' : ` [${op.status}]`}${where}`;
  };
  const others = v.keyOperations - v.operations.length;
  const whatever = others > 0 ? `, whether or not any of the key's ${others} other operations took effect (each within its call)` : '';
  const minimal = v.minimal ? '; forgetting the outcome of any one of them makes the history linearizable' : '';
  return `CL-LIN: on key ${JSON.stringify(v.key)}, no order of these ${v.operations.length} operations agrees with both real time and a sequential ${v.model.name} model${whatever}${minimal}: ${v.operations.map(show).join('; ')}`;
}
