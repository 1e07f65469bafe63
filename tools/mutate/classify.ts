/**
 * Reading a conformance failure: who detected it (the trace checker, the simulator's invariants,
 * an assertion of the implementation, the liveness phase, the linearizability checker), and
 * whether the verdict is the mutant's rule or a consequence its entry explains.
 */
import { RULE_IDS } from '../../spec/rules.ts';
import type { CampaignOutcome } from './worker.ts';
import type { Detector, Mutant, MutantResult, Verdict } from './types.ts';

/**
 * The runner reports the simulator's own violations (S-ES, S-SMS, liveness) as
 * `RULE at tick N: …` and the checker's as `… (event N)`; a CutFailure from an exception is rule
 * `assertion`; a thrown error that is not a violation at all is rule `error`.
 */
export function detectorOf(violation: { readonly rule: string; readonly message: string }): Detector {
  switch (violation.rule) {
    case 'assertion':
      return 'assertion';
    case 'error':
      return 'error';
    case 'liveness':
      return 'liveness';
    case 'CL-LIN':
      return 'linearizability';
  }
  if (/^\S+ at tick \d+:/.test(violation.message)) return 'simulator';
  return 'checker';
}

/** The rule an assertion's message cites, e.g. `… (M-COMMIT)`, if any. */
export function assertionRule(message: string): string | undefined {
  const ids = RULE_IDS as readonly string[];
  for (const m of message.matchAll(/\b([A-Z]{1,3}-[A-Z0-9]{1,6})\b/g)) if (ids.includes(m[1] as string)) return m[1];
  return undefined;
}

/** Whether `verdict` is the mutant's rule or one of its explained consequences. */
export function isExplained(mutant: Mutant, verdict: string): boolean {
  return verdict === mutant.rule || Object.hasOwn(mutant.consequences, verdict as Verdict);
}

/** A mutant's result from its campaign's outcome. */
export function resultOf(mutant: Mutant, nodes: number, outcome: CampaignOutcome): MutantResult {
  const base = { id: mutant.id, bug: mutant.bug, rule: mutant.rule, nodes, wallSeconds: outcome.wallSeconds };
  switch (outcome.kind) {
    case 'passed':
      return { ...base, status: 'survived', runs: outcome.runs, seconds: outcome.seconds };
    case 'timeout':
      return { ...base, status: 'timeout', error: `no verdict within ${outcome.wallSeconds.toFixed(0)} s` };
    case 'error':
      return { ...base, status: 'error', error: outcome.message };
    case 'failed': {
      const { failure } = outcome;
      const detector = detectorOf(failure);
      if (detector === 'error') return { ...base, status: 'error', error: `the suite crashed: ${failure.message}`, runs: outcome.runs, seed: failure.seed };
      return {
        ...base,
        status: 'killed',
        verdict: failure.rule,
        detector,
        assertionRule: detector === 'assertion' ? assertionRule(failure.message) : undefined,
        explained: isExplained(mutant, failure.rule),
        message: failure.message,
        runs: outcome.runs,
        seconds: outcome.seconds,
        shrunk: failure.shrunk,
        seed: failure.seed,
        replay: failure.replay,
      };
    }
  }
}
