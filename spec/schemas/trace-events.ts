/**
 * Trace format v1 (../shared/design/trace-format.md), as Zod schemas. This file is the normative
 * source of the format: the JSON Schema that `figure2 schema trace` prints is generated from it.
 * It may gain optional fields, never lose or rename one.
 *
 * Every object is loose — unknown fields are preserved and ignored — so emitters can add their
 * own fields and newer emitters stay readable by older checkers.
 */
import { z } from 'zod';
import { ClientId, ClientOperation, OperationId } from './client.ts';
import { unknownDiscriminator } from './errors.ts';
import { Message, MessageEntry } from './messages.ts';
import { EntryIndex, EntryKind, Index, NodeId, Role, Term } from './primitives.ts';

/** `votedFor`: a node id, or null when the node has not voted in `currentTerm`. */
export const VotedFor = NodeId.nullable();

/** A log entry as the node holds it: `index` is required here (append, init). */
export const LogEntry = z.looseObject({
  index: EntryIndex,
  term: Term,
  kind: EntryKind.optional(),
  digest: z.string().optional(),
});
export type LogEntry = z.infer<typeof LogEntry>;

/** The node's state AFTER the event, when the emitter reports it; the checker compares it with its mirror. */
export const NodeState = z.looseObject({
  term: Term,
  votedFor: VotedFor,
  role: Role,
  commitIndex: Index,
  lastIndex: Index,
  lastTerm: Term,
  snapshotIndex: Index.optional(),
  snapshotTerm: Term.optional(),
});
export type NodeState = z.infer<typeof NodeState>;

/** A voting configuration (§6); `joint` is the old configuration while C(old,new) is in effect. */
export const Configuration = z.looseObject({
  voters: z.array(NodeId),
  learners: z.array(NodeId).optional(),
  joint: z.array(NodeId).optional(),
});
export type Configuration = z.infer<typeof Configuration>;

const common = { ts: z.number().optional().describe('time (ms or logical ticks): for merging and display only') };
const onNode = { ...common, node: NodeId, state: NodeState.optional() };

export const HeaderEvent = z.looseObject({
  ev: z.literal('header'),
  ...common,
  format: z.literal('raft-trace'),
  version: z.literal(1),
  cluster: z.array(NodeId).describe('the initial voting configuration'),
  source: z.string().optional(),
  meta: z.record(z.string(), z.unknown()).optional(),
});

/** The node starts (first boot or restart after `crash`) with this recovered durable state. */
export const InitEvent = z.looseObject({
  ev: z.literal('init'),
  ...onNode,
  term: Term,
  votedFor: VotedFor,
  lastIndex: Index,
  lastTerm: Term,
  snapshotIndex: Index,
  snapshotTerm: Term,
  commitIndex: Index.optional(),
  lastApplied: Index.optional(),
  entries: z.array(LogEntry).optional(),
  config: Configuration.optional(),
});

export const CrashEvent = z.looseObject({ ev: z.literal('crash'), ...onNode });

export const TimeoutEvent = z.looseObject({
  ev: z.literal('timeout'),
  ...onNode,
  kind: z.enum(['election', 'heartbeat']),
});

export const RoleEvent = z.looseObject({ ev: z.literal('role'), ...onNode, role: Role, term: Term });

export const SendEvent = z.looseObject({ ev: z.literal('send'), ...onNode, to: NodeId, msg: Message });

export const RecvEvent = z.looseObject({ ev: z.literal('recv'), ...onNode, from: NodeId, msg: Message });

/** Emitted by a harness; `node`, when present, is where the loss was observed. */
export const DropEvent = z.looseObject({
  ev: z.literal('drop'),
  ...common,
  node: NodeId.optional(),
  state: NodeState.optional(),
  from: NodeId,
  to: NodeId,
  msg: Message.optional(),
});

export const AppendEvent = z.looseObject({ ev: z.literal('append'), ...onNode, entries: z.array(LogEntry) });

export const TruncateEvent = z.looseObject({
  ev: z.literal('truncate'),
  ...onNode,
  from: EntryIndex.describe('entries with index ≥ from are deleted'),
});

/** Durability barrier: term, vote and the log up to `lastIndex` are on stable storage now. */
export const PersistEvent = z.looseObject({
  ev: z.literal('persist'),
  ...onNode,
  term: Term,
  votedFor: VotedFor,
  lastIndex: Index,
});

export const CommitEvent = z.looseObject({ ev: z.literal('commit'), ...onNode, commitIndex: Index });

export const ApplyEvent = z.looseObject({
  ev: z.literal('apply'),
  ...onNode,
  index: EntryIndex,
  term: Term,
  digest: z.string().optional(),
});

export const SnapshotEvent = z.looseObject({
  ev: z.literal('snapshot'),
  ...onNode,
  lastIncludedIndex: Index,
  lastIncludedTerm: Term,
});

export const RestoreEvent = z.looseObject({
  ev: z.literal('restore'),
  ...onNode,
  lastIncludedIndex: Index,
  lastIncludedTerm: Term,
  from: NodeId.optional(),
});

export const ConfigEvent = z.looseObject({ ev: z.literal('config'), ...onNode, ...Configuration.shape });

const clientCommon = { ...common, client: ClientId, opId: OperationId };

export const InvokeEvent = z.looseObject({
  ev: z.literal('invoke'),
  ...clientCommon,
  op: ClientOperation,
  node: NodeId.optional().describe('the node the client sent the operation to'),
});

/** Completed. `value` is a get's result (null: absent); a cas that did not match completes with `fail`. */
export const OkEvent = z.looseObject({ ev: z.literal('ok'), ...clientCommon, value: z.string().nullable().optional() });

/** Definitely did not take effect. */
export const FailEvent = z.looseObject({ ev: z.literal('fail'), ...clientCommon, error: z.string() });

/** Outcome unknown: it may or may not have taken effect. */
export const InfoEvent = z.looseObject({ ev: z.literal('info'), ...clientCommon, error: z.string().optional() });

export const NODE_EVENT_KINDS = [
  'init',
  'crash',
  'timeout',
  'role',
  'send',
  'recv',
  'drop',
  'append',
  'truncate',
  'persist',
  'commit',
  'apply',
  'snapshot',
  'restore',
  'config',
] as const;
export const CLIENT_EVENT_KINDS = ['invoke', 'ok', 'fail', 'info'] as const;
export const TRACE_EVENT_KINDS = ['header', ...NODE_EVENT_KINDS, ...CLIENT_EVENT_KINDS] as const;
export type TraceEventKind = (typeof TRACE_EVENT_KINDS)[number];

/** One line of a trace. */
export const TraceEvent = z.discriminatedUnion(
  'ev',
  [
    HeaderEvent,
    InitEvent,
    CrashEvent,
    TimeoutEvent,
    RoleEvent,
    SendEvent,
    RecvEvent,
    DropEvent,
    AppendEvent,
    TruncateEvent,
    PersistEvent,
    CommitEvent,
    ApplyEvent,
    SnapshotEvent,
    RestoreEvent,
    ConfigEvent,
    InvokeEvent,
    OkEvent,
    FailEvent,
    InfoEvent,
  ],
  { error: (issue) => unknownDiscriminator(issue, 'event type', TRACE_EVENT_KINDS) },
);
export type TraceEvent = z.infer<typeof TraceEvent>;
export type TraceEventOf<K extends TraceEventKind> = Extract<TraceEvent, { ev: K }>;

export type HeaderEvent = z.infer<typeof HeaderEvent>;
export type InitEvent = z.infer<typeof InitEvent>;
export type CrashEvent = z.infer<typeof CrashEvent>;
export type TimeoutEvent = z.infer<typeof TimeoutEvent>;
export type RoleEvent = z.infer<typeof RoleEvent>;
export type SendEvent = z.infer<typeof SendEvent>;
export type RecvEvent = z.infer<typeof RecvEvent>;
export type DropEvent = z.infer<typeof DropEvent>;
export type AppendEvent = z.infer<typeof AppendEvent>;
export type TruncateEvent = z.infer<typeof TruncateEvent>;
export type PersistEvent = z.infer<typeof PersistEvent>;
export type CommitEvent = z.infer<typeof CommitEvent>;
export type ApplyEvent = z.infer<typeof ApplyEvent>;
export type SnapshotEvent = z.infer<typeof SnapshotEvent>;
export type RestoreEvent = z.infer<typeof RestoreEvent>;
export type ConfigEvent = z.infer<typeof ConfigEvent>;
export type InvokeEvent = z.infer<typeof InvokeEvent>;
export type OkEvent = z.infer<typeof OkEvent>;
export type FailEvent = z.infer<typeof FailEvent>;
export type InfoEvent = z.infer<typeof InfoEvent>;
export { MessageEntry };
