/**
 * What the report renderers share: which rules a report says were broken, how a rule's missing
 * evidence reads, the expected-vs-actual diff, and one event as one line.
 */
import type { RuleId, TraceNeed } from '../../spec/rules.ts';
import type { CheckReport, LocatedEvent, RuleCoverage, Violation } from '../../traces/checker/types.ts';

/**
 * The rule IDs a report says were broken: those of its violations (all of them, also those cut by
 * --max-violations, as the coverage counts them) and CL-LIN when the history is not linearizable.
 * In catalog order (the coverage's), so the set prints the same every time.
 */
export function violatedRules(report: CheckReport): RuleId[] {
  const broken = new Set<RuleId>(report.violations.map((v) => v.rule));
  for (const c of report.coverage) if (c.violated > 0) broken.add(c.rule);
  if (report.linearizability.verdict === 'not-linearizable') broken.add('CL-LIN');
  const order = report.coverage.map((c) => c.rule);
  return [...broken].sort((a, b) => rank(order, a) - rank(order, b) || (a < b ? -1 : a > b ? 1 : 0));
}

function rank(order: readonly RuleId[], rule: RuleId): number {
  const i = order.indexOf(rule);
  return i === -1 ? order.length : i;
}

/**
 * How many violations the report stands for: those listed, or — when --max-violations cut the
 * list — the coverage's count; a non-linearizable history counts as one.
 */
export function violationCount(report: CheckReport): number {
  const rules = report.truncated
    ? report.coverage.filter((c) => c.rule !== 'CL-LIN').reduce((sum, c) => sum + c.violated, 0)
    : report.violations.filter((v) => v.rule !== 'CL-LIN').length;
  return Math.max(rules, report.violations.length) + (report.linearizability.verdict === 'not-linearizable' ? 1 : 0);
}

/** `persist+send or crash+init+persist`: a rule's alternatives of evidence, in words. */
export function describeNeeds(needs: readonly (readonly TraceNeed[])[]): string {
  return needs.map((alternative) => alternative.join('+')).join(' or ');
}

/** Why a rule was not checked: its reason when the checker gives one, else the evidence it lacks. */
export function notCheckableReason(c: RuleCoverage): string {
  if (c.reason !== undefined && c.reason !== '') return c.reason;
  return `needs: ${describeNeeds(c.needs)}`;
}

/** One differing field of expected vs actual; `undefined` on a side means the field is absent there. */
export interface FieldDiff {
  readonly path: string;
  readonly expected: unknown;
  readonly actual: unknown;
}

/**
 * The fields in which `expected` and `actual` differ, flattened to dotted paths
 * (`persisted.term`). Arrays and scalars are compared whole; fields equal on both sides are left
 * out. Two scalars (not objects) give one diff with path `""`.
 */
export function diffFields(expected: unknown, actual: unknown): FieldDiff[] {
  const out: FieldDiff[] = [];
  walk('', expected, actual, out);
  return out;
}

function walk(path: string, expected: unknown, actual: unknown, out: FieldDiff[]): void {
  if (isPlainObject(expected) && isPlainObject(actual)) {
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])];
    for (const key of keys) walk(path === '' ? key : `${path}.${key}`, expected[key], actual[key], out);
    return;
  }
  if (sameValue(expected, actual)) return;
  out.push({ path, expected, actual });
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value as compact JSON (`undefined` as `(absent)`). */
export function showValue(v: unknown): string {
  if (v === undefined) return '(absent)';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** `file:line` of a location. */
export function where(at: { readonly file: string; readonly line: number }): string {
  return `${at.file}:${at.line}`;
}

/** One event of context: `file:line  {"ev":…}` (the event as compact JSON, as it was read). */
export function contextLine(e: LocatedEvent): string {
  return `${where(e)}  ${showValue(e.event)}`;
}

/** The nodes a violation's context shows, in order of appearance, the violation's own node first. */
export function nodesInvolved(v: Violation): string[] {
  const nodes: string[] = v.node === undefined ? [] : [v.node];
  for (const e of v.context) {
    const node = (e.event as { node?: unknown }).node;
    if (typeof node === 'string' && !nodes.includes(node)) nodes.push(node);
  }
  return nodes;
}

/** Seconds for a summary: `0.012 s`, `1.5 s`. */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '? s';
  if (seconds < 10) return `${Number(seconds.toFixed(3))} s`;
  return `${Number(seconds.toFixed(1))} s`;
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
