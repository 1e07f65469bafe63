/**
 * CL-LIN: checking a whole history — partition by key (P-compositionality), search the keys in
 * turns, shrink the first violation found.
 */
import { KeySearch, type SearchBudget, type SearchOutcome } from './search.ts';
import { shrinkViolation } from './shrink.ts';
import type { HistoryOp, KeyStats, LinOptions, LinResult, Model, UnknownReason } from './types.ts';

export const DEFAULT_MAX_STEPS = 5_000_000;
export const DEFAULT_SHRINK_MAX_STEPS = 10_000_000;

/**
 * Steps each undecided key gets per turn. Small enough that a cheap violation on one key is found
 * after a few turns of the others; large enough that switching keys costs nothing measurable.
 */
const SLICE_STEPS = 10_000;

/**
 * Steps one shrinking candidate may take: at least this, or ten times what finding the violation
 * took. Relaxing operations can make a refutation much dearer than the original one (the
 * list-append history c50-bad needs 1.1M steps for one candidate against 5.5k for detection).
 */
const SHRINK_CANDIDATE_MIN_STEPS = 2_000_000;

/**
 * CL-LIN: decides whether `history` is linearizable with respect to `model`.
 *
 * Linearizability is local (Herlihy & Wing 1990), so the history is split by `model.partition`
 * and each key is searched on its own. Keys are searched in turns, a slice of steps each, like
 * Porcupine's parallel partitions: refuting a key can need an exhaustive search, and one key's
 * cost says nothing about another's (in c50-bad one key is refuted in 5.5k steps while two
 * others need more than 20M — in key order the budget ran out first). The first key found not
 * linearizable is shrunk to a small set of operations that cannot be ordered and reported; when
 * the step budget or deadline runs out first, the verdict is `unknown`, never a guess.
 *
 * Throws RangeError only for a malformed operation (an `ok` one without a return time, or
 * returning before its call): a caller bug, not an input problem — `historyFromEvents` and the
 * Jepsen importer never build one.
 */
export function checkLinearizability<S, I, O>(history: readonly HistoryOp<I, O>[], model: Model<S, I, O>, options: LinOptions = {}): LinResult<I, O> {
  const now = options.now;
  const start = now?.();
  const deadline = start !== undefined && options.deadlineMs !== undefined ? start + options.deadlineMs : undefined;
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  const budget: SearchBudget = { steps: maxSteps, deadline, now };
  const partitions = [...partitionByKey(history, model)];
  const verdicts = new Map<string, SearchOutcome>();
  let active = partitions.filter(([key, ops]) => {
    // Without an `ok` operation there is nothing to contradict.
    if (ops.some((op) => op.status === 'ok')) return true;
    verdicts.set(key, 'linearizable');
    return false;
  });
  const searches = new Map(active.map(([key, ops]) => [key, new KeySearch(ops, model)]));
  const stats = (): KeyStats[] =>
    partitions.map(([key, ops]) => {
      const v = verdicts.get(key);
      return { key, operations: ops.length, steps: searches.get(key)?.steps ?? 0, verdict: v === 'linearizable' || v === 'not-linearizable' ? v : 'unknown' };
    });

  let reason: UnknownReason | undefined;
  // Every turn either decides a key or consumes a slice of the finite budget: bounded.
  while (active.length > 0 && reason === undefined) {
    const still: typeof active = [];
    for (const [key, ops] of active) {
      const outcome = searches.get(key)!.advance(budget, SLICE_STEPS);
      if (outcome === 'running') {
        still.push([key, ops]);
        continue;
      }
      verdicts.set(key, outcome);
      if (outcome === 'not-linearizable') {
        const detectSteps = searches.get(key)!.steps;
        const shrinkBudget: SearchBudget = { steps: options.shrinkMaxSteps ?? DEFAULT_SHRINK_MAX_STEPS, deadline, now };
        const candidateMaxSteps = Math.max(SHRINK_CANDIDATE_MIN_STEPS, 10 * detectSteps);
        const shrunk = options.shrink === false ? { operations: ops, minimal: false } : shrinkViolation(ops, model, shrinkBudget, { candidateMaxSteps });
        return {
          verdict: 'not-linearizable',
          violation: { key, operations: shrunk.operations, minimal: shrunk.minimal, keyOperations: ops.length },
          steps: maxSteps - budget.steps,
          keys: stats(),
        };
      }
      if (outcome !== 'linearizable') {
        reason = outcome;
        break;
      }
    }
    active = still;
  }
  const steps = maxSteps - budget.steps;
  if (reason !== undefined) {
    const undecided = partitions.map(([key]) => key).filter((key) => verdicts.get(key) !== 'linearizable');
    return { verdict: 'unknown', reason, undecided, steps, keys: stats() };
  }
  return { verdict: 'linearizable', steps, keys: stats() };
}

/** The history split by key, keys in order of first invocation, each key's operations in invocation order. */
export function partitionByKey<S, I, O>(history: readonly HistoryOp<I, O>[], model: Model<S, I, O>): Map<string, HistoryOp<I, O>[]> {
  const sorted = [...history].sort((a, b) => a.call - b.call);
  const out = new Map<string, HistoryOp<I, O>[]>();
  for (const op of sorted) {
    const key = model.partition(op.input);
    const list = out.get(key);
    if (list === undefined) out.set(key, [op]);
    else list.push(op);
  }
  return out;
}
