/**
 * What the server statechart holds and hears: Figure 2's state as context, timers and RPC
 * receipts as events, outgoing messages and applied entries as emitted events.
 */
import type {
  AppendEntries,
  AppendEntriesResponse,
  InstallSnapshot,
  InstallSnapshotResponse,
  Message,
  RequestVote,
  RequestVoteResponse,
} from '../schemas/messages.ts';
import type { EntryKind, NodeId } from '../schemas/primitives.ts';
import type { LogEntry } from '../schemas/trace-events.ts';
import type { SnapshotPoint } from './log.ts';

/**
 * Figure 2's "State", grouped as the paper groups it. The spec persists every change in the step
 * that makes it (its context IS stable storage), so P-1 holds by construction; CRASH erases only
 * the volatile groups.
 */
export interface ServerContext {
  /** This server's id. */
  readonly id: NodeId;
  /** The voting configuration (fixed here; membership changes come later). */
  readonly voters: readonly NodeId[];

  // Persistent state on all servers (updated on stable storage before responding to RPCs).
  /** Latest term the server has seen (0 on first boot, increases monotonically — M-TERM). */
  readonly currentTerm: number;
  /** Candidate that received this server's vote in currentTerm, or null (M-VOTE). */
  readonly votedFor: NodeId | null;
  /** Log entries after the snapshot; `log[k].index === snapshot.lastIncludedIndex + 1 + k`. */
  readonly log: readonly LogEntry[];
  /** Figure 13: the last entry the snapshot replaces (0/0 for none). */
  readonly snapshot: SnapshotPoint;

  // Volatile state on all servers.
  /** Index of the highest log entry known to be committed (M-COMMIT). */
  readonly commitIndex: number;
  /** Index of the highest log entry applied to the state machine (ALL-1). */
  readonly lastApplied: number;

  // Volatile state on leaders (reinitialized after election).
  /** For each other server, index of the next log entry to send to it. Invariant: matchIndex < nextIndex. */
  readonly nextIndex: Readonly<Record<NodeId, number>>;
  /** For each other server, index of the highest entry known replicated on it (never decreases — L-3). */
  readonly matchIndex: Readonly<Record<NodeId, number>>;

  // Volatile state on candidates.
  /** Distinct voters that granted their vote in currentTerm, this server included (C-2). */
  readonly votesReceived: readonly NodeId[];
}

/** Durable state a server may start from (a restart, or a test's setup). */
export interface PersistentState {
  readonly currentTerm: number;
  readonly votedFor: NodeId | null;
  readonly log: readonly LogEntry[];
  readonly snapshot: SnapshotPoint;
}

/** Input to the machine: who this server is, its peers, and optionally its durable state. */
export interface ServerInput {
  readonly id: NodeId;
  readonly voters: readonly NodeId[];
  readonly persisted?: PersistentState | undefined;
}

/** Timers are events (no `after`): the machine stays deterministic and traversable. */
export interface ElectionTimeout {
  readonly type: 'ELECTION_TIMEOUT';
}
export interface HeartbeatTimeout {
  readonly type: 'HEARTBEAT_TIMEOUT';
}
export interface RequestVoteReceived {
  readonly type: 'REQUEST_VOTE';
  readonly from: NodeId;
  readonly msg: RequestVote;
}
export interface RequestVoteResponseReceived {
  readonly type: 'REQUEST_VOTE_RESPONSE';
  readonly from: NodeId;
  readonly msg: RequestVoteResponse;
}
export interface AppendEntriesReceived {
  readonly type: 'APPEND_ENTRIES';
  readonly from: NodeId;
  readonly msg: AppendEntries;
}
/** `request`, when known, is the AppendEntries this answers: L-3 sets matchIndex from it. */
export interface AppendEntriesResponseReceived {
  readonly type: 'APPEND_ENTRIES_RESPONSE';
  readonly from: NodeId;
  readonly msg: AppendEntriesResponse;
  readonly request?: AppendEntries | undefined;
}
export interface InstallSnapshotReceived {
  readonly type: 'INSTALL_SNAPSHOT';
  readonly from: NodeId;
  readonly msg: InstallSnapshot;
}
export interface InstallSnapshotResponseReceived {
  readonly type: 'INSTALL_SNAPSHOT_RESPONSE';
  readonly from: NodeId;
  readonly msg: InstallSnapshotResponse;
  readonly request?: InstallSnapshot | undefined;
}
/** A client command reaching this server (L-2); only a leader acts on it. */
export interface ClientRequest {
  readonly type: 'CLIENT_REQUEST';
  readonly digest?: string | undefined;
  readonly kind?: EntryKind | undefined;
}
/** Local compaction (§7): replace the log up to `index` with a snapshot (SN-1). */
export interface TakeSnapshot {
  readonly type: 'TAKE_SNAPSHOT';
  readonly index: number;
}
/** The process stops abruptly: only persistent state survives (P-2). */
export interface Crash {
  readonly type: 'CRASH';
}
export interface Restart {
  readonly type: 'RESTART';
}

export type RpcEvent =
  | RequestVoteReceived
  | RequestVoteResponseReceived
  | AppendEntriesReceived
  | AppendEntriesResponseReceived
  | InstallSnapshotReceived
  | InstallSnapshotResponseReceived;

export type ServerEvent =
  | ElectionTimeout
  | HeartbeatTimeout
  | RpcEvent
  | ClientRequest
  | TakeSnapshot
  | Crash
  | Restart;

/** An RPC leaving this server. */
export interface SendEmitted {
  readonly type: 'SEND';
  readonly to: NodeId;
  readonly msg: Message;
}
/** ALL-1: an entry applied to the state machine. */
export interface ApplyEmitted {
  readonly type: 'APPLY';
  readonly index: number;
  readonly term: number;
  readonly digest?: string | undefined;
}
/** IS-8: the state machine reset from a snapshot. */
export interface RestoreEmitted {
  readonly type: 'RESTORE';
  readonly lastIncludedIndex: number;
  readonly lastIncludedTerm: number;
}
export type ServerEmitted = SendEmitted | ApplyEmitted | RestoreEmitted;

/** The machine event for a received message. TimeoutNow (leadership transfer) is not in Figure 2. */
export function messageEvent(from: NodeId, msg: Message): RpcEvent | undefined {
  switch (msg.type) {
    case 'RequestVote':
      return { type: 'REQUEST_VOTE', from, msg };
    case 'RequestVoteResponse':
      return { type: 'REQUEST_VOTE_RESPONSE', from, msg };
    case 'AppendEntries':
      return { type: 'APPEND_ENTRIES', from, msg };
    case 'AppendEntriesResponse':
      return { type: 'APPEND_ENTRIES_RESPONSE', from, msg };
    case 'InstallSnapshot':
      return { type: 'INSTALL_SNAPSHOT', from, msg };
    case 'InstallSnapshotResponse':
      return { type: 'INSTALL_SNAPSHOT_RESPONSE', from, msg };
    case 'TimeoutNow':
      return undefined;
  }
}

/** Figure 2's initial state, or the recovered durable state with fresh volatile state. */
export function initialContext(input: ServerInput): ServerContext {
  if (!input.voters.includes(input.id)) throw new Error(`server ${input.id} is not among the voters ${input.voters.join(',')}`);
  const persisted = input.persisted ?? {
    currentTerm: 0,
    votedFor: null,
    log: [],
    snapshot: { lastIncludedIndex: 0, lastIncludedTerm: 0 },
  };
  persisted.log.forEach((entry, k) => {
    if (entry.index !== persisted.snapshot.lastIncludedIndex + 1 + k) {
      throw new Error(`persisted log position ${k} holds index ${entry.index}, expected ${persisted.snapshot.lastIncludedIndex + 1 + k}`);
    }
  });
  return {
    id: input.id,
    voters: [...input.voters],
    currentTerm: persisted.currentTerm,
    votedFor: persisted.votedFor,
    log: persisted.log,
    snapshot: persisted.snapshot,
    // Volatile state restarts at what the snapshot proves committed and applied.
    commitIndex: persisted.snapshot.lastIncludedIndex,
    lastApplied: persisted.snapshot.lastIncludedIndex,
    nextIndex: {},
    matchIndex: {},
    votesReceived: [],
  };
}
