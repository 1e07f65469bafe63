/**
 * A finite menu of representative events for exploring the spec statechart from any snapshot:
 * for each RPC, one from an earlier, the same and a later term, with logs that match, lag or
 * conflict — enough to enable every guard of every transition. Used by path generation
 * (xstate/graph) and by random exploration.
 */
import { lastLogIndex, lastLogTerm } from '../../spec/statechart/log.ts';
import type { ServerContext, ServerEvent } from '../../spec/statechart/server-context.ts';

/** Representative events a server with this context could receive next, from peer `from`. */
export function representativeEvents(context: ServerContext, from = 'n2'): ServerEvent[] {
  const t = context.currentTerm;
  const last = lastLogIndex(context);
  const lastTerm = lastLogTerm(context);
  const terms = [...new Set([Math.max(0, t - 1), t, t + 1])];
  const events: ServerEvent[] = [
    { type: 'ELECTION_TIMEOUT' },
    { type: 'HEARTBEAT_TIMEOUT' },
    { type: 'CLIENT_REQUEST', digest: `c${last + 1}` },
    { type: 'CRASH' },
    { type: 'RESTART' },
    { type: 'TAKE_SNAPSHOT', index: context.lastApplied },
  ];
  for (const term of terms) {
    events.push(
      // RequestVote from a candidate whose log is as up-to-date as ours, and from one that lags.
      { type: 'REQUEST_VOTE', from, msg: { type: 'RequestVote', term, candidateId: from, lastLogIndex: last, lastLogTerm: lastTerm } },
      { type: 'REQUEST_VOTE', from: 'n3', msg: { type: 'RequestVote', term, candidateId: 'n3', lastLogIndex: 0, lastLogTerm: 0 } },
      { type: 'REQUEST_VOTE_RESPONSE', from, msg: { type: 'RequestVoteResponse', term, voteGranted: true } },
      // AppendEntries: one new entry after our last (commit it), and one whose prevLogIndex is past our end.
      {
        type: 'APPEND_ENTRIES',
        from,
        msg: { type: 'AppendEntries', term, leaderId: from, prevLogIndex: last, prevLogTerm: lastTerm, entries: [{ term }], leaderCommit: last + 1 },
      },
      {
        type: 'APPEND_ENTRIES',
        from,
        msg: { type: 'AppendEntries', term, leaderId: from, prevLogIndex: last, prevLogTerm: lastTerm, entries: [], leaderCommit: 0 },
      },
      {
        type: 'APPEND_ENTRIES',
        from,
        msg: { type: 'AppendEntries', term, leaderId: from, prevLogIndex: last + 1, prevLogTerm: term, entries: [], leaderCommit: 0 },
      },
      { type: 'APPEND_ENTRIES_RESPONSE', from, msg: { type: 'AppendEntriesResponse', term, success: true, matchIndex: last } },
      { type: 'APPEND_ENTRIES_RESPONSE', from, msg: { type: 'AppendEntriesResponse', term, success: false } },
      // InstallSnapshot covering what we have (IS-6 or IS-8) and reaching past our log (IS-7).
      { type: 'INSTALL_SNAPSHOT', from, msg: { type: 'InstallSnapshot', term, leaderId: from, lastIncludedIndex: last, lastIncludedTerm: lastTerm } },
      { type: 'INSTALL_SNAPSHOT', from, msg: { type: 'InstallSnapshot', term, leaderId: from, lastIncludedIndex: last + 2, lastIncludedTerm: term } },
      { type: 'INSTALL_SNAPSHOT_RESPONSE', from, msg: { type: 'InstallSnapshotResponse', term, lastIncludedIndex: last } },
    );
  }
  return events;
}
