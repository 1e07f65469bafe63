/**
 * The fast validation path must never accept what the Zod schemas reject, and must return what
 * Zod would: generated events of every kind, valid and with one value anywhere corrupted or
 * removed, are judged by both.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TraceEvent } from '../../spec/schemas/trace-events.ts';
import { fastTraceEvent } from '../../traces/fast-validate.ts';
import { arbJsonValue, arbTraceEvent, type JsonValue } from '../support/arbitraries.ts';

/** Every path to a value inside `v` (object keys and array positions). */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(v)) return v.flatMap((x, i) => [[...prefix, i], ...paths(x, [...prefix, i])]);
  if (typeof v === 'object' && v !== null) return Object.entries(v).flatMap(([k, x]) => [[...prefix, k], ...paths(x, [...prefix, k])]);
  return [];
}

/** A copy of `v` with the value at `path` replaced (or, with `remove`, deleted). */
function corrupt(v: unknown, path: readonly (string | number)[], replacement: JsonValue, remove: boolean): unknown {
  const copy = JSON.parse(JSON.stringify(v)) as Record<string | number, unknown>;
  let parent: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (remove && !Array.isArray(parent)) delete parent[last];
  else parent[last] = replacement;
  return copy;
}

const tricky: fc.Arbitrary<JsonValue> = fc.oneof(
  arbJsonValue,
  fc.constantFrom<JsonValue>(-1, 0, 1, 0.5, 2 ** 53, '', 'x', null, true, false, [], {}, 'leader', 'noop', 'AppendEntries', 'recv'),
);

describe('fast validation path', () => {
  it('agrees with Zod on valid events, and vouches for most of them', () => {
    let vouched = 0;
    let runs = 0;
    fc.assert(
      fc.property(arbTraceEvent, (event) => {
        runs++;
        const value: unknown = JSON.parse(JSON.stringify(event));
        const fast = fastTraceEvent(value);
        if (fast === undefined) return;
        vouched++;
        const zod = TraceEvent.safeParse(value);
        expect(zod.success).toBe(true);
        expect(zod.data).toEqual(fast);
      }),
      { numRuns: 2000 },
    );
    expect(vouched / runs).toBeGreaterThan(0.5);
  });

  it('never vouches for what Zod rejects: one value anywhere replaced or removed', () => {
    let rejectedByZod = 0;
    fc.assert(
      fc.property(arbTraceEvent, fc.nat(), tricky, fc.boolean(), (event, pick, replacement, remove) => {
        const all = paths(JSON.parse(JSON.stringify(event)));
        if (all.length === 0) return;
        const value = corrupt(event, all[pick % all.length] as (string | number)[], replacement, remove);
        const zod = TraceEvent.safeParse(value);
        if (!zod.success) rejectedByZod++;
        const fast = fastTraceEvent(value);
        if (fast !== undefined) {
          expect(zod.success, JSON.stringify(value)).toBe(true);
          expect(zod.data).toEqual(fast);
        }
      }),
      { numRuns: 6000 },
    );
    // The property must have met plenty of invalid events.
    expect(rejectedByZod).toBeGreaterThan(1500);
  });
});
