/**
 * The reference core's public types: configuration, log entries, hard state, snapshots, and the
 * numbered Ready that hands work to the host (etcd-raft's and raft-rs's shape).
 *
 * The Ready contract (P-1): the host takes `ready()`, then
 *   1. writes `hardState`, `entries` and `snapshot` to stable storage — synced when `mustSync`;
 *   2. sends `messages` (only now: each may depend on what step 1 made durable);
 *   3. installs `snapshot` into the state machine, then applies `committedEntries` in order;
 *   4. calls `advance(ready.number)`.
 * The core emits the trace events `persist`, `send` and `apply` at `advance`, in that order, which
 * is the order in which the host made them happen.
 */
import type { Message } from '../../spec/schemas/messages.ts';
import type { EntryKind, NodeId, Role } from '../../spec/schemas/primitives.ts';
import type { TraceEvent } from '../../spec/schemas/trace-events.ts';

/** A log entry. `data` is the command, opaque to the core (the KV layer encodes it). */
export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly kind: EntryKind;
  readonly data: string;
}

/** Figure 2's persistent state other than the log, plus commitIndex (persisted as etcd does, for faster recovery). */
export interface HardState {
  readonly currentTerm: number;
  readonly votedFor: NodeId | null;
  readonly commitIndex: number;
}

/** A snapshot (§7): the state machine up to `lastIncludedIndex`, and the voters at that point. */
export interface Snapshot {
  readonly lastIncludedIndex: number;
  readonly lastIncludedTerm: number;
  readonly voters: readonly NodeId[];
  /** The state machine's serialized state, opaque to the core. */
  readonly data: string;
}

/** What a node recovers from stable storage at boot (P-2). */
export interface DurableState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  /** Entries after the snapshot, in index order. */
  readonly entries: readonly Entry[];
}

/** A message with its addressing. Messages are trace format v1's RPCs, plus core-only fields. */
export interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly msg: Message;
}

/** A read that may be served once the state machine has applied `index` (§8, ReadIndex). */
export interface ReadState {
  readonly ctx: string;
  readonly index: number;
}

/** Work for the host; see the contract at the top of this file. */
export interface Ready {
  /** Acknowledge with `advance(number)`. Numbers increase by one per Ready. */
  readonly number: number;
  /** Present when currentTerm, votedFor or commitIndex changed. */
  readonly hardState: HardState | undefined;
  /** Entries to write; the first may overwrite (truncate) a suffix of what storage holds. */
  readonly entries: readonly Entry[];
  /** A snapshot received from the leader, to persist and install. */
  readonly snapshot: Snapshot | undefined;
  /** True when the host must sync before sending: the term, the vote or entries changed. */
  readonly mustSync: boolean;
  readonly messages: readonly Envelope[];
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  /** The role and known leader after this Ready. */
  readonly role: Role;
  readonly leader: NodeId | null;
}

/** Randomness, injected: the core never calls Math.random. */
export interface RandomSource {
  /** A uniform integer in [from, to], both included. */
  int(from: number, to: number): number;
}

/** A sink for trace events; when absent the core builds none (zero cost). */
export type TraceSink = (event: TraceEvent) => void;

export interface Config {
  readonly id: NodeId;
  /** The voting configuration. Kept as data (not a constant) so that membership changes can come later. */
  readonly voters: readonly NodeId[];
  /** The election timeout is drawn uniformly from [min, max] ticks at every reset (§5.2). */
  readonly electionTimeoutTicksMin: number;
  readonly electionTimeoutTicksMax: number;
  readonly heartbeatIntervalTicks: number;
  /** Batching: at most this many entries, and about this many bytes of `data`, per AppendEntries. */
  readonly maxEntriesPerMessage: number;
  readonly maxBytesPerMessage: number;
  /** Pipelining: at most this many unacknowledged AppendEntries per follower. */
  readonly maxInflightMessages: number;
  /** Snapshot `data` is sent in chunks of this many characters (offset/done). */
  readonly snapshotChunkBytes: number;
  /** At most this many committed entries per Ready (default 4096): a long apply is spread over several. */
  readonly maxCommittedEntriesPerReady?: number | undefined;
}

export const DEFAULT_MAX_COMMITTED_ENTRIES_PER_READY = 4096;

export const DEFAULT_CONFIG: Omit<Config, 'id' | 'voters'> = Object.freeze({
  electionTimeoutTicksMin: 10,
  electionTimeoutTicksMax: 20,
  heartbeatIntervalTicks: 2,
  maxEntriesPerMessage: 64,
  maxBytesPerMessage: 64 * 1024,
  maxInflightMessages: 8,
  snapshotChunkBytes: 16 * 1024,
});

/** Why a proposal or read was refused: only the leader takes them; others name the leader they know. */
export type Refusal = { readonly ok: false; readonly reason: 'not-leader'; readonly leaderHint: NodeId | null };
export type ProposeResult = { readonly ok: true; readonly index: number; readonly term: number } | Refusal;
export type ReadIndexResult = { readonly ok: true } | Refusal;
