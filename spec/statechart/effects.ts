/**
 * The effects of Figure 2's rules: pure functions from the current context (and the event's data)
 * to a context update or to the messages to send. The statechart wires each to a named action.
 */
import type { AppendEntries, InstallSnapshot, Message } from '../schemas/messages.ts';
import type { NodeId } from '../schemas/primitives.ts';
import type { LogEntry } from '../schemas/trace-events.ts';
import { committableIndex } from './guards.ts';
import { entriesFrom, entryAt, lastLogIndex, lastLogTerm, mergeEntries, termAt } from './log.ts';
import type { ServerContext } from './server-context.ts';

/** An RPC to send. */
export interface Outgoing {
  readonly to: NodeId;
  readonly msg: Message;
}

type Update = Partial<ServerContext>;

/** The other servers of the configuration. */
export function peersOf(context: ServerContext): readonly NodeId[] {
  return context.voters.filter((v) => v !== context.id);
}

/** ALL-2: adopt the later term; the vote of the old term does not carry over. */
export function adoptTerm(term: number): Update {
  return { currentTerm: term, votedFor: null };
}

/** C-1: increment currentTerm, vote for self. (The election timer is the environment's: timers are events.) */
export function startElection(context: ServerContext): Update {
  return { currentTerm: context.currentTerm + 1, votedFor: context.id, votesReceived: [context.id] };
}

/** C-1: RequestVote to all other servers. */
export function requestVotes(context: ServerContext): readonly Outgoing[] {
  return peersOf(context).map((to) => ({
    to,
    msg: {
      type: 'RequestVote',
      term: context.currentTerm,
      candidateId: context.id,
      lastLogIndex: lastLogIndex(context),
      lastLogTerm: lastLogTerm(context),
    },
  }));
}

/** C-2: count a distinct voter. */
export function recordVote(context: ServerContext, from: NodeId): Update {
  return context.votesReceived.includes(from) ? {} : { votesReceived: [...context.votesReceived, from] };
}

/** Figure 2, "Volatile state on leaders (reinitialized after election)". */
export function initializeLeaderState(context: ServerContext): Update {
  const nextIndex: Record<NodeId, number> = {};
  const matchIndex: Record<NodeId, number> = {};
  for (const peer of peersOf(context)) {
    nextIndex[peer] = lastLogIndex(context) + 1;
    matchIndex[peer] = 0;
  }
  return { nextIndex, matchIndex };
}

/**
 * L-1 and L-3: what the leader sends a follower — AppendEntries with the entries from nextIndex
 * (none: a heartbeat), or InstallSnapshot when nextIndex is inside the snapshot (Figure 13).
 */
export function replicationMessage(context: ServerContext, to: NodeId): Outgoing {
  const nextIndex = context.nextIndex[to] ?? lastLogIndex(context) + 1;
  if (nextIndex <= context.snapshot.lastIncludedIndex) {
    return {
      to,
      msg: {
        type: 'InstallSnapshot',
        term: context.currentTerm,
        leaderId: context.id,
        lastIncludedIndex: context.snapshot.lastIncludedIndex,
        lastIncludedTerm: context.snapshot.lastIncludedTerm,
      },
    };
  }
  const prevLogIndex = nextIndex - 1;
  const prevLogTerm = termAt(context, prevLogIndex);
  if (prevLogTerm === undefined) throw new Error(`leader ${context.id} has no term at prevLogIndex ${prevLogIndex}`);
  return {
    to,
    msg: {
      type: 'AppendEntries',
      term: context.currentTerm,
      leaderId: context.id,
      prevLogIndex,
      prevLogTerm,
      entries: entriesFrom(context, nextIndex).map((e) => ({ ...e })),
      leaderCommit: context.commitIndex,
    },
  };
}

/** L-1 / L-3: one replication message to every other server. */
export function replicateToAll(context: ServerContext): readonly Outgoing[] {
  return peersOf(context).map((to) => replicationMessage(context, to));
}

/** L-2: append the client's command to the leader's own log. */
export function appendClientCommand(context: ServerContext, command: Pick<LogEntry, 'kind' | 'digest'>): Update {
  const entry: LogEntry = {
    index: lastLogIndex(context) + 1,
    term: context.currentTerm,
    kind: command.kind ?? 'command',
    ...(command.digest === undefined ? {} : { digest: command.digest }),
  };
  return { log: [...context.log, entry] };
}

/**
 * L-3: what a success acknowledges — prevLogIndex + entries.length of the request that was sent
 * (never the leader's log length at reply time, B19); the response's matchIndex when the request
 * is not known.
 */
export function acknowledgedIndex(request: AppendEntries | undefined, reported: number | undefined): number | undefined {
  return request === undefined ? reported : request.prevLogIndex + request.entries.length;
}

/** L-3: a follower acknowledged entries up to `acknowledged`: matchIndex and nextIndex only grow. */
export function recordReplicated(context: ServerContext, from: NodeId, acknowledged: number): Update {
  const matchIndex = Math.max(context.matchIndex[from] ?? 0, acknowledged);
  const nextIndex = Math.max(context.nextIndex[from] ?? 1, matchIndex + 1);
  return {
    matchIndex: { ...context.matchIndex, [from]: matchIndex },
    nextIndex: { ...context.nextIndex, [from]: nextIndex },
  };
}

/**
 * L-3: after an inconsistency, lower nextIndex — to the failed request's prevLogIndex when known
 * (a duplicated or late failure then cannot push it lower twice, B21), else by one — and never
 * below matchIndex + 1 (B20), which is at least 1.
 */
export function retreatNextIndex(context: ServerContext, from: NodeId, request: AppendEntries | undefined): Update {
  const current = context.nextIndex[from] ?? lastLogIndex(context) + 1;
  const lowered = request === undefined ? current - 1 : Math.min(current, request.prevLogIndex);
  const floor = (context.matchIndex[from] ?? 0) + 1;
  return { nextIndex: { ...context.nextIndex, [from]: Math.max(floor, lowered) } };
}

/** L-4: advance commitIndex to the highest committable index. */
export function advanceLeaderCommitIndex(context: ServerContext): Update {
  const n = committableIndex(context);
  if (n === undefined) throw new Error('advanceLeaderCommitIndex without a committable index');
  return { commitIndex: n };
}

/** AE-3, AE-4: merge the request's entries (indices implied by prevLogIndex). */
export function acceptEntries(context: ServerContext, msg: AppendEntries): Update {
  const incoming: LogEntry[] = msg.entries.map((e, k) => ({ ...e, index: msg.prevLogIndex + 1 + k }));
  return { log: mergeEntries(context, incoming) };
}

/** AE-5: commitIndex = min(leaderCommit, index of last new entry), never lower than before. */
export function followLeaderCommit(context: ServerContext, msg: AppendEntries): Update {
  const vouched = Math.min(msg.leaderCommit, msg.prevLogIndex + msg.entries.length);
  return { commitIndex: Math.max(context.commitIndex, vouched) };
}

/** ALL-1: the next entry to apply. */
export function nextToApply(context: ServerContext): LogEntry {
  const entry = entryAt(context, context.lastApplied + 1);
  if (entry === undefined) throw new Error(`entry ${context.lastApplied + 1} to apply is not in the log`);
  return entry;
}

/**
 * IS-6 / IS-7 / IS-8: install a snapshot — keep the entries after its last included entry when the
 * log holds that entry with the same term, else discard the whole log; the state machine and
 * commitIndex move up to the snapshot, never down.
 */
export function installSnapshot(context: ServerContext, msg: InstallSnapshot): Update {
  const keepsSuffix = entryAt(context, msg.lastIncludedIndex)?.term === msg.lastIncludedTerm;
  return {
    snapshot: { lastIncludedIndex: msg.lastIncludedIndex, lastIncludedTerm: msg.lastIncludedTerm },
    log: keepsSuffix ? context.log.filter((e) => e.index > msg.lastIncludedIndex) : [],
    commitIndex: Math.max(context.commitIndex, msg.lastIncludedIndex),
    lastApplied: Math.max(context.lastApplied, msg.lastIncludedIndex),
  };
}

/** SN-1: replace the log up to `index` (applied, so committed) by a snapshot. */
export function compactLog(context: ServerContext, index: number): Update {
  const lastIncludedTerm = termAt(context, index);
  if (lastIncludedTerm === undefined) throw new Error(`no term at snapshot index ${index}`);
  return { snapshot: { lastIncludedIndex: index, lastIncludedTerm }, log: context.log.filter((e) => e.index > index) };
}

/** P-2: a crash loses the volatile state; what is left is the persistent state and what the snapshot proves. */
export function loseVolatileState(context: ServerContext): Update {
  return {
    commitIndex: context.snapshot.lastIncludedIndex,
    lastApplied: context.snapshot.lastIncludedIndex,
    nextIndex: {},
    matchIndex: {},
    votesReceived: [],
  };
}
