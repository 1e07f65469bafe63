/**
 * The trace checker's public types: what it reports. A violation is a proof from the events —
 * never a guess — with the rule it breaks, where, and the context that shows why.
 */
import type { RuleId, TraceNeed } from '../../spec/rules.ts';
import type { TraceEvent } from '../../spec/schemas/trace-events.ts';

/** Where an event came from. */
export interface Location {
  readonly file: string;
  /** 1-based line in `file`. */
  readonly line: number;
}

/** An event as the checker saw it, with its location. */
export interface LocatedEvent extends Location {
  readonly event: TraceEvent;
}

export interface Violation {
  readonly rule: RuleId;
  /** The rule's one-sentence statement, from the catalog. */
  readonly statement: string;
  /** Where the violating event is. */
  readonly at: Location;
  /** The node the violation is about, when there is one. */
  readonly node?: string | undefined;
  /** What happened, in one or two sentences, with the numbers. */
  readonly message: string;
  /** What the rule required and what the trace shows instead (a small state diff), when it applies. */
  readonly expected?: unknown;
  readonly actual?: unknown;
  /** The last few events of the nodes involved, oldest first, ending with the violating event. */
  readonly context: readonly LocatedEvent[];
}

/** Per rule: how often it was checked and violated, or why it could not be. */
export interface RuleCoverage {
  readonly rule: RuleId;
  readonly checked: number;
  readonly violated: number;
  /** False when the trace lacks the evidence the rule needs. */
  readonly checkable: boolean;
  /** When not checkable: the event kinds any one of which sets would make it checkable. */
  readonly needs: readonly (readonly TraceNeed[])[];
  /** Why a rule is not checked even with every event kind present (information a trace cannot carry). */
  readonly reason?: string | undefined;
}

/** Linearizability verdict for the client history (CL-LIN). */
export interface LinearizabilityResult {
  readonly verdict: 'linearizable' | 'not-linearizable' | 'unknown' | 'no-history';
  /** For a violation: the key and the smallest set of operations on it that cannot be ordered. */
  readonly key?: string | undefined;
  readonly operations?: readonly LocatedEvent[] | undefined;
  readonly message?: string | undefined;
}

export interface CheckReport {
  readonly files: readonly string[];
  readonly events: number;
  readonly nodes: readonly string[];
  readonly violations: readonly Violation[];
  /** True when --max-violations stopped the report (the check itself ran to the end). */
  readonly truncated: boolean;
  readonly coverage: readonly RuleCoverage[];
  readonly linearizability: LinearizabilityResult;
  readonly seconds: number;
}
