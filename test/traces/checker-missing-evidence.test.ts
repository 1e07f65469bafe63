/**
 * The checker never reports what it cannot prove (trace-format.md, "Degrading gracefully"): a
 * clean trace stays clean when optional evidence is left out. Two cases once gave false L-4
 * reports: successful AppendEntriesResponses without `matchIndex`, and no `append` events (the
 * leader's own log unknown). The majority check then is not made, rather than failing.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../spec/schemas/trace-events.ts';
import { TraceChecker } from '../../traces/checker/checker.ts';

const CLEAN = 'traces/samples/valid/sim-network-faults.ndjson';
const events = readFileSync(CLEAN, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as TraceEvent);

function check(trace: readonly TraceEvent[]) {
  const checker = new TraceChecker();
  trace.forEach((event, i) => checker.feed({ file: 'x', line: i + 1, event }));
  return checker.finish();
}

describe('evidence left out is not a violation', () => {
  it('the clean sample is clean, and L-4 is checked on it', () => {
    const report = check(events);
    expect(report.violations).toEqual([]);
    expect(report.coverage.find((c) => c.rule === 'L-4')?.checked).toBeGreaterThan(0);
  });

  it('without matchIndex on successful AppendEntriesResponses', () => {
    const stripped = events.map((e) => {
      if ((e.ev !== 'send' && e.ev !== 'recv') || e.msg.type !== 'AppendEntriesResponse') return e;
      const { matchIndex: _dropped, ...msg } = e.msg;
      return { ...e, msg } as TraceEvent;
    });
    expect(stripped.some((e) => (e.ev === 'send' || e.ev === 'recv') && e.msg.type === 'AppendEntriesResponse' && e.msg.success)).toBe(true);
    expect(check(stripped).violations.map((v) => `${v.rule}: ${v.message}`)).toEqual([]);
  });

  it('without append events', () => {
    const stripped = events.filter((e) => e.ev !== 'append');
    expect(check(stripped).violations.filter((v) => v.rule === 'L-4').map((v) => v.message)).toEqual([]);
  });
});
