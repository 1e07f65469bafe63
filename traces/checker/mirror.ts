/**
 * The checker's mirror of one node's Figure 2 state, built only from that node's own events.
 * Shaped like the spec's LogView (`log`, `snapshot`), so the spec's pure log functions
 * (spec/statechart/log.ts: termAt, logMatches, isAtLeastAsUpToDate …) apply to it unchanged.
 */
import type { LogEntry } from '../../spec/schemas/trace-events.ts';
import type { Role } from '../../spec/schemas/primitives.ts';
import type { SnapshotPoint } from '../../spec/statechart/log.ts';
import type { LocatedEvent } from './types.ts';

/** What the node made durable at its last `persist` (P-1, P-2). */
export interface Persisted {
  readonly term: number;
  readonly votedFor: string | null;
  readonly lastIndex: number;
  /** Term at lastIndex when persisted (undefined when the log mirror did not know it). */
  readonly lastTerm: number | undefined;
}

/** A request the node received and must answer; its answer is checked against the receiver rules. */
export interface PendingRequest {
  readonly at: LocatedEvent;
  /** currentTerm once ALL-2 was applied to the request (the term the answer must carry). */
  readonly term: number;
  /** The request was from an earlier term (RV-1, AE-1, IS-1: the answer must refuse). */
  readonly stale: boolean;
  /** RequestVote: may the vote be granted (RV-2), when known. */
  readonly mayGrant?: boolean | undefined;
  /** AppendEntries: may it succeed (AE-2), when known. */
  readonly maySucceed?: boolean | undefined;
  /** The request's `id`, when the emitter correlates (an answer's `inReplyTo` names it). */
  readonly id?: string | number | undefined;
}

export const CONTEXT_EVENTS_MAX = 8;

export class NodeMirror {
  readonly id: string;
  up = true;
  currentTerm = 0;
  votedFor: string | null = null;
  /** False when votedFor may be stale (a trace without persist/state events, before any evidence). */
  votedForKnown = true;
  role: Role = 'follower';
  /** Entries after the snapshot; log[k].index === snapshot.lastIncludedIndex + 1 + k. */
  log: LogEntry[] = [];
  snapshot: SnapshotPoint = { lastIncludedIndex: 0, lastIncludedTerm: 0 };
  commitIndex = 0;
  lastApplied = 0;
  persisted: Persisted | undefined;
  /** Where the last term raise came from: ALL-2 (a received message) or the node itself. */
  termRaisedByMessage = false;
  /** The last message received (AE-3, AE-5, IS-6/7 attribute log changes to it). */
  lastReceived: LocatedEvent | undefined;
  /** Since the last role change: an election timeout fired (F-2, C-4). */
  timedOutSinceRoleChange = false;
  /** Candidate: distinct voters that granted their vote in currentTerm (C-2). */
  readonly votesGranted = new Set<string>();
  /** Leader: highest acknowledged matchIndex per follower in currentTerm (L-3, L-4). */
  readonly acknowledged = new Map<string, number>();
  /** The term in which this node's election timeout fired while it was a candidate (C-4). */
  timedOutAsCandidateInTerm = -1;
  /** Candidate of term T that heard a leader of T (C-3). */
  heardLeaderInTerm = -1;
  /** Requests awaiting this node's answer, per peer and answer type, oldest first. */
  readonly pending = new Map<string, PendingRequest[]>();
  /** The node's active configuration (config and init events; MC-3), when the trace shows it. */
  voters: readonly string[] | undefined;
  /** The old configuration while a joint C(old,new) is in effect. */
  joint: readonly string[] | undefined;
  /** The last few events of this node (violation context). */
  readonly recent: LocatedEvent[] = [];

  constructor(id: string) {
    this.id = id;
  }

  lastIndex(): number {
    return this.snapshot.lastIncludedIndex + this.log.length;
  }

  remember(e: LocatedEvent): void {
    this.recent.push(e);
    if (this.recent.length > CONTEXT_EVENTS_MAX) this.recent.shift();
  }

  /** Entries appended (by index); an entry at an existing index replaces it and drops what follows. */
  append(entries: readonly LogEntry[]): void {
    for (const e of entries) {
      if (e.index <= this.snapshot.lastIncludedIndex) continue;
      const position = e.index - this.snapshot.lastIncludedIndex - 1;
      if (position < this.log.length) this.log.length = position;
      if (position > this.log.length) {
        // A gap: the trace skipped entries; what lies between is unknown, so the mirror restarts there.
        this.log = [];
        this.snapshot = { lastIncludedIndex: e.index - 1, lastIncludedTerm: -1 };
      }
      this.log.push(e);
    }
  }

  truncateFrom(from: number): void {
    const position = from - this.snapshot.lastIncludedIndex - 1;
    if (position < this.log.length) this.log.length = Math.max(0, position);
  }

  /** Replace the prefix up to `index` by a snapshot point, keeping what follows when it matches. */
  compactTo(index: number, term: number, keepSuffix: boolean): void {
    if (index <= this.snapshot.lastIncludedIndex && !keepSuffix) {
      this.log = [];
    }
    const kept = keepSuffix ? this.log.filter((e) => e.index > index) : [];
    this.snapshot = { lastIncludedIndex: index, lastIncludedTerm: term };
    this.log = kept;
  }

  pendingFor(key: string): PendingRequest[] {
    let list = this.pending.get(key);
    if (list === undefined) {
      list = [];
      this.pending.set(key, list);
    }
    return list;
  }
}
