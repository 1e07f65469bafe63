/**
 * `figure2 check --junit FILE`: the report as JUnit XML, the format CI systems (GitLab, Jenkins,
 * GitHub test reporters) render as a test list. One test case per rule of the catalog
 * (classname `figure2.rules`, name `ID: statement`):
 * - passed: the rule was checked and holds;
 * - `<failure>`: violated — its violations listed with location, message, diff and context;
 * - `<skipped message="not checkable: …"/>`: the trace lacks the evidence (or no trace can carry it);
 * - CL-LIN undecided (the search budget ran out): skipped, with the checker's message.
 *
 * Everything from the trace is escaped, and characters XML 1.0 cannot carry at all (most control
 * characters, lone surrogates) are replaced by U+FFFD, so any trace gives a well-formed document.
 */
import { ruleById } from '../../spec/rules.ts';
import type { CheckReport, RuleCoverage, Violation } from '../../traces/checker/types.ts';
import { notCheckableReason, plural, violatedRules } from './common.ts';
import { renderLinearizability, renderViolation } from './text.ts';

export const JUNIT_CLASSNAME = 'figure2.rules';

type Outcome =
  | { readonly kind: 'pass' }
  | { readonly kind: 'failure'; readonly message: string; readonly body: string }
  | { readonly kind: 'skipped'; readonly message: string };

/** The report as a JUnit XML document (UTF-8), ending with a newline. */
export function renderJunit(report: CheckReport, suiteName = 'figure2 check'): string {
  const cases = report.coverage.map((c) => ({ coverage: c, outcome: outcomeOf(report, c) }));
  const failures = cases.filter((c) => c.outcome.kind === 'failure').length;
  const skipped = cases.filter((c) => c.outcome.kind === 'skipped').length;
  const time = secondsAttr(report.seconds);
  const counts = `tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${time}"`;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${attr(suiteName)}" ${counts}>`,
    `  <testsuite name="${JUNIT_CLASSNAME}" ${counts}>`,
    '    <properties>',
    `      <property name="files" value="${attr(report.files.join(' '))}"/>`,
    `      <property name="events" value="${report.events}"/>`,
    `      <property name="nodes" value="${attr(report.nodes.join(' '))}"/>`,
    `      <property name="violatedRules" value="${attr(violatedRules(report).join(' '))}"/>`,
    `      <property name="linearizability" value="${attr(report.linearizability.verdict)}"/>`,
    '    </properties>',
  ];
  for (const { coverage, outcome } of cases) {
    const statement = ruleById(coverage.rule).statement;
    const open = `    <testcase classname="${JUNIT_CLASSNAME}" name="${attr(`${coverage.rule}: ${statement}`)}" time="0"`;
    switch (outcome.kind) {
      case 'pass':
        out.push(`${open}/>`);
        break;
      case 'skipped':
        out.push(`${open}>`, `      <skipped message="${attr(outcome.message)}"/>`, '    </testcase>');
        break;
      case 'failure':
        out.push(`${open}>`, `      <failure message="${attr(outcome.message)}" type="${attr(coverage.rule)}">${text(outcome.body)}</failure>`, '    </testcase>');
        break;
    }
  }
  out.push('  </testsuite>', '</testsuites>');
  return `${out.join('\n')}\n`;
}

function outcomeOf(report: CheckReport, c: RuleCoverage): Outcome {
  if (c.rule === 'CL-LIN') {
    const lin = report.linearizability;
    switch (lin.verdict) {
      case 'linearizable':
        return { kind: 'pass' };
      case 'not-linearizable':
        return { kind: 'failure', message: `not linearizable${lin.key === undefined ? '' : ` (key ${JSON.stringify(lin.key)})`}`, body: renderLinearizability(lin).join('\n') };
      case 'unknown':
        return { kind: 'skipped', message: `undecided: ${lin.message ?? 'the linearizability search stopped before a verdict'}` };
      case 'no-history':
        return { kind: 'skipped', message: `not checkable: ${notCheckableReason(c)}` };
    }
  }
  const listed = report.violations.filter((v) => v.rule === c.rule);
  if (c.violated > 0 || listed.length > 0) {
    const total = Math.max(c.violated, listed.length);
    const first = listed[0];
    const shown = listed.length < total ? ` (${listed.length} listed: --max-violations)` : '';
    const message = `${plural(total, 'violation')}${first === undefined ? '' : `, first at ${first.at.file}:${first.at.line}`}${shown}`;
    return { kind: 'failure', message, body: listed.map((v: Violation, i) => renderViolation(v, i + 1).join('\n')).join('\n\n') };
  }
  if (!c.checkable) return { kind: 'skipped', message: `not checkable: ${notCheckableReason(c)}` };
  return { kind: 'pass' };
}

function secondsAttr(seconds: number): string {
  return Number.isFinite(seconds) && seconds >= 0 ? seconds.toFixed(3) : '0';
}

// Characters XML 1.0 allows: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
// The `u` flag makes the class work on code points, so a valid surrogate pair is one character and a
// lone surrogate is replaced.
const NOT_XML_CHAR = /[^\t\n\r\u{20}-\u{D7FF}\u{E000}-\u{FFFD}\u{10000}-\u{10FFFF}]/gu;

function clean(s: string): string {
  return s.replace(NOT_XML_CHAR, '\uFFFD');
}

/** Escaped for a double-quoted attribute value (newlines kept as character references). */
export function attr(s: string): string {
  return clean(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}

/** Escaped for element content. */
export function text(s: string): string {
  return clean(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
}
