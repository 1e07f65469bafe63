/**
 * The human report of `figure2 check`: every violation with its rule, where, what, expected vs
 * actual and the events that led to it; a summary line; the per-rule coverage table; the
 * linearizability verdict. Plain text (no colour), so it reads the same in a terminal, a CI log
 * and a file.
 */
import type { CheckReport, LinearizabilityResult, RuleCoverage, Violation } from '../../traces/checker/types.ts';
import { contextLine, diffFields, formatSeconds, nodesInvolved, notCheckableReason, plural, showValue, violatedRules, violationCount, where } from './common.ts';

export interface TextReportOptions {
  /** Leave out the coverage table (it is 40 lines). Default false. */
  readonly coverage?: boolean;
}

/** The whole report as text, ending with a newline. */
export function renderText(report: CheckReport, options: TextReportOptions = {}): string {
  const out: string[] = [];
  report.violations.forEach((v, i) => {
    out.push(...renderViolation(v, i + 1), '');
  });
  if (report.truncated) {
    out.push(`(--max-violations: the first ${plural(report.violations.length, 'violation')} of ${violationCount(report) - linViolations(report)} shown; the coverage table counts them all)`, '');
  }
  out.push(summaryLine(report), '');
  if (options.coverage !== false) out.push(...renderCoverage(report.coverage), '');
  out.push(...renderLinearizability(report.linearizability));
  return `${out.join('\n')}\n`;
}

function linViolations(report: CheckReport): number {
  return report.linearizability.verdict === 'not-linearizable' ? 1 : 0;
}

/** One violation: a headline, the rule, the message, the diff, the context. */
export function renderViolation(v: Violation, n?: number): string[] {
  const head = `${n === undefined ? '' : `${n}. `}${v.rule} violated at ${where(v.at)}${v.node === undefined ? '' : ` (node ${v.node})`}`;
  const out = [head, `   rule: ${v.statement}`, `   ${v.message}`];
  if (v.expected !== undefined || v.actual !== undefined) {
    const diffs = diffFields(v.expected, v.actual);
    if (diffs.length > 0) {
      out.push('   expected (-) vs actual (+):');
      for (const d of diffs) {
        const label = d.path === '' ? '' : `${d.path}: `;
        out.push(`     - ${label}${showValue(d.expected)}`, `     + ${label}${showValue(d.actual)}`);
      }
    }
  }
  if (v.context.length > 0) {
    const nodes = nodesInvolved(v);
    out.push(`   context${nodes.length === 0 ? '' : ` (last events of ${nodes.join(', ')})`}:`);
    for (const e of v.context) {
      const mark = e.file === v.at.file && e.line === v.at.line ? '>' : ' ';
      out.push(`   ${mark} ${contextLine(e)}`);
    }
  }
  return out;
}

/** `1784 events, 3 nodes, 2 violations (rules AE-3, P-1) in 0.12 s`. */
export function summaryLine(report: CheckReport): string {
  const count = violationCount(report);
  const rules = violatedRules(report);
  const found = count === 0 ? 'no violations' : `${plural(count, 'violation')} (${rules.length === 1 ? 'rule' : 'rules'} ${rules.join(', ')})`;
  return `${plural(report.events, 'event')}, ${plural(report.nodes.length, 'node')}, ${found} in ${formatSeconds(report.seconds)}`;
}

/** The per-rule table: checked N, violated M — or why not checkable. */
export function renderCoverage(coverage: readonly RuleCoverage[]): string[] {
  const width = Math.max(4, ...coverage.map((c) => c.rule.length));
  const out = [`${'rule'.padEnd(width)}  ${'checked'.padStart(9)}  ${'violated'.padStart(9)}`];
  for (const c of coverage) {
    if (!c.checkable) {
      out.push(`${c.rule.padEnd(width)}  not checkable (${notCheckableReason(c)})`);
      continue;
    }
    const flag = c.violated > 0 ? '  VIOLATED' : '';
    out.push(`${c.rule.padEnd(width)}  ${String(c.checked).padStart(9)}  ${String(c.violated).padStart(9)}${flag}`);
  }
  return out;
}

/** The CL-LIN verdict, with the operations that cannot be ordered when there are some. */
export function renderLinearizability(lin: LinearizabilityResult): string[] {
  const verdict: Record<LinearizabilityResult['verdict'], string> = {
    linearizable: 'linearizable',
    'not-linearizable': `NOT linearizable${lin.key === undefined ? '' : ` (key ${JSON.stringify(lin.key)})`}`,
    unknown: 'undecided (the search stopped before a verdict)',
    'no-history': 'no client history (no invoke/ok/fail/info events)',
  };
  const out = [`linearizability (CL-LIN): ${verdict[lin.verdict]}`];
  if (lin.message !== undefined && lin.message !== '') out.push(`   ${lin.message}`);
  for (const e of lin.operations ?? []) out.push(`     ${contextLine(e)}`);
  return out;
}
