/**
 * The spec statechart against the paper, rule by rule. The scenarios re-express, in our own words,
 * the paper-section tests of etcd-io/raft's raft_paper_test.go (and the catalogue's bugs they
 * guard against); each test names the rule it pins.
 */
import { describe, expect, it } from 'vitest';
import type { AppendEntries, InstallSnapshot, RequestVote } from '../../spec/schemas/messages.ts';
import { isAtLeastAsUpToDate } from '../../spec/statechart/log.ts';
import type { ServerEvent } from '../../spec/statechart/server-context.ts';
import { entries, onlySent, serverAt, step, steps, type RoleName } from '../support/spec-node.ts';

const requestVote = (from: string, msg: Partial<RequestVote> = {}): ServerEvent => ({
  type: 'REQUEST_VOTE',
  from,
  msg: { type: 'RequestVote', term: 1, candidateId: from, lastLogIndex: 0, lastLogTerm: 0, ...msg },
});

const appendEntries = (msg: Partial<AppendEntries> = {}, from = 'n2'): ServerEvent => ({
  type: 'APPEND_ENTRIES',
  from,
  msg: { type: 'AppendEntries', term: 1, leaderId: from, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, ...msg },
});

const installSnapshot = (msg: Partial<InstallSnapshot> = {}, from = 'n2'): ServerEvent => ({
  type: 'INSTALL_SNAPSHOT',
  from,
  msg: { type: 'InstallSnapshot', term: 1, leaderId: from, lastIncludedIndex: 0, lastIncludedTerm: 0, ...msg },
});

const voteGranted = (from: string, term: number, voteGranted = true): ServerEvent => ({
  type: 'REQUEST_VOTE_RESPONSE',
  from,
  msg: { type: 'RequestVoteResponse', term, voteGranted },
});

const appendAck = (from: string, term: number, matchIndex: number): ServerEvent => ({
  type: 'APPEND_ENTRIES_RESPONSE',
  from,
  msg: { type: 'AppendEntriesResponse', term, success: true, matchIndex },
});

describe('RV-1 / RV-2: RequestVote receiver', () => {
  it('RV-2: a follower votes at most once per term, first come first served (§5.2)', () => {
    const follower = serverAt('follower', { currentTerm: 1 });
    const first = step(follower, requestVote('n2'));
    expect(first.context.votedFor).toBe('n2');
    expect(onlySent(first)).toEqual({ to: 'n2', msg: { type: 'RequestVoteResponse', term: 1, voteGranted: true } });

    const second = step(first.snapshot, requestVote('n3'));
    expect(second.context.votedFor).toBe('n2');
    expect(onlySent(second).msg).toMatchObject({ voteGranted: false });

    // The same candidate asking again (a duplicated request) gets the same answer.
    const again = step(second.snapshot, requestVote('n2'));
    expect(onlySent(again).msg).toMatchObject({ voteGranted: true });
  });

  it('RV-1: a request from an earlier term is refused and changes nothing (§5.1)', () => {
    const follower = serverAt('follower', { currentTerm: 3 });
    const result = step(follower, requestVote('n2', { term: 2 }));
    expect(result.context.votedFor).toBeNull();
    expect(result.context.currentTerm).toBe(3);
    expect(onlySent(result).msg).toEqual({ type: 'RequestVoteResponse', term: 3, voteGranted: false });
  });

  // §5.4.1: the log whose last entry has the later term is more up-to-date; equal last terms: the
  // longer log is. (ours, candidate) → granted?
  const upToDateTable: readonly [string, { lastLogTerm: number; lastLogIndex: number }, boolean][] = [
    ['higher last term beats a longer log', { lastLogTerm: 3, lastLogIndex: 1 }, true],
    ['higher last term, same length', { lastLogTerm: 3, lastLogIndex: 3 }, true],
    ['same last term, longer log', { lastLogTerm: 2, lastLogIndex: 4 }, true],
    ['same last term, same length', { lastLogTerm: 2, lastLogIndex: 3 }, true],
    ['same last term, shorter log', { lastLogTerm: 2, lastLogIndex: 2 }, false],
    ['lower last term, longer log (no length-only check, B06)', { lastLogTerm: 1, lastLogIndex: 9 }, false],
    ['lower last term, shorter log', { lastLogTerm: 1, lastLogIndex: 1 }, false],
  ];
  it.each(upToDateTable)('RV-2 up-to-date check against our log [t1, t1, t2]: %s', (_name, candidate, granted) => {
    const follower = serverAt('follower', { currentTerm: 4, log: entries([1, 1, 2]) });
    const result = step(follower, requestVote('n2', { term: 4, ...candidate }));
    expect(onlySent(result).msg).toMatchObject({ voteGranted: granted });
    expect(result.context.votedFor).toBe(granted ? 'n2' : null);
    expect(isAtLeastAsUpToDate(candidate, { lastLogTerm: 2, lastLogIndex: 3 })).toBe(granted);
  });

  it('RV-2: candidates and leaders have voted for themselves and refuse others in their term', () => {
    for (const role of ['candidate', 'leader'] as const) {
      const server = serverAt(role, { currentTerm: 2, votedFor: 'n1' });
      const result = step(server, requestVote('n2', { term: 2, lastLogIndex: 5, lastLogTerm: 2 }));
      expect(result.role).toBe(role);
      expect(onlySent(result).msg).toMatchObject({ term: 2, voteGranted: false });
    }
  });
});

describe('AE-1 … AE-5: AppendEntries receiver', () => {
  it('AE-1: a request from an earlier term is refused and the log is untouched (§5.1)', () => {
    const follower = serverAt('follower', { currentTerm: 2, log: entries([1, 2]) });
    const result = step(follower, appendEntries({ term: 1, prevLogIndex: 2, prevLogTerm: 2, entries: [{ term: 1 }] }));
    expect(result.context.log).toEqual(entries([1, 2]));
    expect(onlySent(result).msg).toEqual({ type: 'AppendEntriesResponse', term: 2, success: false });
  });

  // (prevLogIndex, prevLogTerm) against our log [t1, t2] → success?
  const consistencyTable: readonly [string, number, number, boolean][] = [
    ['matching empty prefix', 0, 0, true],
    ['matching entry 1', 1, 1, true],
    ['matching last entry', 2, 2, true],
    ['term mismatch at the last entry', 2, 3, false],
    ['term mismatch inside the log', 1, 2, false],
    ['prevLogIndex one past the end (B14)', 3, 2, false],
    ['prevLogIndex far past the end', 9, 2, false],
  ];
  it.each(consistencyTable)('AE-2 consistency check against [t1, t2]: %s', (_name, prevLogIndex, prevLogTerm, success) => {
    const follower = serverAt('follower', { currentTerm: 2, log: entries([1, 2]) });
    const result = step(follower, appendEntries({ term: 2, prevLogIndex, prevLogTerm, entries: [{ term: 2 }] }));
    expect(onlySent(result).msg).toMatchObject({ success });
    expect(result.context.log.length).toBe(success ? prevLogIndex + 1 : 2);
  });

  it('AE-3: a follower holding every entry sent does not truncate on a shorter AppendEntries (B11)', () => {
    const follower = serverAt('follower', { currentTerm: 1, log: entries([1, 1, 1]) });
    const result = step(follower, appendEntries({ prevLogIndex: 0, prevLogTerm: 0, entries: [{ term: 1 }] }));
    expect(result.context.log).toEqual(entries([1, 1, 1]));
    expect(onlySent(result).msg).toEqual({ type: 'AppendEntriesResponse', term: 1, success: true, matchIndex: 1 });
  });

  it('AE-3: a conflicting entry is deleted with all that follow it, never replaced in place (B12)', () => {
    const follower = serverAt('follower', { currentTerm: 3, log: entries([1, 1, 1, 2, 2]) });
    const result = step(follower, appendEntries({ term: 3, prevLogIndex: 3, prevLogTerm: 1, entries: [{ term: 3 }] }));
    expect(result.context.log).toEqual(entries([1, 1, 1, 3]));
  });

  it('AE-4: new entries are appended after the matching prefix; entries already present are kept', () => {
    const follower = serverAt('follower', { currentTerm: 2, log: entries([1, 1]) });
    const result = step(follower, appendEntries({ term: 2, prevLogIndex: 1, prevLogTerm: 1, entries: [{ term: 1 }, { term: 2 }, { term: 2 }] }));
    expect(result.context.log).toEqual(entries([1, 1, 2, 2]));
    expect(onlySent(result).msg).toMatchObject({ success: true, matchIndex: 4 });
  });

  // (leaderCommit, prevLogIndex, entries) with our log [t1, t1, t1] and commitIndex 0 → commitIndex
  const commitTable: readonly [string, number, number, number, number][] = [
    ['heartbeat vouches only for prevLogIndex (B13)', 3, 1, 0, 1],
    ['one new entry: min(leaderCommit, last new index)', 3, 1, 1, 2],
    ['leaderCommit below the last new index', 1, 1, 2, 1],
    ['leaderCommit equal to the last new index', 3, 2, 1, 3],
  ];
  it.each(commitTable)('AE-5 commitIndex = min(leaderCommit, index of last new entry): %s', (_name, leaderCommit, prevLogIndex, count, expected) => {
    const follower = serverAt('follower', { currentTerm: 1, log: entries([1, 1, 1]) });
    const sent = Array.from({ length: count }, () => ({ term: 1 }));
    const result = step(follower, appendEntries({ prevLogIndex, prevLogTerm: 1, entries: sent, leaderCommit }));
    expect(result.context.commitIndex).toBe(expected);
    // ALL-1: everything committed is applied, in index order, each once.
    expect(result.applied.map((a) => a.index)).toEqual(Array.from({ length: expected }, (_, k) => k + 1));
    expect(result.context.lastApplied).toBe(expected);
  });

  it('AE-5 / M-COMMIT: commitIndex never decreases, whatever the leader says (B15)', () => {
    const follower = serverAt('follower', { currentTerm: 1, log: entries([1, 1, 1]), commitIndex: 3, lastApplied: 3 });
    const lower = step(follower, appendEntries({ prevLogIndex: 1, prevLogTerm: 1, leaderCommit: 1 }));
    expect(lower.context.commitIndex).toBe(3);
    const shortVouch = step(follower, appendEntries({ prevLogIndex: 1, prevLogTerm: 1, leaderCommit: 5 }));
    expect(shortVouch.context.commitIndex).toBe(3);
    expect(shortVouch.applied).toEqual([]);
  });

  it('F-1 / AE-2 across a snapshot: a prefix inside the snapshot matches; entries inside it are not appended again (B16)', () => {
    const follower = serverAt('follower', {
      currentTerm: 2,
      snapshot: { lastIncludedIndex: 3, lastIncludedTerm: 1 },
      log: entries([2], 4),
      commitIndex: 3,
      lastApplied: 3,
    });
    const stale = step(follower, appendEntries({ term: 2, prevLogIndex: 0, prevLogTerm: 0, entries: [{ term: 1 }] }));
    expect(stale.context.log).toEqual(entries([2], 4));
    expect(onlySent(stale).msg).toMatchObject({ success: true });
    const boundary = step(follower, appendEntries({ term: 2, prevLogIndex: 3, prevLogTerm: 1, entries: [{ term: 2 }, { term: 2 }] }));
    expect(boundary.context.log).toEqual(entries([2, 2], 4));
    const wrongBoundaryTerm = step(follower, appendEntries({ term: 2, prevLogIndex: 3, prevLogTerm: 2, entries: [] }));
    expect(onlySent(wrongBoundaryTerm).msg).toMatchObject({ success: false });
  });
});

describe('ALL-2: a later term turns any server into a follower first', () => {
  const roles: readonly RoleName[] = ['follower', 'candidate', 'leader'];
  const laterTermEvents: readonly [string, ServerEvent][] = [
    ['RequestVote', requestVote('n2', { term: 5, lastLogIndex: 0, lastLogTerm: 0 })],
    ['RequestVoteResponse', voteGranted('n2', 5, false)],
    ['AppendEntries', appendEntries({ term: 5 })],
    ['AppendEntriesResponse', { type: 'APPEND_ENTRIES_RESPONSE', from: 'n2', msg: { type: 'AppendEntriesResponse', term: 5, success: false } }],
    ['InstallSnapshot', installSnapshot({ term: 5, lastIncludedIndex: 0, lastIncludedTerm: 0 })],
    ['InstallSnapshotResponse', { type: 'INSTALL_SNAPSHOT_RESPONSE', from: 'n2', msg: { type: 'InstallSnapshotResponse', term: 5 } }],
  ];
  for (const role of roles) {
    it.each(laterTermEvents)(`a ${role} receiving %s of term 5 adopts the term and becomes follower`, (name, event) => {
      const server = serverAt(role, { currentTerm: 2, votedFor: role === 'follower' ? 'n3' : 'n1', nextIndex: { n2: 1, n3: 1 }, matchIndex: { n2: 0, n3: 0 } });
      const result = step(server, event);
      expect(result.role).toBe('follower');
      expect(result.context.currentTerm).toBe(5);
      // The old term's vote does not carry over; a RequestVote of the new term is then handled as a follower would.
      expect(result.context.votedFor).toBe(name === 'RequestVote' ? 'n2' : null);
      for (const { msg } of result.sent) expect(msg.term).toBe(5);
    });
  }

  it('ALL-2 before C-2: a candidate does not count a vote that arrives with a later term', () => {
    const candidate = serverAt('candidate', { currentTerm: 2, votedFor: 'n1', votesReceived: ['n1'] });
    const result = step(candidate, voteGranted('n2', 3));
    expect(result.role).toBe('follower');
    expect(result.context.votesReceived).toEqual(['n1']);
  });
});

describe('C-1 … C-4: candidates', () => {
  it('C-1: on election timeout a follower increments its term, votes for itself and asks every other server', () => {
    const follower = serverAt('follower', { currentTerm: 1, log: entries([1, 1]) });
    const result = step(follower, { type: 'ELECTION_TIMEOUT' });
    expect(result.role).toBe('candidate');
    expect(result.context.currentTerm).toBe(2);
    expect(result.context.votedFor).toBe('n1');
    expect(result.sent.map((s) => s.to).sort()).toEqual(['n2', 'n3']);
    for (const { msg } of result.sent) {
      expect(msg).toEqual({ type: 'RequestVote', term: 2, candidateId: 'n1', lastLogIndex: 2, lastLogTerm: 1 });
    }
  });

  it('C-2: a majority of distinct voters of the current term elects; duplicates (B05) and stale votes (B04) do not count', () => {
    const voters = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const candidate = serverAt('candidate', { voters, currentTerm: 3, votedFor: 'n1', votesReceived: ['n1'] });
    const duplicated = steps(candidate, [voteGranted('n2', 3), voteGranted('n2', 3)]);
    expect(duplicated.role).toBe('candidate');
    const stale = step(duplicated.snapshot, voteGranted('n3', 2));
    expect(stale.role).toBe('candidate');
    const denied = step(stale.snapshot, voteGranted('n4', 3, false));
    expect(denied.role).toBe('candidate');
    const outsider = step(denied.snapshot, voteGranted('n9', 3));
    expect(outsider.role).toBe('candidate');
    const elected = step(outsider.snapshot, voteGranted('n5', 3));
    expect(elected.role).toBe('leader');
    // L-1: the new leader heartbeats every other server at once, from nextIndex = last log index + 1.
    expect(elected.sent.map((s) => s.to).sort()).toEqual(['n2', 'n3', 'n4', 'n5']);
    for (const { msg } of elected.sent) expect(msg).toMatchObject({ type: 'AppendEntries', term: 3, entries: [] });
  });

  it('C-2: a single-server cluster elects itself at once', () => {
    const result = step(serverAt('follower', { voters: ['n1'] }), { type: 'ELECTION_TIMEOUT' });
    expect(result.role).toBe('leader');
    expect(result.context.currentTerm).toBe(1);
  });

  it('C-3: a candidate hearing AppendEntries from a leader of its term becomes follower and handles it', () => {
    const candidate = serverAt('candidate', { currentTerm: 2, votedFor: 'n1', votesReceived: ['n1'] });
    const result = step(candidate, appendEntries({ term: 2, entries: [{ term: 2 }] }));
    expect(result.role).toBe('follower');
    expect(result.context.currentTerm).toBe(2);
    expect(result.context.votedFor).toBe('n1');
    expect(result.context.log).toEqual(entries([2]));
    expect(onlySent(result).msg).toMatchObject({ success: true, matchIndex: 1 });
  });

  it('C-3 does not apply to a stale leader: AE-1 refuses it and the candidate stays', () => {
    const candidate = serverAt('candidate', { currentTerm: 2, votedFor: 'n1', votesReceived: ['n1'] });
    const result = step(candidate, appendEntries({ term: 1 }));
    expect(result.role).toBe('candidate');
    expect(onlySent(result).msg).toMatchObject({ term: 2, success: false });
  });

  it('C-4: a split vote times out into a new election in the next term', () => {
    const candidate = serverAt('candidate', { currentTerm: 2, votedFor: 'n1', votesReceived: ['n1'] });
    const result = step(candidate, { type: 'ELECTION_TIMEOUT' });
    expect(result.role).toBe('candidate');
    expect(result.context.currentTerm).toBe(3);
    expect(result.context.votesReceived).toEqual(['n1']);
    expect(result.sent).toHaveLength(2);
  });
});

describe('L-1 … L-4: leaders', () => {
  const leaderWith = (log: number[], currentTerm: number, match: Record<string, number> = {}) =>
    serverAt('leader', {
      currentTerm,
      votedFor: 'n1',
      log: entries(log),
      nextIndex: { n2: log.length + 1, n3: log.length + 1 },
      matchIndex: { n2: 0, n3: 0, ...match },
    });

  it('L-2 / L-3: a client command is appended to the leader log and sent from nextIndex', () => {
    const result = step(leaderWith([1], 2), { type: 'CLIENT_REQUEST', digest: 'put x=1' });
    expect(result.context.log).toEqual([{ index: 1, term: 1 }, { index: 2, term: 2, kind: 'command', digest: 'put x=1' }]);
    for (const { msg } of result.sent) {
      expect(msg).toMatchObject({ type: 'AppendEntries', prevLogIndex: 1, prevLogTerm: 1, entries: [{ index: 2, term: 2, digest: 'put x=1' }] });
    }
  });

  it('L-4 (Figure 8): a leader never commits an entry of an earlier term by counting replicas', () => {
    const leader = leaderWith([1, 2], 3);
    const replicated = step(leader, appendAck('n2', 3, 2));
    expect(replicated.context.matchIndex.n2).toBe(2);
    expect(replicated.context.commitIndex).toBe(0);
    // Once an entry of its own term is on a majority, it and everything before it commit.
    const own = step(replicated.snapshot, { type: 'CLIENT_REQUEST', digest: 'c3' });
    const acked = step(own.snapshot, appendAck('n3', 3, 3));
    expect(acked.context.commitIndex).toBe(3);
    expect(acked.applied.map((a) => a.index)).toEqual([1, 2, 3]);
  });

  it('L-4: one follower acknowledging is not a majority of five', () => {
    const leader = serverAt('leader', {
      voters: ['n1', 'n2', 'n3', 'n4', 'n5'],
      currentTerm: 1,
      votedFor: 'n1',
      log: entries([1]),
      nextIndex: { n2: 2, n3: 2, n4: 2, n5: 2 },
      matchIndex: { n2: 0, n3: 0, n4: 0, n5: 0 },
    });
    const one = step(leader, appendAck('n2', 1, 1));
    expect(one.context.commitIndex).toBe(0);
    const two = step(one.snapshot, appendAck('n4', 1, 1));
    expect(two.context.commitIndex).toBe(1);
  });

  it('L-3: matchIndex never decreases when acknowledgements arrive out of order (B19)', () => {
    const leader = leaderWith([1, 1, 1], 1);
    const late = steps(leader, [appendAck('n2', 1, 3), appendAck('n2', 1, 1)]);
    expect(late.context.matchIndex.n2).toBe(3);
    expect(late.context.nextIndex.n2).toBe(4);
  });

  it('L-3: matchIndex comes from the request that was sent when it is known, not from the reply', () => {
    const leader = leaderWith([1, 1, 1], 1);
    const request: AppendEntries = { type: 'AppendEntries', term: 1, leaderId: 'n1', prevLogIndex: 1, prevLogTerm: 1, entries: [{ term: 1 }], leaderCommit: 0 };
    const result = step(leader, {
      type: 'APPEND_ENTRIES_RESPONSE',
      from: 'n2',
      msg: { type: 'AppendEntriesResponse', term: 1, success: true, matchIndex: 3 },
      request,
    });
    expect(result.context.matchIndex.n2).toBe(2);
  });

  it('L-3: an inconsistency lowers nextIndex and retries, never below matchIndex + 1 (B20) nor twice for one failure (B21)', () => {
    const leader = leaderWith([1, 1, 1, 1], 1, { n2: 2 });
    const failure = (prevLogIndex: number): ServerEvent => ({
      type: 'APPEND_ENTRIES_RESPONSE',
      from: 'n2',
      msg: { type: 'AppendEntriesResponse', term: 1, success: false },
      request: { type: 'AppendEntries', term: 1, leaderId: 'n1', prevLogIndex, prevLogTerm: 1, entries: [], leaderCommit: 0 },
    });
    const first = step(leader, failure(4));
    expect(first.context.nextIndex.n2).toBe(4);
    expect(onlySent(first).msg).toMatchObject({ type: 'AppendEntries', prevLogIndex: 3 });
    const duplicate = step(first.snapshot, failure(4));
    expect(duplicate.context.nextIndex.n2).toBe(4);
    const deeper = steps(duplicate.snapshot, [failure(3), failure(2), failure(1)]);
    expect(deeper.context.nextIndex.n2).toBe(3);
  });

  it('L-3: a reply from an earlier term is dropped (B21)', () => {
    const leader = leaderWith([1, 1], 2);
    const result = step(leader, { type: 'APPEND_ENTRIES_RESPONSE', from: 'n2', msg: { type: 'AppendEntriesResponse', term: 1, success: false } });
    expect(result.context.nextIndex.n2).toBe(3);
    expect(result.sent).toEqual([]);
  });

  it('Figure 13: a follower behind the snapshot is sent InstallSnapshot, then resumes from it', () => {
    const leader = serverAt('leader', {
      currentTerm: 2,
      votedFor: 'n1',
      snapshot: { lastIncludedIndex: 5, lastIncludedTerm: 1 },
      log: entries([2], 6),
      commitIndex: 6,
      lastApplied: 6,
      nextIndex: { n2: 3, n3: 7 },
      matchIndex: { n2: 0, n3: 6 },
    });
    const beat = step(leader, { type: 'HEARTBEAT_TIMEOUT' });
    expect(beat.sent.find((s) => s.to === 'n2')?.msg).toEqual({ type: 'InstallSnapshot', term: 2, leaderId: 'n1', lastIncludedIndex: 5, lastIncludedTerm: 1 });
    const installed = step(beat.snapshot, { type: 'INSTALL_SNAPSHOT_RESPONSE', from: 'n2', msg: { type: 'InstallSnapshotResponse', term: 2, lastIncludedIndex: 5 } });
    expect(installed.context.matchIndex.n2).toBe(5);
    expect(onlySent(installed).msg).toMatchObject({ type: 'AppendEntries', prevLogIndex: 5, prevLogTerm: 1, entries: [{ index: 6, term: 2 }] });
  });
});

describe('IS-1 … IS-8 and SN-1: snapshots', () => {
  it('IS-6: a log holding the snapshot last entry keeps the entries after it', () => {
    const follower = serverAt('follower', { currentTerm: 2, log: entries([1, 1, 2, 2]), commitIndex: 1, lastApplied: 1 });
    const result = step(follower, installSnapshot({ term: 2, lastIncludedIndex: 3, lastIncludedTerm: 2 }));
    expect(result.context.snapshot).toEqual({ lastIncludedIndex: 3, lastIncludedTerm: 2 });
    expect(result.context.log).toEqual(entries([2], 4));
    expect(result.context.commitIndex).toBe(3);
    expect(result.context.lastApplied).toBe(3);
    expect(result.emitted).toContainEqual({ type: 'RESTORE', lastIncludedIndex: 3, lastIncludedTerm: 2 });
    expect(result.sent).toEqual([{ to: 'n2', msg: { type: 'InstallSnapshotResponse', term: 2, lastIncludedIndex: 3 } }]);
  });

  it('IS-7: a log conflicting with the snapshot is discarded whole', () => {
    const follower = serverAt('follower', { currentTerm: 3, log: entries([1, 1, 1, 1]) });
    const result = step(follower, installSnapshot({ term: 3, lastIncludedIndex: 3, lastIncludedTerm: 2 }));
    expect(result.context.log).toEqual([]);
    expect(result.context.snapshot).toEqual({ lastIncludedIndex: 3, lastIncludedTerm: 2 });
  });

  it('IS-1: a snapshot from an earlier term is answered and ignored', () => {
    const follower = serverAt('follower', { currentTerm: 3, log: entries([1]) });
    const result = step(follower, installSnapshot({ term: 2, lastIncludedIndex: 5, lastIncludedTerm: 2 }));
    expect(result.context.snapshot.lastIncludedIndex).toBe(0);
    expect(onlySent(result).msg).toMatchObject({ term: 3 });
  });

  it('IS-8: a snapshot covering only what is committed never regresses the state machine', () => {
    const follower = serverAt('follower', { currentTerm: 2, log: entries([1, 1, 2]), commitIndex: 3, lastApplied: 3 });
    const result = step(follower, installSnapshot({ term: 2, lastIncludedIndex: 2, lastIncludedTerm: 1 }));
    expect(result.context.log).toEqual(entries([1, 1, 2]));
    expect(result.context.lastApplied).toBe(3);
    expect(result.emitted.some((e) => e.type === 'RESTORE')).toBe(false);
  });

  it('SN-1: a server compacts only applied entries, with the right last term', () => {
    const follower = serverAt('follower', { currentTerm: 2, log: entries([1, 2, 2]), commitIndex: 2, lastApplied: 2 });
    const beyond = step(follower, { type: 'TAKE_SNAPSHOT', index: 3 });
    expect(beyond.context.snapshot.lastIncludedIndex).toBe(0);
    const within = step(follower, { type: 'TAKE_SNAPSHOT', index: 2 });
    expect(within.context.snapshot).toEqual({ lastIncludedIndex: 2, lastIncludedTerm: 2 });
    expect(within.context.log).toEqual(entries([2], 3));
  });
});

describe('P-2 and M-*: crash and restart', () => {
  it('a crash keeps currentTerm, votedFor, the log and the snapshot, and loses the volatile state', () => {
    const leader = serverAt('leader', {
      currentTerm: 4,
      votedFor: 'n1',
      log: entries([1, 4]),
      commitIndex: 2,
      lastApplied: 2,
      nextIndex: { n2: 3, n3: 3 },
      matchIndex: { n2: 2, n3: 2 },
    });
    const down = step(leader, { type: 'CRASH' });
    expect(down.role).toBe('down');
    // While down, nothing is heard or sent.
    const deaf = step(down.snapshot, requestVote('n2', { term: 9, lastLogIndex: 9, lastLogTerm: 9 }));
    expect(deaf.sent).toEqual([]);
    expect(deaf.context.currentTerm).toBe(4);
    const up = step(deaf.snapshot, { type: 'RESTART' });
    expect(up.role).toBe('follower');
    expect(up.context).toMatchObject({ currentTerm: 4, votedFor: 'n1', log: entries([1, 4]), commitIndex: 0, lastApplied: 0, nextIndex: {}, matchIndex: {} });
    // M-VOTE across restarts: the vote of term 4 still binds.
    const asked = step(up.snapshot, requestVote('n3', { term: 4, lastLogIndex: 5, lastLogTerm: 4 }));
    expect(onlySent(asked).msg).toMatchObject({ voteGranted: false });
  });
});
