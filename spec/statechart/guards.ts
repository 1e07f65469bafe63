/**
 * The conditions of Figure 2 (and Figure 13), one pure predicate each, named as the machine's
 * guards name them. Each cites its rule; the statechart (server-machine.ts) wires them to
 * transitions, and the trace checker reuses them.
 */
import type { AppendEntries, InstallSnapshot, RequestVote, RequestVoteResponse } from '../schemas/messages.ts';
import type { NodeId } from '../schemas/primitives.ts';
import { entryAt, isAtLeastAsUpToDate, lastLogIndex, lastLogTerm, logMatches, quorumSize, termAt } from './log.ts';
import type { ServerContext } from './server-context.ts';

/** ALL-2: a request or response from a later term. */
export function hasHigherTerm(context: ServerContext, msg: { readonly term: number }): boolean {
  return msg.term > context.currentTerm;
}

/** RV-1, AE-1, IS-1 (and stale responses): a message from an earlier term. */
export function isStaleTerm(context: ServerContext, msg: { readonly term: number }): boolean {
  return msg.term < context.currentTerm;
}

/**
 * RV-2: grant only if we have not voted for someone else in this term, and the candidate's log
 * is at least as up-to-date as ours (§5.4.1).
 */
export function canGrantVote(context: ServerContext, msg: RequestVote): boolean {
  const notVotedForAnother = context.votedFor === null || context.votedFor === msg.candidateId;
  const candidateLogIsUpToDate = isAtLeastAsUpToDate(msg, {
    lastLogIndex: lastLogIndex(context),
    lastLogTerm: lastLogTerm(context),
  });
  return notVotedForAnother && candidateLogIsUpToDate;
}

/** AE-2: the log has no entry at prevLogIndex whose term is prevLogTerm (past the end included). */
export function logDoesNotMatch(context: ServerContext, msg: AppendEntries): boolean {
  return !logMatches(context, { index: msg.prevLogIndex, term: msg.prevLogTerm });
}

/** C-2: a granted vote, cast in the current term, by a voter of the configuration. */
export function isVoteForCurrentTerm(context: ServerContext, from: NodeId, msg: RequestVoteResponse): boolean {
  return msg.voteGranted && msg.term === context.currentTerm && context.voters.includes(from);
}

/** C-2: votes from a majority of distinct voters. */
export function hasVotesFromMajority(context: ServerContext): boolean {
  const distinctVoters = new Set(context.votesReceived.filter((v) => context.voters.includes(v)));
  return distinctVoters.size >= quorumSize(context.voters);
}

/**
 * L-4: the highest N > commitIndex such that a majority has matchIndex ≥ N (the leader counting
 * its own log) and log[N].term == currentTerm; `undefined` when there is none. Entries of earlier
 * terms are never committed by counting replicas (Figure 8); they commit with the first
 * current-term entry above them.
 */
export function committableIndex(context: ServerContext): number | undefined {
  for (let n = lastLogIndex(context); n > context.commitIndex; n--) {
    const term = termAt(context, n);
    if (term === undefined || term < context.currentTerm) return undefined;
    if (term !== context.currentTerm) continue;
    const replicas = context.voters.filter((v) => (v === context.id ? lastLogIndex(context) : (context.matchIndex[v] ?? 0)) >= n);
    if (replicas.length >= quorumSize(context.voters)) return n;
  }
  return undefined;
}

/** L-4: there is an index the leader may commit. */
export function canAdvanceCommitIndex(context: ServerContext): boolean {
  return committableIndex(context) !== undefined;
}

/** ALL-1: commitIndex > lastApplied. */
export function hasCommittedUnapplied(context: ServerContext): boolean {
  return context.commitIndex > context.lastApplied;
}

/**
 * AE-5: leaderCommit > commitIndex, and the entries this message vouches for reach past it.
 * Figure 2 sets commitIndex = min(leaderCommit, index of last new entry); when that minimum is not
 * above commitIndex there is nothing to do — commitIndex never decreases (M-COMMIT, B15).
 */
export function leaderCommitIsAhead(context: ServerContext, msg: AppendEntries): boolean {
  return Math.min(msg.leaderCommit, msg.prevLogIndex + msg.entries.length) > context.commitIndex;
}

/** IS-8: a snapshot that covers nothing beyond what is already committed is old news. */
export function snapshotAddsNothing(context: ServerContext, msg: InstallSnapshot): boolean {
  return msg.lastIncludedIndex <= context.commitIndex;
}

/** IS-6: the log has an entry with the snapshot's last included index and term. */
export function logHasSnapshotLastEntry(context: ServerContext, msg: InstallSnapshot): boolean {
  return entryAt(context, msg.lastIncludedIndex)?.term === msg.lastIncludedTerm;
}

/** SN-1: a local snapshot may cover only entries already applied (so committed), beyond the current one. */
export function canSnapshotAt(context: ServerContext, index: number): boolean {
  return index > context.snapshot.lastIncludedIndex && index <= context.lastApplied;
}
