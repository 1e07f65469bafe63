/**
 * The trace checker: silent on correct traces (the simulator under every fault, the spec
 * explorer), loud and precise on broken ones (a spec that grants every vote, hand-made events),
 * honest about what a partial trace cannot prove, and strict about input that is not a trace.
 */
import { describe, expect, it } from 'vitest';
import { explore } from '../../conformance/spec-explore.ts';
import { parseFaultSpec } from '../../conformance/sim/faults.ts';
import { simulate } from '../../conformance/sim/simulate.ts';
import type { TraceEvent } from '../../spec/schemas/trace-events.ts';
import { serverMachine } from '../../spec/statechart/server-machine.ts';
import { TraceChecker } from '../../traces/checker/checker.ts';

function checkEvents(events: readonly TraceEvent[]): TraceChecker {
  const checker = new TraceChecker();
  events.forEach((event, i) => checker.feed({ file: 't.ndjson', line: i + 1, event }));
  return checker;
}

function simulatedTrace(seed: number, nodes: number, ticks: number): TraceEvent[] {
  const events: TraceEvent[] = [];
  const spec = parseFaultSpec('all');
  if (!spec.ok) throw new Error(spec.error);
  simulate({ seed, nodes, ticks, faults: spec.spec, snapshotThresholdEntries: 50, trace: { sink: (e: TraceEvent) => void events.push(e), ts: undefined } });
  // Through JSON, as a file would carry them.
  return events.map((e) => JSON.parse(JSON.stringify(e)) as TraceEvent);
}

describe('trace checker on correct traces', () => {
  it.each([1, 2, 3, 4])('the simulator with every fault (seed %i): no violation, and the rules are really checked', (seed) => {
    const checker = checkEvents(simulatedTrace(seed, seed % 2 === 0 ? 3 : 5, 2500));
    const report = checker.finish();
    expect(checker.errors).toEqual([]);
    expect(report.violations).toEqual([]);
    const checked = new Map(report.coverage.map((c) => [c.rule, c.checked]));
    for (const rule of ['RV-2', 'AE-2', 'AE-5', 'ALL-1', 'ALL-2', 'C-2', 'L-4', 'P-1', 'P-2', 'S-ES', 'S-LM', 'S-SMS', 'M-TERM', 'M-VOTE', 'M-COMMIT'] as const) {
      expect(checked.get(rule), `${rule} checked`).toBeGreaterThan(0);
    }
  });

  it.each([1, 2, 3])('the spec explorer (seed %i): no violation', (seed) => {
    const events: TraceEvent[] = [];
    explore({ seed, steps: 2000, sink: (e) => void events.push(e) });
    const checker = checkEvents(events);
    expect(checker.finish().violations).toEqual([]);
    expect(checker.errors).toEqual([]);
  });
});

describe('trace checker on broken traces', () => {
  it('names RV-2 as the cause when the spec grants every vote, where the explorer saw only the consequence', () => {
    const buggy = serverMachine.provide({ guards: { canGrantVote: () => true } });
    let caught = 0;
    for (const seed of [1, 2, 3, 4]) {
      const events: TraceEvent[] = [];
      explore({ seed, steps: 3000, machine: buggy, sink: (e) => void events.push(e) });
      const rules = new Set(checkEvents(events).finish().violations.map((v) => v.rule));
      if (rules.has('RV-2')) caught++;
    }
    expect(caught).toBe(4);
  });

  const header: TraceEvent = { ev: 'header', format: 'raft-trace', version: 1, cluster: ['n1', 'n2', 'n3'] };
  it('reports a violation with rule, statement, location, node, expected vs actual, and context', () => {
    const events: TraceEvent[] = [
      header,
      { ev: 'timeout', node: 'n1', kind: 'election' },
      { ev: 'role', node: 'n1', role: 'candidate', term: 1 },
      { ev: 'persist', node: 'n1', term: 1, votedFor: 'n1', lastIndex: 0 },
      // Received votes are traced (recv events exist), so the missing majority is provable.
      { ev: 'recv', node: 'n1', from: 'n2', msg: { type: 'RequestVoteResponse', term: 1, voteGranted: false } },
      { ev: 'role', node: 'n1', role: 'leader', term: 1 },
    ];
    const report = checkEvents(events).finish();
    expect(report.violations).toHaveLength(1);
    const v = report.violations[0];
    expect(v).toMatchObject({ rule: 'C-2', at: { file: 't.ndjson', line: 6 }, node: 'n1' });
    expect(v?.statement).toMatch(/majority of distinct voters/);
    expect(v?.message).toMatch(/votes from \["n1"\], not a majority/);
    expect(v?.context.at(-1)?.line).toBe(6);
    expect(v?.context.length).toBeGreaterThan(1);
  });

  it('ALL-2 / M-TERM: a term that goes back', () => {
    const report = checkEvents([
      header,
      { ev: 'role', node: 'n2', role: 'follower', term: 3 },
      { ev: 'role', node: 'n2', role: 'follower', term: 2 },
    ]).finish();
    expect(report.violations.map((v) => v.rule)).toEqual(['M-TERM']);
  });
});

describe('graceful degradation', () => {
  it('a trace of only role events checks S-ES and M-TERM and says what the rest needs', () => {
    const report = checkEvents([
      { ev: 'role', node: 'n1', role: 'candidate', term: 1 },
      { ev: 'role', node: 'n1', role: 'leader', term: 1 },
      { ev: 'role', node: 'n2', role: 'follower', term: 1 },
    ]).finish();
    const byRule = new Map(report.coverage.map((c) => [c.rule, c]));
    expect(byRule.get('S-ES')).toMatchObject({ checkable: true });
    expect(byRule.get('P-1')).toMatchObject({ checkable: false, checked: 0 });
    expect(byRule.get('P-1')?.needs).toEqual([['persist', 'send']]);
    // C-2 needs recv: without any, becoming leader proves nothing about votes.
    expect(report.violations).toEqual([]);
    expect(byRule.get('L-3')?.reason).toMatch(/internal state/);
  });
});

describe('input that is not a trace', () => {
  it('a node outside the header cluster is an input error', () => {
    const checker = checkEvents([
      { ev: 'header', format: 'raft-trace', version: 1, cluster: ['n1', 'n2', 'n3'] },
      { ev: 'role', node: 'n9', role: 'follower', term: 1 },
    ]);
    expect(checker.errors).toEqual([{ file: 't.ndjson', line: 2, path: '$.node', message: expect.stringMatching(/"n9" is not in the cluster/) }]);
  });

  it('a message received from a traced sender that never sent it is an input error', () => {
    const checker = checkEvents([
      { ev: 'send', node: 'n1', to: 'n2', msg: { type: 'RequestVote', term: 1, candidateId: 'n1', lastLogIndex: 0, lastLogTerm: 0 } },
      { ev: 'recv', node: 'n2', from: 'n1', msg: { type: 'RequestVote', term: 7, candidateId: 'n1', lastLogIndex: 0, lastLogTerm: 0 } },
    ]);
    expect(checker.errors).toHaveLength(1);
    expect(checker.errors[0]?.message).toMatch(/never sent/);
  });
});
