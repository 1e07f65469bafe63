/**
 * The RPCs of Figure 2 (RequestVote, AppendEntries), Figure 13 (InstallSnapshot) and leadership
 * transfer (TimeoutNow), as they appear inside `send`/`recv` trace events (`msg`).
 *
 * Objects are loose: unknown fields are preserved and ignored, so an implementation may carry its
 * own extras (etcd's `reject hint`, a batch id) without failing validation.
 */
import { z } from 'zod';
import { unknownDiscriminator } from './errors.ts';
import { CorrelationId, EntryIndex, EntryKind, Index, NodeId, Term } from './primitives.ts';

/** An entry as carried by AppendEntries: `index` is optional because it is implied by `prevLogIndex`. */
export const MessageEntry = z.looseObject({
  term: Term,
  index: EntryIndex.optional(),
  kind: EntryKind.optional(),
  digest: z.string().optional().describe('any string identifying the command (used for State Machine Safety)'),
});
export type MessageEntry = z.infer<typeof MessageEntry>;

const request = { id: CorrelationId.optional() };
const response = { inReplyTo: CorrelationId.optional() };

/** RequestVote RPC (Figure 2), invoked by candidates to gather votes (§5.2). */
export const RequestVote = z.looseObject({
  type: z.literal('RequestVote'),
  ...request,
  term: Term.describe("candidate's term"),
  candidateId: NodeId,
  lastLogIndex: Index,
  lastLogTerm: Term,
  preVote: z.boolean().optional(),
});
export type RequestVote = z.infer<typeof RequestVote>;

export const RequestVoteResponse = z.looseObject({
  type: z.literal('RequestVoteResponse'),
  ...response,
  term: Term.describe('currentTerm, for the candidate to update itself'),
  voteGranted: z.boolean(),
  preVote: z.boolean().optional(),
});
export type RequestVoteResponse = z.infer<typeof RequestVoteResponse>;

/** AppendEntries RPC (Figure 2): replicates log entries (§5.3); also the heartbeat (§5.2). */
export const AppendEntries = z.looseObject({
  type: z.literal('AppendEntries'),
  ...request,
  term: Term.describe("leader's term"),
  leaderId: NodeId,
  prevLogIndex: Index,
  prevLogTerm: Term,
  entries: z.array(MessageEntry),
  leaderCommit: Index,
});
export type AppendEntries = z.infer<typeof AppendEntries>;

export const AppendEntriesResponse = z.looseObject({
  type: z.literal('AppendEntriesResponse'),
  ...response,
  term: Term,
  success: z.boolean(),
  matchIndex: Index.optional().describe('on success: prevLogIndex + entries.length of the request answered'),
  conflictIndex: Index.optional().describe("fast backtracking hint (Students' Guide)"),
  conflictTerm: Term.optional().describe("fast backtracking hint (Students' Guide)"),
});
export type AppendEntriesResponse = z.infer<typeof AppendEntriesResponse>;

/** InstallSnapshot RPC (Figure 13, §7). Chunking fields are optional: a trace may show whole snapshots. */
export const InstallSnapshot = z.looseObject({
  type: z.literal('InstallSnapshot'),
  ...request,
  term: Term,
  leaderId: NodeId,
  lastIncludedIndex: Index,
  lastIncludedTerm: Term,
  offset: z.int().min(0).optional(),
  done: z.boolean().optional(),
  size: z.int().min(0).optional(),
});
export type InstallSnapshot = z.infer<typeof InstallSnapshot>;

export const InstallSnapshotResponse = z.looseObject({
  type: z.literal('InstallSnapshotResponse'),
  ...response,
  term: Term,
  lastIncludedIndex: Index.optional(),
});
export type InstallSnapshotResponse = z.infer<typeof InstallSnapshotResponse>;

/** Leadership transfer (thesis §3.10): the target starts an election at once. */
export const TimeoutNow = z.looseObject({
  type: z.literal('TimeoutNow'),
  ...request,
  term: Term,
  leaderId: NodeId,
});
export type TimeoutNow = z.infer<typeof TimeoutNow>;

export const MESSAGE_TYPES = [
  'RequestVote',
  'RequestVoteResponse',
  'AppendEntries',
  'AppendEntriesResponse',
  'InstallSnapshot',
  'InstallSnapshotResponse',
  'TimeoutNow',
] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** Any RPC message, discriminated by `type`. */
export const Message = z.discriminatedUnion(
  'type',
  [RequestVote, RequestVoteResponse, AppendEntries, AppendEntriesResponse, InstallSnapshot, InstallSnapshotResponse, TimeoutNow],
  { error: (issue) => unknownDiscriminator(issue, 'message type', MESSAGE_TYPES) },
);
export type Message = z.infer<typeof Message>;
