/**
 * The shapes of mutation testing: a mutant (a real Raft bug, written as AST edits of impl/), and
 * what running the conformance suite against it found.
 */
import type { SourceFile } from 'ts-morph';
import type { RuleId } from '../../spec/rules.ts';

/**
 * What the conformance runner can report besides a rule of the catalog: `liveness` (the healed
 * cluster did not converge), `assertion` (the implementation's own assertion fired: the core's,
 * the KV store's or the simulator's), `trace` (the checker could not read an event).
 */
export type Verdict = RuleId | 'liveness' | 'assertion' | 'trace';

/** One AST edit of one file of the repository. */
export interface Edit {
  /** Path relative to the repository root, e.g. `impl/core/raft-node.ts`. */
  readonly file: string;
  /** What the edit does, in one line (shown in reports and docs). */
  readonly describe: string;
  /**
   * Applies the edit to the file's AST. Throws `MutantNotApplicable` when the code it targets is
   * not there any more (the code moved): never a silent no-op.
   */
  readonly apply: (file: SourceFile) => void;
}

export interface Mutant {
  /** kebab-case, stable: `figure2 mutate --only ID`. */
  readonly id: string;
  /** The bug's number in shared/design/bug-catalog.md (B01 …). */
  readonly bug: string;
  /** One line: what the mutated code does. */
  readonly title: string;
  /** The rule the bug itself breaks. */
  readonly rule: RuleId;
  /**
   * Verdicts that a consequence of the bug may break first, each with why. A kill by `rule` or by
   * one of these is explained; any other verdict is reported as unexplained.
   */
  readonly consequences: Readonly<Partial<Record<Verdict, string>>>;
  /** The real-world story, one or two sentences. */
  readonly story: string;
  /** Where it was reported (issues, PRs, papers, guides). */
  readonly sources: readonly string[];
  /** Cluster size for its campaign (default 3), when the bug needs more nodes to matter — say why in `story` or `note`. */
  readonly nodes?: number;
  /** Why the campaign differs from the default, if it does. */
  readonly note?: string;
  readonly edits: readonly Edit[];
}

/** Thrown by an edit whose target is missing or ambiguous: the mutant no longer applies. */
export class MutantNotApplicable extends Error {
  override readonly name = 'MutantNotApplicable';
}

/** Who noticed: the online trace checker, the simulator's own invariants, an assertion of the implementation, the liveness phase, CL-LIN. */
export type Detector = 'checker' | 'simulator' | 'assertion' | 'liveness' | 'linearizability' | 'error';

export type MutantStatus =
  /** The suite reported a violation. */
  | 'killed'
  /** The whole run budget passed: a hole in the suite (or an equivalent mutant). */
  | 'survived'
  /** The campaign did not finish within the time limit (counted as detected, but flagged). */
  | 'timeout'
  /** The mutant could not be run: it no longer applies, does not type-check, or the child failed. */
  | 'error';

export interface MutantResult {
  readonly id: string;
  readonly bug: string;
  readonly rule: RuleId;
  readonly status: MutantStatus;
  /** The verdict that killed it (the violation's rule, `assertion`, `liveness` …). */
  readonly verdict?: string | undefined;
  readonly detector?: Detector | undefined;
  /** For an assertion: the rule ID its message cites, if any (`(M-COMMIT)`). */
  readonly assertionRule?: string | undefined;
  /** The kill is by `rule` or by an explained consequence. */
  readonly explained?: boolean | undefined;
  readonly message?: string | undefined;
  /** Runs made: to detection when killed, the whole budget when it survived. */
  readonly runs?: number | undefined;
  /** The conformance campaign's own seconds (to detection, shrinking included). */
  readonly seconds?: number | undefined;
  /** Wall-clock seconds of the worker process (start-up included). */
  readonly wallSeconds?: number | undefined;
  /** Seconds to apply the edits and type-check them (in the parent process). */
  readonly prepareSeconds?: number | undefined;
  /** Commands in the shrunk counterexample. */
  readonly shrunk?: number | undefined;
  /** The failing run's seed and the replay command (run in the mutant's copy: `--keep`). */
  readonly seed?: number | undefined;
  readonly replay?: string | undefined;
  readonly nodes: number;
  /** What went wrong, for `error` and `timeout`. */
  readonly error?: string | undefined;
  /** The mutant's copy of the repository, when kept. */
  readonly workdir?: string | undefined;
}

/** The campaign every mutant runs: a fixed seed and a run budget (fail-fast). */
export interface Campaign {
  readonly seed: number;
  readonly runs: number;
}

export interface MutationReport {
  readonly campaign: Campaign;
  /** The unmutated implementation on every run that killed a mutant: it must pass, or those kills mean nothing. */
  readonly baseline: readonly { readonly nodes: number; readonly ok: boolean; readonly runs: number; readonly seconds: number; readonly error?: string | undefined }[];
  readonly results: readonly MutantResult[];
  /** killed (+ timeouts) / (mutants − errors). */
  readonly score: number;
  readonly seconds: number;
  readonly jobs: number;
}
