/**
 * The KV layer's typed errors. Two families, kept apart on purpose (house style, rule 6):
 *  - {@link KvInputError} and its subclasses: data that crossed a gateway (a log entry's `data`,
 *    a snapshot) is not what we wrote. The caller handles and reports it.
 *  - {@link KvAssertionError}: the host broke the store's contract (e.g. applied entries out of
 *    order, ALL-1). That is a bug, and the process should crash.
 */
import type { z } from 'zod';

/** One problem in an input, located by the path of the field that holds it (`op.value`, `sessions[2].seq`). */
export interface KvIssue {
  /** Dotted path to the field; `""` means the input as a whole. */
  readonly field: string;
  readonly message: string;
}

/** Base of the errors about bad input: every one names the first offending field and lists all. */
export class KvInputError extends Error {
  /** The first offending field (`""`: the input as a whole). */
  readonly field: string;
  readonly issues: readonly KvIssue[];

  constructor(what: string, issues: readonly KvIssue[]) {
    const first = issues[0] ?? { field: '', message: 'invalid' };
    const listed = issues.map((i) => (i.field === '' ? i.message : `${i.field}: ${i.message}`)).join('; ');
    super(`invalid ${what}: ${listed}`);
    this.name = new.target.name;
    this.field = first.field;
    this.issues = issues;
  }
}

/** A log entry's `data` is not a valid KV command (see `decodeCommand`). */
export class KvDecodeError extends KvInputError {
  constructor(issues: readonly KvIssue[]) {
    super('KV command', issues);
  }
}

/** `encodeCommand` was given a command that `decodeCommand` would reject (empty clientId, negative seq…). */
export class KvEncodeError extends KvInputError {
  constructor(issues: readonly KvIssue[]) {
    super('KV command to encode', issues);
  }
}

/** A snapshot string is corrupt: not JSON, wrong shape, or breaks an invariant of the store. */
export class KvSnapshotError extends KvInputError {
  constructor(issues: readonly KvIssue[]) {
    super('KV snapshot', issues);
  }
}

/** The store's contract was broken by its caller: a bug, not an operating error. */
export class KvAssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KvAssertionError';
  }
}

/**
 * Throws {@link KvAssertionError} unless `condition` holds. A message that interpolates values is
 * passed as a function, so that the hot path builds no string when the assertion holds.
 */
export function kvAssert(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new KvAssertionError(typeof message === 'string' ? message : message());
}

/** `op.value`, `sessions[2].seq`: the path as a reader would type it. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out;
}

/**
 * Zod's issues as {@link KvIssue}s. An unrecognized-keys issue sits on the enclosing object; it is
 * split into one issue per key so that the error names the field that should not be there.
 */
export function issuesFromZod(error: z.ZodError): KvIssue[] {
  return error.issues.flatMap((issue): KvIssue[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: formatPath([...issue.path, key]), message: 'unknown field' }));
    }
    return [{ field: formatPath(issue.path), message: issue.message }];
  });
}

/** `JSON.parse`, with a syntax error reported as one issue about the whole input. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; issue: KvIssue } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return { ok: false, issue: { field: '', message: `not JSON (${detail})` } };
  }
}
