/**
 * CL-LIN: shrinking a violation to a small set of operations that cannot be ordered.
 *
 * A key's sub-history that is not linearizable can have hundreds of operations; a person needs
 * the handful that contradict each other. The set reported must still prove the violation, and
 * plain deletion does not: deleting the write of 3 makes a perfectly good read of 3 look like a
 * read of a value never written, so greedy deletion "shrinks" every stale read down to that one
 * read, whatever the real problem was. The shrinker therefore only ever *relaxes* the history:
 * each step keeps "this is not linearizable" implying "the original is not linearizable".
 *
 * 1. Prefix. Cut the sub-history at the earliest completion time t such that the operations
 *    invoked by t — completed by t as they are, still running at t as outcome unknown — are not
 *    linearizable. Sound: a linearization of the whole history, restricted to its points up to t,
 *    linearizes that prefix; and monotone in t, so a binary search finds it.
 * 2. Relaxation (Zeller's ddmin, simplified). Forget the outcome of chunks of completed
 *    operations — each may or may not have taken effect, within its own call — halving the chunk
 *    size, keeping every relaxation after which no linearization exists; finish with single
 *    operations until a whole pass relaxes nothing.
 *
 * The operations still completed at the end are the report. They cannot be ordered on their own
 * (none of the relaxed ones taking effect is one of the behaviours allowed), nor whatever the
 * relaxed ones did within their calls; and — when `minimal` — forgetting the outcome of any one of
 * them (for a read: deleting it) lets the history be linearized. A stale read shrinks to the
 * write that completed before the read began and the read that missed it, a lost append to the
 * append and the read without it.
 *
 * Why relax within the call rather than "at any time after it" (as an `info` operation)? Both
 * are sound, but a relaxed write free to land anywhere later multiplies the states the search
 * must refute: on etcd_040 shrinking took about 30× longer and kept 4 operations instead of 2;
 * on the list-append history c50-bad it did not finish within its budget.
 */
import { KeySearch, type SearchBudget, type SearchOutcome } from './search.ts';
import type { HistoryOp, Model } from './types.ts';

export interface Shrunk<I, O> {
  /** Completed operations of the key, in invocation order, that cannot be ordered. */
  readonly operations: readonly HistoryOp<I, O>[];
  /** True when the final pass showed that relaxing any single one makes the history linearizable. */
  readonly minimal: boolean;
}

export interface ShrinkOptions {
  /**
   * Steps one candidate may take. A relaxation can turn a cheap refutation into an expensive one;
   * such a candidate is left undecided (the relaxation is not taken) rather than eating the budget.
   */
  readonly candidateMaxSteps?: number;
}

/**
 * Shrinks `ops`, a non-linearizable sub-history, within `budget`. The result is always a proof
 * (only relaxations whose refutation completed are taken); when the budget runs out the
 * operations found so far are returned with `minimal: false`.
 */
export function shrinkViolation<S, I, O>(
  ops: readonly HistoryOp<I, O>[],
  model: Model<S, I, O>,
  budget: SearchBudget,
  options: ShrinkOptions = {},
): Shrunk<I, O> {
  const cap = options.candidateMaxSteps ?? Number.POSITIVE_INFINITY;
  const refuted = (candidate: readonly HistoryOp<I, O>[]): SearchOutcome | 'running' =>
    candidate.some((op) => op.status === 'ok') ? new KeySearch(candidate, model).advance(budget, cap) : 'linearizable';

  const prefix = shortestRefutedPrefix(ops, refuted);
  const completed = prefix.filter((op) => op.status === 'ok');
  const unknown = prefix.filter((op) => op.status !== 'ok');
  // `kept`: the completed operations not (yet) relaxed, in invocation order.
  let kept = completed;
  let chunk = Math.max(1, Math.floor(kept.length / 2));
  const candidateFor = (stillKept: readonly HistoryOp<I, O>[]): HistoryOp<I, O>[] => {
    const strict = new Set(stillKept);
    // Operations of unknown outcome invoked after the last completion may always be left out.
    const end = Math.max(...stillKept.map((op) => op.ret ?? Number.NEGATIVE_INFINITY));
    return [...unknown, ...completed.map((op) => (strict.has(op) ? op : relax(op)))].filter((op) => op.call <= end).sort((a, b) => a.call - b.call);
  };
  // Each pass relaxes at least one operation or halves the chunk: at most 2·n + log n passes.
  for (let pass = 0; pass < 4 * ops.length + 64; pass++) {
    let relaxed = false;
    let undecided = false;
    for (let start = 0; start < kept.length; ) {
      const stillKept = [...kept.slice(0, start), ...kept.slice(start + chunk)];
      const outcome = refuted(candidateFor(stillKept));
      if (outcome === 'not-linearizable') {
        kept = stillKept;
        relaxed = true;
        continue;
      }
      if (outcome === 'step-budget' || outcome === 'deadline') return { operations: kept, minimal: false };
      if (outcome === 'running') undecided = true;
      start += chunk;
    }
    if (chunk === 1 && !relaxed) return { operations: kept, minimal: !undecided };
    if (chunk > 1) chunk = Math.max(1, Math.floor(chunk / 2));
  }
  return { operations: kept, minimal: false };
}

/**
 * The operation with its outcome forgotten: it may or may not have taken effect, and if it did,
 * then between its call and its return. Its output no longer constrains anything.
 */
export function relax<I, O>(op: HistoryOp<I, O>): HistoryOp<I, O> {
  return { ...op, status: 'info', output: undefined };
}

/** Still running: it may take effect at any time after its call, or never. */
function unfinished<I, O>(op: HistoryOp<I, O>): HistoryOp<I, O> {
  return { ...op, status: 'pending', ret: undefined, output: undefined };
}

/**
 * The operations invoked by time `t`: completed by `t` as they are, still running at `t` as
 * outcome unknown.
 */
export function prefixAt<I, O>(ops: readonly HistoryOp<I, O>[], t: number): HistoryOp<I, O>[] {
  return ops.filter((op) => op.call <= t).map((op) => (op.status !== 'ok' || (op.ret !== undefined && op.ret <= t) ? op : unfinished(op)));
}

/**
 * Binary search for the earliest completion time whose prefix is refuted. Only prefixes whose
 * refutation completed count. The prefix at the last completion is the whole history minus
 * operations of unknown outcome invoked after it — which may always be left out — so it is
 * refuted whenever the history is.
 */
function shortestRefutedPrefix<I, O>(ops: readonly HistoryOp<I, O>[], refuted: (ops: readonly HistoryOp<I, O>[]) => SearchOutcome | 'running'): HistoryOp<I, O>[] {
  const times = [...new Set(ops.flatMap((op) => (op.status === 'ok' && op.ret !== undefined ? [op.ret] : [])))].sort((a, b) => a - b);
  let lo = 0;
  let hi = times.length - 1;
  // Invariant: prefixAt(times[hi]) is refuted (or hi is the last time: the whole history).
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (refuted(prefixAt(ops, times[mid]!)) === 'not-linearizable') hi = mid;
    else lo = mid + 1;
  }
  const t = times[hi];
  return t === undefined ? [...ops] : prefixAt(ops, t);
}
