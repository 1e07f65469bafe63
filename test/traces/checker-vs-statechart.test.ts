/**
 * The checker's receiver replay agrees with the spec statechart exactly. For random follower
 * states and random RequestVote / AppendEntries requests, the statechart's pure transition decides
 * whether Figure 2 allows a grant (a success). A trace in which the node nonetheless grants must be
 * flagged — RV-1/RV-2, AE-1/AE-2 — exactly when the statechart refuses, and pass silently when it
 * grants. (In the spec, refusing is what Figure 2 forbids granting: it grants whenever allowed.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AppendEntries, RequestVote } from '../../spec/schemas/messages.ts';
import type { LogEntry, TraceEvent } from '../../spec/schemas/trace-events.ts';
import { TraceChecker } from '../../traces/checker/checker.ts';
import { serverAt, step } from '../support/spec-node.ts';

const arbLog: fc.Arbitrary<LogEntry[]> = fc
  .array(fc.integer({ min: 0, max: 2 }), { maxLength: 5 })
  .map((steps) => {
    let term = 1;
    return steps.map((s, k) => {
      term += s === 2 ? 1 : 0;
      return { index: k + 1, term };
    });
  });

const arbFollower = fc.record({
  log: arbLog,
  termExtra: fc.integer({ min: 0, max: 2 }),
  votedFor: fc.constantFrom<string | null>(null, 'n2', 'n3'),
});

function traceFor(state: { log: LogEntry[]; currentTerm: number; votedFor: string | null }, msg: RequestVote | AppendEntries, reply: TraceEvent): TraceEvent[] {
  const last = state.log[state.log.length - 1];
  return [
    { ev: 'header', format: 'raft-trace', version: 1, cluster: ['n1', 'n2', 'n3'] },
    { ev: 'init', node: 'n1', term: state.currentTerm, votedFor: state.votedFor, lastIndex: last?.index ?? 0, lastTerm: last?.term ?? 0, snapshotIndex: 0, snapshotTerm: 0, entries: state.log },
    // The trace emits append events at all (so log-based verdicts stand), here for another node.
    { ev: 'append', node: 'n3', entries: [] },
    { ev: 'recv', node: 'n1', from: 'n2', msg },
    reply,
  ];
}

function rulesFor(events: readonly TraceEvent[]): string[] {
  const checker = new TraceChecker();
  events.forEach((event, i) => checker.feed({ file: 'x', line: i + 1, event }));
  return checker.finish().violations.map((v) => v.rule);
}

describe('checker replay vs the statechart', () => {
  it('RequestVote: a grant is flagged exactly when the statechart refuses', () => {
    let refused = 0;
    fc.assert(
      fc.property(arbFollower, fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 4 }), (f, termDelta, lastLogIndex, lastLogTerm) => {
        const currentTerm = (f.log.at(-1)?.term ?? 0) + f.termExtra;
        const state = { log: f.log, currentTerm, votedFor: currentTerm === 0 ? null : f.votedFor };
        const msg: RequestVote = { type: 'RequestVote', term: Math.max(0, currentTerm - 1 + termDelta), candidateId: 'n2', lastLogIndex, lastLogTerm };
        const spec = step(serverAt('follower', { ...state, commitIndex: 0 }), { type: 'REQUEST_VOTE', from: 'n2', msg });
        const answer = spec.sent[0]?.msg;
        if (answer?.type !== 'RequestVoteResponse') throw new Error('the statechart did not answer');
        const granted: TraceEvent = { ev: 'send', node: 'n1', to: 'n2', msg: { type: 'RequestVoteResponse', term: answer.term, voteGranted: true } };
        // Persisted first, so that P-1 holds and only the receiver rules speak.
        const persist: TraceEvent = { ev: 'persist', node: 'n1', term: answer.term, votedFor: 'n2', lastIndex: f.log.length };
        const events = traceFor(state, msg, persist);
        events.push(granted);
        const rules = rulesFor(events).filter((r) => r === 'RV-1' || r === 'RV-2');
        if (answer.voteGranted) expect(rules, JSON.stringify({ state, msg })).toEqual([]);
        else {
          refused++;
          expect(rules.length, JSON.stringify({ state, msg })).toBeGreaterThan(0);
        }
      }),
      { numRuns: 1500 },
    );
    expect(refused).toBeGreaterThan(300);
  });

  it('AppendEntries: a success is flagged exactly when the statechart refuses', () => {
    let refused = 0;
    fc.assert(
      fc.property(arbFollower, fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 4 }), (f, termDelta, prevLogIndex, prevLogTerm) => {
        const currentTerm = Math.max(1, (f.log.at(-1)?.term ?? 0) + f.termExtra);
        const state = { log: f.log, currentTerm, votedFor: f.votedFor };
        const msg: AppendEntries = { type: 'AppendEntries', term: Math.max(0, currentTerm - 1 + termDelta), leaderId: 'n2', prevLogIndex, prevLogTerm, entries: [], leaderCommit: 0 };
        const spec = step(serverAt('follower', { ...state, commitIndex: 0 }), { type: 'APPEND_ENTRIES', from: 'n2', msg });
        const answer = spec.sent[0]?.msg;
        if (answer?.type !== 'AppendEntriesResponse') throw new Error('the statechart did not answer');
        const succeeded: TraceEvent = { ev: 'send', node: 'n1', to: 'n2', msg: { type: 'AppendEntriesResponse', term: answer.term, success: true, matchIndex: 0 } };
        const rules = rulesFor(traceFor(state, msg, succeeded)).filter((r) => r === 'AE-1' || r === 'AE-2');
        if (answer.success) expect(rules, JSON.stringify({ state, msg })).toEqual([]);
        else {
          refused++;
          expect(rules.length, JSON.stringify({ state, msg })).toBeGreaterThan(0);
        }
      }),
      { numRuns: 1500 },
    );
    expect(refused).toBeGreaterThan(300);
  });
});
