/**
 * `checkTrace`: feed one or more traces (already read, validated and — under --merge — merged)
 * to the checker and return its report, or the input errors that make the trace unusable.
 * Input that is well-formed but impossible for Raft is a violation; input that is not a trace at
 * all (bad JSON, a bad field, a message received that was never sent, a node outside the cluster)
 * is an input error (exit 2).
 */
import type { TraceLine } from '../reader.ts';
import { TraceChecker } from './checker.ts';
import type { CheckReport, LinearizabilityResult, LocatedEvent } from './types.ts';

export interface CheckInput {
  readonly file: string;
  readonly lines: AsyncIterable<readonly TraceLine[]>;
}

export interface CheckOptions {
  readonly maxViolations?: number | undefined;
  readonly contextEvents?: number | undefined;
  /** CL-LIN over the client history; `false` skips it. */
  readonly linearizability?: { readonly model?: 'kv' | 'register' | 'list-append'; readonly budgetSteps?: number } | false | undefined;
  /** Input errors collected before giving up on the trace (default 20). */
  readonly maxInputErrors?: number | undefined;
  /** The linearizability checker (injected so that traces/checker does not depend on how it is built). */
  readonly linearizabilityChecker?: ((events: readonly LocatedEvent[], options: { model?: string; budgetSteps?: number }) => LinearizabilityResult) | undefined;
}

export interface InputError {
  readonly file: string;
  readonly line: number;
  readonly path: string;
  readonly message: string;
}

export type CheckOutcome =
  | { readonly kind: 'report'; readonly report: CheckReport }
  | { readonly kind: 'input-errors'; readonly errors: readonly InputError[] };

/** A clock for the report's duration only: injected, so the checker itself reads none. */
export type Clock = () => number;

export async function checkTrace(inputs: readonly CheckInput[], options: CheckOptions = {}, clock: Clock = () => 0): Promise<CheckOutcome> {
  const started = clock();
  const lin = options.linearizability;
  const linChecker = options.linearizabilityChecker;
  const checker = new TraceChecker({
    maxViolations: options.maxViolations,
    contextEvents: options.contextEvents,
    linearizability:
      lin === false || linChecker === undefined
        ? undefined
        : (events) => linChecker(events, { ...(lin?.model === undefined ? {} : { model: lin.model }), ...(lin?.budgetSteps === undefined ? {} : { budgetSteps: lin.budgetSteps }) }),
  });
  const maxInputErrors = options.maxInputErrors ?? 20;
  const errors: InputError[] = [];
  for (const input of inputs) {
    for await (const batch of input.lines) {
      for (const item of batch) {
        // A merged trace interleaves files: a line may name its own.
        const file = (item as { file?: string }).file ?? input.file;
        if ('error' in item) {
          if (errors.length < maxInputErrors) errors.push({ file, line: item.line, ...item.error });
          continue;
        }
        if (errors.length > 0) continue; // an unusable trace is not checked further, only read for its errors
        checker.feed({ file, line: item.line, event: item.event });
      }
    }
  }
  const found = [...errors, ...checker.errors].slice(0, maxInputErrors);
  if (found.length > 0) return { kind: 'input-errors', errors: found };
  return { kind: 'report', report: checker.finish((clock() - started) / 1000) };
}
