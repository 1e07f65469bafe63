/**
 * The server statechart: Figure 2 of the Raft paper (plus Figure 13's InstallSnapshot) as an
 * XState v5 machine. This is the executable spec — slow and plainly correct. Each transition cites
 * the rules it implements in `meta.rules`; guards are Figure 2's conditions (guards.ts), actions
 * its effects (effects.ts). Timers are events and there is no `invoke`, so the machine is
 * deterministic: step it with XState's pure `transition(serverMachine, snapshot, event)`.
 *
 * Shape:
 *   up   — follower (initial) ⇄ candidate → leader; any role → follower on a later term (ALL-2)
 *   down — after CRASH, until RESTART (P-2)
 *
 * Where Figure 2 says "convert to follower" and then handle the message, the machine adopts the
 * term, enters follower, and re-raises the same event: the follower handles it in the new term.
 */
import { assertEvent, assign, emit, enqueueActions, raise, setup } from 'xstate';
import type { RuleId } from '../rules.ts';
import * as effects from './effects.ts';
import * as guards from './guards.ts';
import {
  initialContext,
  type ServerContext,
  type ServerEmitted,
  type ServerEvent,
  type ServerInput,
} from './server-context.ts';

/** Transition metadata: the rules a transition implements (shown on the exported chart). */
export interface TransitionMeta {
  readonly rules: readonly RuleId[];
}
const rules = (...ids: RuleId[]): { meta: TransitionMeta } => ({ meta: { rules: ids } });

const term = (event: ServerEvent): number => {
  if (!('msg' in event)) throw new Error(`event ${event.type} carries no message`);
  return event.msg.term;
};

/**
 * XState's pure `transition()` constructs a throwaway actor — without input — on every call, and
 * that actor evaluates the context factory. Without input, give it a cheap valid context rather
 * than an exception (which XState would catch, at a cost that dominated every step). The input
 * type stays required, so real callers cannot forget it.
 */
const INERT_INPUT: ServerInput = { id: '(unstarted)', voters: ['(unstarted)'] };

/**
 * ALL-2, the same in every role: a request from a later term — adopt the term, become follower
 * (re-entered, when already one), and handle the request again as that follower.
 */
const stepDownThenHandle = {
  guard: 'hasHigherTerm',
  target: 'follower',
  reenter: true,
  actions: ['adoptHigherTerm', 'handleAgain'],
  ...rules('ALL-2'),
} as const;
/** ALL-2 for a response from a later term: adopt the term and become follower; nothing else to do. */
const stepDown = { guard: 'hasHigherTerm', target: 'follower', reenter: true, actions: 'adoptHigherTerm', ...rules('ALL-2') } as const;

export const serverMachine = setup({
  types: {
    context: {} as ServerContext,
    events: {} as ServerEvent,
    input: {} as ServerInput,
    emitted: {} as ServerEmitted,
    meta: {} as TransitionMeta,
  },
  guards: {
    /** ALL-2 */
    hasHigherTerm: ({ context, event }) => 'msg' in event && guards.hasHigherTerm(context, event.msg),
    /** RV-1, AE-1, IS-1; stale responses */
    isStaleTerm: ({ context, event }) => 'msg' in event && guards.isStaleTerm(context, event.msg),
    /** RV-2 */
    canGrantVote: ({ context, event }) => event.type === 'REQUEST_VOTE' && guards.canGrantVote(context, event.msg),
    /** AE-2 */
    logDoesNotMatch: ({ context, event }) => event.type === 'APPEND_ENTRIES' && guards.logDoesNotMatch(context, event.msg),
    /** AE-5 */
    leaderCommitIsAhead: ({ context, event }) => event.type === 'APPEND_ENTRIES' && guards.leaderCommitIsAhead(context, event.msg),
    /** C-2 */
    isVoteForCurrentTerm: ({ context, event }) =>
      event.type === 'REQUEST_VOTE_RESPONSE' && guards.isVoteForCurrentTerm(context, event.from, event.msg),
    /** C-2 */
    hasVotesFromMajority: ({ context }) => guards.hasVotesFromMajority(context),
    /** L-3 */
    replicationSucceeded: ({ event }) => event.type === 'APPEND_ENTRIES_RESPONSE' && event.msg.success,
    /** L-4 */
    canAdvanceCommitIndex: ({ context }) => guards.canAdvanceCommitIndex(context),
    /** ALL-1 */
    hasCommittedUnapplied: ({ context }) => guards.hasCommittedUnapplied(context),
    /** IS-8 */
    snapshotAddsNothing: ({ context, event }) => event.type === 'INSTALL_SNAPSHOT' && guards.snapshotAddsNothing(context, event.msg),
    /** SN-1 */
    canSnapshotAt: ({ context, event }) => event.type === 'TAKE_SNAPSHOT' && guards.canSnapshotAt(context, event.index),
  },
  actions: {
    /** ALL-2: currentTerm = T, votedFor = null (the role change is the transition's target). */
    adoptHigherTerm: assign(({ event }) => effects.adoptTerm(term(event))),
    /** ALL-2: handle the rest of the message in the new term and role. */
    handleAgain: raise(({ event }) => event),

    /** RV-2: record the vote (stable storage: the context) before the reply leaves. */
    recordVoteFor: assign(({ event }) => {
      assertEvent(event, 'REQUEST_VOTE');
      return { votedFor: event.msg.candidateId };
    }),
    replyVoteGranted: emit(({ context, event }) => {
      assertEvent(event, 'REQUEST_VOTE');
      return { type: 'SEND' as const, to: event.from, msg: { type: 'RequestVoteResponse' as const, term: context.currentTerm, voteGranted: true } };
    }),
    replyVoteDenied: emit(({ context, event }) => {
      assertEvent(event, 'REQUEST_VOTE');
      return { type: 'SEND' as const, to: event.from, msg: { type: 'RequestVoteResponse' as const, term: context.currentTerm, voteGranted: false } };
    }),

    /** C-1 */
    startElection: assign(({ context }) => effects.startElection(context)),
    sendRequestVotes: enqueueActions(({ context, enqueue }) => {
      for (const out of effects.requestVotes(context)) enqueue.emit({ type: 'SEND', ...out });
    }),
    /** C-2 */
    recordVote: assign(({ context, event }) => {
      assertEvent(event, 'REQUEST_VOTE_RESPONSE');
      return effects.recordVote(context, event.from);
    }),

    /** AE-1, AE-2 */
    replyAppendFailure: emit(({ context, event }) => {
      assertEvent(event, ['APPEND_ENTRIES']);
      return { type: 'SEND' as const, to: event.from, msg: { type: 'AppendEntriesResponse' as const, term: context.currentTerm, success: false } };
    }),
    /** AE-3, AE-4 */
    acceptEntries: assign(({ context, event }) => {
      assertEvent(event, 'APPEND_ENTRIES');
      return effects.acceptEntries(context, event.msg);
    }),
    /** AE-5 */
    followLeaderCommit: assign(({ context, event }) => {
      assertEvent(event, 'APPEND_ENTRIES');
      return effects.followLeaderCommit(context, event.msg);
    }),
    replyAppendSuccess: emit(({ context, event }) => {
      assertEvent(event, 'APPEND_ENTRIES');
      const matchIndex = event.msg.prevLogIndex + event.msg.entries.length;
      return { type: 'SEND' as const, to: event.from, msg: { type: 'AppendEntriesResponse' as const, term: context.currentTerm, success: true, matchIndex } };
    }),

    /** IS-6, IS-7, IS-8 */
    installSnapshot: assign(({ context, event }) => {
      assertEvent(event, 'INSTALL_SNAPSHOT');
      return effects.installSnapshot(context, event.msg);
    }),
    announceRestore: emit(({ event }) => {
      assertEvent(event, 'INSTALL_SNAPSHOT');
      return { type: 'RESTORE' as const, lastIncludedIndex: event.msg.lastIncludedIndex, lastIncludedTerm: event.msg.lastIncludedTerm };
    }),
    replySnapshot: emit(({ context, event }) => {
      assertEvent(event, 'INSTALL_SNAPSHOT');
      return {
        type: 'SEND' as const,
        to: event.from,
        msg: { type: 'InstallSnapshotResponse' as const, term: context.currentTerm, lastIncludedIndex: event.msg.lastIncludedIndex },
      };
    }),

    /** L-1 (reinitialized after election) */
    initializeLeaderState: assign(({ context }) => effects.initializeLeaderState(context)),
    /** L-1, L-3 */
    replicateToAll: enqueueActions(({ context, enqueue }) => {
      for (const out of effects.replicateToAll(context)) enqueue.emit({ type: 'SEND', ...out });
    }),
    /** L-3: retry to the server that answered */
    replicateToSender: emit(({ context, event }) => {
      assertEvent(event, ['APPEND_ENTRIES_RESPONSE', 'INSTALL_SNAPSHOT_RESPONSE']);
      return { type: 'SEND' as const, ...effects.replicationMessage(context, event.from) };
    }),
    /** L-2 */
    appendClientCommand: assign(({ context, event }) => {
      assertEvent(event, 'CLIENT_REQUEST');
      return effects.appendClientCommand(context, { kind: event.kind, digest: event.digest });
    }),
    /** L-3 */
    recordReplicated: assign(({ context, event }) => {
      assertEvent(event, 'APPEND_ENTRIES_RESPONSE');
      const acknowledged = effects.acknowledgedIndex(event.request, event.msg.matchIndex);
      // A success that says nothing about what it acknowledges proves nothing: record nothing.
      return acknowledged === undefined ? {} : effects.recordReplicated(context, event.from, acknowledged);
    }),
    /** L-3 (Figure 13): the follower now holds everything up to the snapshot */
    recordSnapshotInstalled: assign(({ context, event }) => {
      assertEvent(event, 'INSTALL_SNAPSHOT_RESPONSE');
      const installed = event.msg.lastIncludedIndex ?? event.request?.lastIncludedIndex;
      return installed === undefined ? {} : effects.recordReplicated(context, event.from, installed);
    }),
    /** L-3 */
    retreatNextIndex: assign(({ context, event }) => {
      assertEvent(event, 'APPEND_ENTRIES_RESPONSE');
      return effects.retreatNextIndex(context, event.from, event.request);
    }),
    /** L-4 */
    advanceLeaderCommitIndex: assign(({ context }) => effects.advanceLeaderCommitIndex(context)),

    /** ALL-1: apply log[lastApplied + 1] */
    applyNextEntry: enqueueActions(({ context, enqueue }) => {
      const entry = effects.nextToApply(context);
      enqueue.assign({ lastApplied: entry.index });
      enqueue.emit({ type: 'APPLY', index: entry.index, term: entry.term, ...(entry.digest === undefined ? {} : { digest: entry.digest }) });
    }),
    /** SN-1 */
    compactLog: assign(({ context, event }) => {
      assertEvent(event, 'TAKE_SNAPSHOT');
      return effects.compactLog(context, event.index);
    }),
    /** P-2 */
    loseVolatileState: assign(({ context }) => effects.loseVolatileState(context)),
  },
}).createMachine({
  id: 'server',
  context: ({ input }) => initialContext((input as ServerInput | undefined) ?? INERT_INPUT),
  initial: 'up',
  states: {
    up: {
      initial: 'follower',
      // ALL-1: whenever commitIndex > lastApplied, apply the next entry — in every role.
      always: { guard: 'hasCommittedUnapplied', actions: 'applyNextEntry', ...rules('ALL-1') },
      on: {
        CRASH: { target: 'down', actions: 'loseVolatileState', ...rules('P-2') },
        TAKE_SNAPSHOT: { guard: 'canSnapshotAt', actions: 'compactLog', ...rules('SN-1') },
      },
      states: {
        follower: {
          on: {
            // F-2: no AppendEntries from the current leader and no vote granted within the timeout.
            ELECTION_TIMEOUT: { target: 'candidate', ...rules('F-2') },
            REQUEST_VOTE: [
              stepDownThenHandle,
              { guard: 'isStaleTerm', actions: 'replyVoteDenied', ...rules('RV-1') },
              { guard: 'canGrantVote', actions: ['recordVoteFor', 'replyVoteGranted'], ...rules('RV-2', 'P-1') },
              { actions: 'replyVoteDenied', ...rules('RV-2') },
            ],
            APPEND_ENTRIES: [
              stepDownThenHandle,
              { guard: 'isStaleTerm', actions: 'replyAppendFailure', ...rules('AE-1') },
              { guard: 'logDoesNotMatch', actions: 'replyAppendFailure', ...rules('AE-2') },
              {
                guard: 'leaderCommitIsAhead',
                actions: ['acceptEntries', 'followLeaderCommit', 'replyAppendSuccess'],
                ...rules('AE-3', 'AE-4', 'AE-5', 'P-1'),
              },
              { actions: ['acceptEntries', 'replyAppendSuccess'], ...rules('AE-3', 'AE-4', 'P-1') },
            ],
            INSTALL_SNAPSHOT: [
              stepDownThenHandle,
              { guard: 'isStaleTerm', actions: 'replySnapshot', ...rules('IS-1') },
              { guard: 'snapshotAddsNothing', actions: 'replySnapshot', ...rules('IS-8') },
              { actions: ['installSnapshot', 'announceRestore', 'replySnapshot'], ...rules('IS-6', 'IS-7', 'IS-8') },
            ],
            // Responses reach a follower only from an earlier role or term: only ALL-2 applies.
            REQUEST_VOTE_RESPONSE: stepDown,
            APPEND_ENTRIES_RESPONSE: stepDown,
            INSTALL_SNAPSHOT_RESPONSE: stepDown,
          },
        },
        candidate: {
          // C-1: increment currentTerm, vote for self, send RequestVote to all other servers.
          entry: ['startElection', 'sendRequestVotes'],
          // C-2: a majority of distinct voters in this term (a single-server cluster wins at once).
          always: { guard: 'hasVotesFromMajority', target: 'leader', ...rules('C-2') },
          on: {
            ELECTION_TIMEOUT: { target: 'candidate', reenter: true, ...rules('C-4') },
            REQUEST_VOTE: [
              stepDownThenHandle,
              { guard: 'isStaleTerm', actions: 'replyVoteDenied', ...rules('RV-1') },
              // It voted for itself in this term (C-1), so RV-2 denies everyone else.
              { actions: 'replyVoteDenied', ...rules('RV-2') },
            ],
            REQUEST_VOTE_RESPONSE: [
              stepDown,
              { guard: 'isVoteForCurrentTerm', actions: 'recordVote', ...rules('C-2') },
            ],
            APPEND_ENTRIES: [
              stepDownThenHandle,
              { guard: 'isStaleTerm', actions: 'replyAppendFailure', ...rules('AE-1') },
              // C-3: a leader of this term exists; become its follower and handle the message as one.
              { target: 'follower', actions: 'handleAgain', ...rules('C-3') },
            ],
            INSTALL_SNAPSHOT: [
              stepDownThenHandle,
              { guard: 'isStaleTerm', actions: 'replySnapshot', ...rules('IS-1') },
              { target: 'follower', actions: 'handleAgain', ...rules('C-3') },
            ],
            APPEND_ENTRIES_RESPONSE: stepDown,
            INSTALL_SNAPSHOT_RESPONSE: stepDown,
          },
        },
        leader: {
          // L-1: reinitialize nextIndex/matchIndex, then heartbeat every server at once.
          entry: ['initializeLeaderState', 'replicateToAll'],
          // L-4: commit what a majority holds, if it is of the current term (Figure 8).
          always: { guard: 'canAdvanceCommitIndex', actions: 'advanceLeaderCommitIndex', ...rules('L-4') },
          on: {
            HEARTBEAT_TIMEOUT: { actions: 'replicateToAll', ...rules('L-1', 'L-3') },
            CLIENT_REQUEST: { actions: ['appendClientCommand', 'replicateToAll'], ...rules('L-2', 'L-3') },
            REQUEST_VOTE: [
              stepDownThenHandle,
              { guard: 'isStaleTerm', actions: 'replyVoteDenied', ...rules('RV-1') },
              { actions: 'replyVoteDenied', ...rules('RV-2') },
            ],
            APPEND_ENTRIES: [
              stepDownThenHandle,
              { guard: 'isStaleTerm', actions: 'replyAppendFailure', ...rules('AE-1') },
              // Another leader in this term would break Election Safety: refuse, change nothing.
              { actions: 'replyAppendFailure', ...rules('S-ES') },
            ],
            INSTALL_SNAPSHOT: [
              stepDownThenHandle,
              { guard: 'isStaleTerm', actions: 'replySnapshot', ...rules('IS-1') },
              { actions: 'replySnapshot', ...rules('S-ES') },
            ],
            APPEND_ENTRIES_RESPONSE: [
              stepDown,
              // A reply from an earlier term answers a request of an earlier leadership: drop it (B21).
              { guard: 'isStaleTerm', ...rules('L-3') },
              { guard: 'replicationSucceeded', actions: 'recordReplicated', ...rules('L-3') },
              { actions: ['retreatNextIndex', 'replicateToSender'], ...rules('L-3') },
            ],
            INSTALL_SNAPSHOT_RESPONSE: [
              stepDown,
              { guard: 'isStaleTerm', ...rules('L-3') },
              { actions: ['recordSnapshotInstalled', 'replicateToSender'], ...rules('L-3') },
            ],
            REQUEST_VOTE_RESPONSE: stepDown,
          },
        },
      },
    },
    down: {
      // P-2: the restarted server recovers exactly its persistent state, as a follower.
      on: { RESTART: { target: 'up', ...rules('P-2') } },
    },
  },
});

export type ServerMachine = typeof serverMachine;
