/**
 * Correlation ids (trace-format.md: a request's `id`, its answer's `inReplyTo`): the checker pairs
 * an answer with the request it names. Implementations that answer some requests with silence —
 * PySyncObj refuses a vote, and ignores a stale AppendEntries, without replying — would otherwise
 * have a later answer paired FIFO with the unanswered request, and a false RV-2 or AE-1 reported.
 */
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../spec/schemas/trace-events.ts';
import { TraceChecker } from '../../traces/checker/checker.ts';

function check(events: readonly TraceEvent[]): string[] {
  const checker = new TraceChecker();
  events.forEach((event, i) => checker.feed({ file: 't.ndjson', line: i + 1, event }));
  expect(checker.errors).toEqual([]);
  return checker.finish().violations.map((v) => `${v.rule}: ${v.message}`);
}

const header: TraceEvent = { ev: 'header', format: 'raft-trace', version: 1, cluster: ['n1', 'n2', 'n3'] };

/** n2 leads term 2 with a log [1:t1, 2:t2]; n1 (term 2, same log) receives a stale and a fresh AppendEntries. */
function staleAppendThenFresh(correlated: boolean): TraceEvent[] {
  const id = (x: string): { id?: string } => (correlated ? { id: x } : {});
  const reply = (x: string): { inReplyTo?: string } => (correlated ? { inReplyTo: x } : {});
  const entries = [
    { index: 1, term: 1 },
    { index: 2, term: 2 },
  ];
  const init = (node: string): TraceEvent => ({ ev: 'init', node, term: 2, votedFor: 'n2', lastIndex: 2, lastTerm: 2, snapshotIndex: 0, snapshotTerm: 0, entries });
  const stale = { type: 'AppendEntries' as const, term: 1, leaderId: 'n2', prevLogIndex: 1, prevLogTerm: 1, entries: [], leaderCommit: 0, ...id('a') };
  const fresh = { type: 'AppendEntries' as const, term: 2, leaderId: 'n2', prevLogIndex: 2, prevLogTerm: 2, entries: [], leaderCommit: 0, ...id('b') };
  const answer = { type: 'AppendEntriesResponse' as const, term: 2, success: true, matchIndex: 2, ...reply('b') };
  return [
    header,
    init('n1'),
    init('n2'),
    { ev: 'send', node: 'n2', to: 'n1', msg: stale },
    { ev: 'send', node: 'n2', to: 'n1', msg: fresh },
    // The stale one is ignored without an answer; the fresh one is accepted.
    { ev: 'recv', node: 'n1', from: 'n2', msg: stale },
    { ev: 'recv', node: 'n1', from: 'n2', msg: fresh },
    { ev: 'send', node: 'n1', to: 'n2', msg: answer },
  ];
}

describe('the checker with correlation ids', () => {
  it('pairs an AppendEntries answer with the request its inReplyTo names, not with an unanswered stale one', () => {
    expect(check(staleAppendThenFresh(true))).toEqual([]);
  });

  it('without ids, pairs answers FIFO (the stale request takes the answer: the false alarm ids prevent)', () => {
    expect(check(staleAppendThenFresh(false)).map((v) => v.split(':')[0])).toEqual(['AE-1']);
  });

  it('pairs a vote with the RequestVote it answers when an earlier one was refused by silence', () => {
    const init = (node: string, lastTerm: number): TraceEvent => ({ ev: 'init', node, term: 1, votedFor: null, lastIndex: 1, lastTerm, snapshotIndex: 0, snapshotTerm: 0, entries: [{ index: 1, term: lastTerm }] });
    // n3's log (last term 1) is behind n1's (last term 2) in term 2; in term 3 n3 has caught up.
    const early = { type: 'RequestVote', term: 2, candidateId: 'n3', lastLogIndex: 1, lastLogTerm: 1, id: 'x' } as const;
    const later = { type: 'RequestVote', term: 3, candidateId: 'n3', lastLogIndex: 2, lastLogTerm: 2, id: 'y' } as const;
    const events: TraceEvent[] = [
      header,
      init('n1', 2),
      init('n3', 1),
      { ev: 'timeout', node: 'n3', kind: 'election' },
      { ev: 'role', node: 'n3', role: 'candidate', term: 2 },
      { ev: 'persist', node: 'n3', term: 2, votedFor: 'n3', lastIndex: 1 },
      { ev: 'send', node: 'n3', to: 'n1', msg: early },
      { ev: 'recv', node: 'n1', from: 'n3', msg: early },
      { ev: 'role', node: 'n1', role: 'follower', term: 2 },
      { ev: 'append', node: 'n3', entries: [{ index: 2, term: 2 }] },
      { ev: 'timeout', node: 'n3', kind: 'election' },
      { ev: 'role', node: 'n3', role: 'candidate', term: 3 },
      { ev: 'persist', node: 'n3', term: 3, votedFor: 'n3', lastIndex: 2 },
      { ev: 'send', node: 'n3', to: 'n1', msg: later },
      { ev: 'recv', node: 'n1', from: 'n3', msg: later },
      { ev: 'role', node: 'n1', role: 'follower', term: 3 },
      { ev: 'persist', node: 'n1', term: 3, votedFor: 'n3', lastIndex: 1 },
      { ev: 'send', node: 'n1', to: 'n3', msg: { type: 'RequestVoteResponse', term: 3, voteGranted: true, inReplyTo: 'y' } },
    ];
    expect(check(events)).toEqual([]);
    const fifo = events.map((e) => (e.ev === 'send' && e.msg.type === 'RequestVoteResponse' ? { ...e, msg: { type: 'RequestVoteResponse', term: 3, voteGranted: true } } : e)) as TraceEvent[];
    expect(check(fifo).map((v) => v.split(':')[0])).toEqual(['RV-2']);
  });
});
