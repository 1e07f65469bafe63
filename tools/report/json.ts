/**
 * `figure2 check --json`: the CheckReport as JSON, with a stable key order — the report's own
 * fields in the order of their types (traces/checker/types.ts), trace events with `ev` and `node`
 * first, any other object with its keys sorted — so two runs over the same trace print the same
 * bytes whatever order the checker built its objects in, and a diff of two reports shows only what
 * changed.
 */
import type { CheckReport, LinearizabilityResult, LocatedEvent, RuleCoverage, Violation } from '../../traces/checker/types.ts';
import type { InputError } from '../../traces/checker/check.ts';

/** The report as pretty-printed JSON (two-space indent), ending with a newline. */
export function renderJson(report: CheckReport): string {
  return `${JSON.stringify(canonicalReport(report), null, 2)}\n`;
}

/** Input errors (exit 2) in the same style: `{"inputErrors": [{file, line, path, message}]}`. */
export function renderInputErrorsJson(errors: readonly InputError[]): string {
  return `${JSON.stringify({ inputErrors: errors.map((e) => ({ file: e.file, line: e.line, path: e.path, message: e.message })) }, null, 2)}\n`;
}

/** The report rebuilt with its keys in a fixed order (undefined fields left out). */
export function canonicalReport(r: CheckReport): Record<string, unknown> {
  return {
    files: [...r.files],
    events: r.events,
    nodes: [...r.nodes],
    violations: r.violations.map(canonicalViolation),
    truncated: r.truncated,
    coverage: r.coverage.map(canonicalCoverage),
    linearizability: canonicalLinearizability(r.linearizability),
    seconds: r.seconds,
  };
}

function canonicalViolation(v: Violation): Record<string, unknown> {
  return compact({
    rule: v.rule,
    statement: v.statement,
    at: { file: v.at.file, line: v.at.line },
    node: v.node,
    message: v.message,
    expected: sortKeys(v.expected),
    actual: sortKeys(v.actual),
    context: v.context.map(canonicalLocated),
  });
}

function canonicalCoverage(c: RuleCoverage): Record<string, unknown> {
  return compact({
    rule: c.rule,
    checked: c.checked,
    violated: c.violated,
    checkable: c.checkable,
    needs: c.needs.map((alternative) => [...alternative]),
    reason: c.reason,
  });
}

function canonicalLinearizability(l: LinearizabilityResult): Record<string, unknown> {
  return compact({
    verdict: l.verdict,
    key: l.key,
    operations: l.operations?.map(canonicalLocated),
    message: l.message,
  });
}

function canonicalLocated(e: LocatedEvent): Record<string, unknown> {
  return { file: e.file, line: e.line, event: canonicalEvent(e.event) };
}

/** A trace event: `ev`, `ts`, `node` first (as a reader expects them), then the rest sorted. */
function canonicalEvent(event: unknown): unknown {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return sortKeys(event);
  const e = event as Record<string, unknown>;
  const out = record();
  for (const key of ['ev', 'ts', 'node']) if (e[key] !== undefined) out[key] = sortKeys(e[key]);
  for (const key of Object.keys(e).sort()) if (!(key in out) && e[key] !== undefined) out[key] = sortKeys(e[key]);
  return out;
}

/** Any value with the keys of every object in it sorted (arrays keep their order). */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  const out = record();
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = sortKeys(v);
  }
  return out;
}

/** A prototype-less object: a key named `__proto__` in third-party data stays a plain key. */
function record(): Record<string, unknown> {
  return Object.create(null) as Record<string, unknown>;
}

function compact(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}
