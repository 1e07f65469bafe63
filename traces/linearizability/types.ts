/**
 * CL-LIN: the types of the linearizability checker. A history is a list of operations, each with
 * the interval between its invocation and its completion; a model is a sequential specification
 * (an initial state and a step function). The history is linearizable when every completed
 * operation can be given one point inside its interval such that, in the order of those points,
 * the model accepts every operation with the output it returned (Herlihy & Wing 1990).
 */
import type { ClientId, OperationId } from '../../spec/schemas/client.ts';

/**
 * How an operation ended, as far as linearizability is concerned.
 * - `ok`: it completed with `output` at time `ret`; it took effect exactly once inside its interval.
 * - `info`: outcome unknown (timeout, crash): it may have taken effect at any time after `call`, or
 *   never, and its output is unconstrained.
 * - `pending`: invoked but never completed before the history ended; the same as `info`.
 *
 * Operations that definitely did not take effect (`fail`) are not part of a history at all.
 */
export type OpStatus = 'ok' | 'info' | 'pending';

/** One operation of a client history. */
export interface HistoryOp<I, O> {
  readonly client: ClientId;
  readonly opId: OperationId;
  readonly input: I;
  /** What the operation returned; present exactly when `status` is `ok`. */
  readonly output?: O | undefined;
  /** When it was invoked: a position in the event sequence (any number that orders events). */
  readonly call: number;
  /**
   * When it completed. Required for `ok` (invariant: `call <= ret`). For `info` and `pending`
   * operations normally `undefined`: their effect may land at any time after `call`. An `info`
   * operation with a `ret` is bounded — if it took effect, it did so by `ret`; the shrinker uses
   * this to forget an outcome without widening the operation's interval. Events at equal times
   * are taken to be concurrent (invocations before completions).
   */
  readonly ret: number | undefined;
  readonly status: OpStatus;
  /** Source line of the invocation, for reports. */
  readonly line?: number | undefined;
  /** Source line of the completion, for reports. */
  readonly retLine?: number | undefined;
}

/** The result of applying one operation to a model state. */
export interface StepResult<S> {
  /** False when the model could not have produced the operation's output from `state`. */
  readonly ok: boolean;
  readonly state: S;
}

/**
 * A sequential specification, in the shape Porcupine uses. States must be immutable values:
 * the search keeps old states to backtrack to and stores them in its cache.
 */
export interface Model<S, I, O> {
  readonly name: string;
  /** The state before any operation. */
  init(): S;
  /**
   * Applies `input` to `state`. `output` is what the operation returned, or `undefined` when it
   * is unknown (`info`/`pending`): then the step must accept (`ok: true`) and only compute the
   * state the operation would leave if it took effect.
   */
  step(state: S, input: I, output: O | undefined): StepResult<S>;
  /**
   * The independent object an operation touches (the key). Linearizability is local
   * (Herlihy & Wing, P-compositionality): a history is linearizable iff each key's sub-history is,
   * so each key is checked on its own — exponentially cheaper than checking them together.
   */
  partition(input: I): string;
  equal(a: S, b: S): boolean;
  /** A 32-bit hash consistent with `equal`. */
  hash(state: S): number;
  /**
   * Optional: true when the operation never changes the state (a read). Such an operation with
   * an unknown outcome can be left out of the search entirely — it constrains nothing.
   */
  readOnly?(input: I): boolean;
  /** A short human rendering of an operation, for messages (`put x=1`, `read → 3`). */
  describe?(input: I, output: O | undefined): string;
}

/** Bounds on the search, so that a pathological history yields `unknown` instead of hanging. */
export interface LinOptions {
  /** Model steps the whole check may take (shared by every key). Default 5,000,000. */
  readonly maxSteps?: number;
  /** Optional wall-clock deadline, read through `now` (checked every few thousand steps). */
  readonly deadlineMs?: number;
  /** The clock for `deadlineMs` (e.g. `performance.now`); without it there is no deadline. */
  readonly now?: () => number;
  /** Shrink a violation to a minimal set of operations (default true). */
  readonly shrink?: boolean;
  /** Model steps the shrinking may take in total. Default 10,000,000. */
  readonly shrinkMaxSteps?: number;
}

/** Why a check could not decide. */
export type UnknownReason = 'step-budget' | 'deadline';

/** Per-key work, for reports and benchmarks. */
export interface KeyStats {
  readonly key: string;
  readonly operations: number;
  readonly steps: number;
  readonly verdict: 'linearizable' | 'not-linearizable' | 'unknown';
}

/** The violation: a key and operations on it that admit no linearization. */
export interface LinViolation<I, O> {
  readonly key: string;
  /**
   * Completed operations that cannot be ordered, in invocation order: not linearizable on their
   * own, nor whatever the key's other operations did (each may or may not have taken effect
   * within its call). When `minimal` is true, forgetting the outcome of any one of them (for a
   * read: deleting it) makes the key's history linearizable. See shrink.ts for why operations are
   * relaxed rather than deleted.
   */
  readonly operations: readonly HistoryOp<I, O>[];
  readonly minimal: boolean;
  /** How many operations the key's sub-history had before shrinking. */
  readonly keyOperations: number;
}

/** The verdict of `checkLinearizability`. */
export type LinResult<I, O> =
  | { readonly verdict: 'linearizable'; readonly steps: number; readonly keys: readonly KeyStats[] }
  | {
      readonly verdict: 'not-linearizable';
      readonly violation: LinViolation<I, O>;
      readonly steps: number;
      readonly keys: readonly KeyStats[];
    }
  | {
      readonly verdict: 'unknown';
      readonly reason: UnknownReason;
      /** The keys the budget ran out on. */
      readonly undecided: readonly string[];
      readonly steps: number;
      readonly keys: readonly KeyStats[];
    };
