/**
 * The reference Raft core: Figure 2, §5–§8 and Figure 13 (membership changes excepted), in
 * etcd-raft's shape. Input only through `tick`, `step`, `propose`, `readIndex` and `compact`;
 * output only as a numbered Ready, acknowledged with `advance`. No I/O, no clock, no
 * Math.random: time is ticks, randomness is injected, and trace events go to an optional sink.
 *
 * Each role has its own step function (as etcd's `r.step = stepLeader`), and each message type
 * its own small handler; the one dispatcher is `step`.
 */
import type {
  AppendEntries,
  AppendEntriesResponse,
  InstallSnapshot,
  InstallSnapshotResponse,
  Message,
  MessageEntry,
  RequestVote,
  RequestVoteResponse,
} from '../../spec/schemas/messages.ts';
import type { NodeId, Role } from '../../spec/schemas/primitives.ts';
import { assert } from './assert.ts';
import { validateConfig } from './config.ts';
import { Progress } from './progress.ts';
import { RaftLog } from './raft-log.ts';
import type { LogReader } from './storage.ts';
import { IDENTITY_DIGEST, traceMessage, type TraceDigest } from './trace.ts';
import { DEFAULT_MAX_COMMITTED_ENTRIES_PER_READY } from './types.ts';
import type {
  Config,
  DurableState,
  Entry,
  Envelope,
  HardState,
  ProposeResult,
  RandomSource,
  ReadIndexResult,
  ReadState,
  Ready,
  Snapshot,
  TraceSink,
} from './types.ts';

/** A snapshot being received in chunks (Figure 13, steps 2–5). */
interface IncomingSnapshot {
  readonly term: number;
  readonly lastIncludedIndex: number;
  readonly lastIncludedTerm: number;
  readonly voters: readonly NodeId[];
  readonly chunks: string[];
  offset: number;
}

/** A read waiting for leadership to be confirmed by a heartbeat round (§8). */
interface PendingRead {
  readonly ctx: string;
  readonly index: number;
  readonly round: number;
  readonly acks: Set<NodeId>;
}

/** The Ready handed out and not yet advanced: what `advance` must record. */
interface Outstanding {
  readonly ready: Ready;
  readonly lastEntryIndex: number | undefined;
  readonly appliedTo: number;
  readonly persisted: boolean;
  /**
   * The log's last index when the Ready was handed out: once it is persisted, the log is durable
   * up to there — and no further, even if a snapshot installed meanwhile moved `stableIndex` on.
   */
  readonly logEnd: number;
  /** Whether the `apply` events of its committed entries were emitted already (see installSnapshot). */
  appliesTraced: boolean;
}

export interface NodeStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly currentTerm: number;
  readonly votedFor: NodeId | null;
  readonly leader: NodeId | null;
  readonly commitIndex: number;
  readonly lastApplied: number;
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  readonly lastIndex: number;
  /** Log entries held in memory (bounded by `memoryEntriesMax` when storage backs the log). */
  readonly memoryEntries: number;
}

export interface RaftNodeOptions {
  readonly rng: RandomSource;
  readonly sink?: TraceSink | undefined;
  readonly durable?: DurableState | undefined;
  /**
   * Stable storage behind the log (impl/core/storage.ts). The durable log after the snapshot is
   * read from it — `durable.entries` must then be empty — and only a bounded window of entries
   * (`memoryEntriesMax`) stays in memory. Without it, the whole log is held in memory.
   */
  readonly storage?: LogReader | undefined;
  readonly memoryEntriesMax?: number | undefined;
  /**
   * How trace events name a command (`digest`): the command itself by default. A host may pass a
   * hash (trace-format.md: "any string identifying the command") to keep traces small; it is
   * applied alike to append, apply, send and recv events, so they still match one another.
   */
  readonly traceDigest?: TraceDigest | undefined;
}

type Step = (from: NodeId, msg: Message) => void;

const NOOP_DATA = '';

export class RaftNode {
  readonly id: NodeId;
  private readonly config: Config;
  private readonly rng: RandomSource;
  private readonly sink: TraceSink | undefined;
  private readonly traceDigest: TraceDigest;

  // Persistent state (Figure 2), durable once a Ready carrying it is advanced.
  private currentTerm: number;
  private votedFor: NodeId | null;
  private readonly log: RaftLog;
  private snapshot: Snapshot | null;

  // Volatile state.
  private commitIndex: number;
  private lastApplied: number;
  private role: Role = 'follower';
  private leader: NodeId | null = null;
  private voters: readonly NodeId[];
  private stepRole: Step;

  // Timers, in ticks (§5.2). The election timeout is redrawn at every reset.
  private electionElapsedTicks = 0;
  private heartbeatElapsedTicks = 0;
  private electionTimeoutTicks = 0;

  // Candidate: distinct voters that granted their vote in currentTerm (C-2).
  private readonly votesGranted = new Set<NodeId>();
  // Leader: per-follower progress (nextIndex, matchIndex, flow control).
  private readonly progress = new Map<NodeId, Progress>();
  // Leader: ReadIndex (§8).
  private readRound = 0;
  private readonly readsAwaitingNoop: string[] = [];
  private readonly readsAwaitingRound: PendingRead[] = [];
  private readonly readStates: ReadState[] = [];
  // Follower: a snapshot being received; a complete one waiting for the host.
  private incoming: IncomingSnapshot | null = null;
  private snapshotForHost: Snapshot | null = null;

  // Ready bookkeeping.
  private messages: Envelope[] = [];
  private lastHardState: HardState;
  private readyNumber = 0;
  private outstanding: Outstanding | null = null;

  constructor(config: Config, options: RaftNodeOptions) {
    const errors = validateConfig(config);
    assert(errors.length === 0, () => `invalid config: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
    this.id = config.id;
    this.config = config;
    this.rng = options.rng;
    this.sink = options.sink;
    this.traceDigest = options.traceDigest ?? IDENTITY_DIGEST;
    const durable = options.durable;
    this.snapshot = durable?.snapshot ?? null;
    this.voters = this.snapshot?.voters ?? config.voters;
    this.log = new RaftLog({
      snapshotIndex: this.snapshot?.lastIncludedIndex ?? 0,
      snapshotTerm: this.snapshot?.lastIncludedTerm ?? 0,
      entries: durable?.entries,
      storage: options.storage,
      memoryEntriesMax: options.memoryEntriesMax,
    });
    this.currentTerm = durable?.hardState.currentTerm ?? 0;
    this.votedFor = durable?.hardState.votedFor ?? null;
    // commitIndex is persisted (etcd does so too) but never beyond what the log holds.
    this.commitIndex = Math.min(Math.max(durable?.hardState.commitIndex ?? 0, this.log.snapshotIndex), this.log.lastIndex());
    this.lastApplied = this.log.snapshotIndex;
    this.lastHardState = { currentTerm: this.currentTerm, votedFor: this.votedFor, commitIndex: this.commitIndex };
    this.stepRole = this.stepFollower;
    this.resetElectionTimer();
    this.sink?.({
      ev: 'init',
      node: this.id,
      term: this.currentTerm,
      votedFor: this.votedFor,
      lastIndex: this.log.lastIndex(),
      lastTerm: this.log.lastTerm(),
      snapshotIndex: this.log.snapshotIndex,
      snapshotTerm: this.log.snapshotTerm,
      commitIndex: this.commitIndex,
      lastApplied: this.lastApplied,
      entries: this.log.slice(this.log.snapshotIndex + 1, this.log.lastIndex()).map((e) => this.traceEntry(e)),
      config: { voters: [...this.voters] },
    });
  }

  // ------------------------------------------------------------------------------------------
  // Inputs

  /** One tick of the logical clock: heartbeats on the leader, election timeouts elsewhere. */
  tick(): void {
    if (this.role === 'leader') {
      this.heartbeatElapsedTicks++;
      if (this.heartbeatElapsedTicks >= this.config.heartbeatIntervalTicks) {
        this.heartbeatElapsedTicks = 0;
        this.sink?.({ ev: 'timeout', node: this.id, kind: 'heartbeat' });
        this.broadcastHeartbeat(); // L-1
      }
      return;
    }
    this.electionElapsedTicks++;
    if (this.electionElapsedTicks >= this.electionTimeoutTicks) {
      this.sink?.({ ev: 'timeout', node: this.id, kind: 'election' });
      this.campaign(); // F-2, C-4
    }
  }

  /** A message received. Messages for another node are a host bug. */
  step(envelope: Envelope): void {
    assert(envelope.to === this.id, () => `${this.id} was handed a message for ${envelope.to}`);
    const { from, msg } = envelope;
    if (this.sink !== undefined) this.sink({ ev: 'recv', node: this.id, from, msg: this.traceMessage(msg) });
    if (msg.type === 'TimeoutNow') return; // leadership transfer is not part of this core
    if (msg.term > this.currentTerm) {
      // ALL-2: adopt the term and become follower before handling the rest of the message.
      const leader = msg.type === 'AppendEntries' || msg.type === 'InstallSnapshot' ? from : null;
      this.becomeFollower(msg.term, leader);
    }
    if (msg.term < this.currentTerm) {
      this.answerStale(from, msg); // RV-1, AE-1, IS-1; stale responses are dropped
      return;
    }
    if (msg.type === 'RequestVote') {
      this.handleRequestVote(from, msg);
      return;
    }
    this.stepRole(from, msg);
  }

  /** L-2: a client command, appended to the leader's log; other roles name the leader they know. */
  propose(data: string): ProposeResult {
    if (this.role !== 'leader') return { ok: false, reason: 'not-leader', leaderHint: this.leader };
    const entry: Entry = { index: this.log.lastIndex() + 1, term: this.currentTerm, kind: 'command', data };
    this.appendToOwnLog(entry);
    this.broadcastAppend();
    return { ok: true, index: entry.index, term: entry.term };
  }

  /**
   * §8 ReadIndex: a read at the current commitIndex, released as a ReadState once this leader has
   * committed an entry of its term (its no-op, CL-NOOP) and a heartbeat round has confirmed that a
   * majority still follows it. A leader deposed meanwhile never releases it.
   */
  readIndex(ctx: string): ReadIndexResult {
    if (this.role !== 'leader') return { ok: false, reason: 'not-leader', leaderHint: this.leader };
    if (this.log.term(this.commitIndex) !== this.currentTerm) {
      this.readsAwaitingNoop.push(ctx);
      return { ok: true };
    }
    this.startReadRound(ctx);
    return { ok: true };
  }

  /**
   * Local compaction (§7, SN-1): replace the log up to `index`, which the host has applied, by a
   * snapshot of the state machine (`data`). The host persists the snapshot before calling this.
   */
  compact(index: number, data: string): void {
    assert(index <= this.lastApplied, () => `snapshot at ${index} beyond lastApplied ${this.lastApplied} (SN-1)`);
    if (index <= this.log.snapshotIndex) return;
    const term = this.log.term(index);
    assert(term !== undefined, () => `no term at snapshot index ${index}`);
    this.log.compactTo(index, term, true);
    this.snapshot = { lastIncludedIndex: index, lastIncludedTerm: term, voters: [...this.voters], data };
    this.sink?.({ ev: 'snapshot', node: this.id, lastIncludedIndex: index, lastIncludedTerm: term });
  }

  // ------------------------------------------------------------------------------------------
  // Output: Ready / advance

  hasReady(): boolean {
    if (this.outstanding !== null) return false;
    return (
      this.messages.length > 0 ||
      this.log.unstableFrom <= this.log.lastIndex() ||
      this.snapshotForHost !== null ||
      this.readStates.length > 0 ||
      this.hardStateChanged() ||
      this.committedToHandOut() > this.lastApplied
    );
  }

  /** The next batch of work; see the contract in types.ts. One Ready is outstanding at a time. */
  ready(): Ready {
    assert(this.outstanding === null, () => `Ready ${this.readyNumber} was not advanced before asking for another`);
    const entries = this.log.slice(this.log.unstableFrom, this.log.lastIndex());
    const hardState = this.hardStateChanged() ? this.hardState() : undefined;
    const snapshot = this.snapshotForHost ?? undefined;
    const termOrVoteChanged =
      hardState !== undefined && (hardState.currentTerm !== this.lastHardState.currentTerm || hardState.votedFor !== this.lastHardState.votedFor);
    const appliedTo = this.committedToHandOut(entries);
    const committedEntries = appliedTo > this.lastApplied ? this.log.slice(Math.max(this.lastApplied + 1, this.log.snapshotIndex + 1), appliedTo) : [];
    const ready: Ready = {
      number: ++this.readyNumber,
      hardState,
      entries,
      snapshot,
      mustSync: termOrVoteChanged || entries.length > 0 || snapshot !== undefined,
      messages: this.messages,
      committedEntries,
      readStates: this.readStates.splice(0),
      role: this.role,
      leader: this.leader,
    };
    this.messages = [];
    this.snapshotForHost = null;
    if (hardState !== undefined) this.lastHardState = hardState;
    this.log.unstableFrom = this.log.lastIndex() + 1;
    this.outstanding = {
      ready,
      lastEntryIndex: entries.length > 0 ? (entries[entries.length - 1] as Entry).index : undefined,
      appliedTo,
      persisted: hardState !== undefined || entries.length > 0 || snapshot !== undefined,
      logEnd: this.log.lastIndex(),
      appliesTraced: false,
    };
    return ready;
  }

  /**
   * The host persisted, sent and applied Ready `readyNumber`. Emits the trace events in the order
   * the host made them happen: persist (the durability barrier, P-1), send, apply.
   */
  advance(readyNumber: number): void {
    const outstanding = this.outstanding;
    assert(outstanding !== null && outstanding.ready.number === readyNumber, () => `advance(${readyNumber}) but the outstanding Ready is ${outstanding?.ready.number ?? 'none'}`);
    this.outstanding = null;
    const { ready } = outstanding;
    if (outstanding.lastEntryIndex !== undefined && this.log.term(outstanding.lastEntryIndex) === ready.entries[ready.entries.length - 1]?.term) {
      this.log.stableIndex = Math.max(this.log.stableIndex, Math.min(outstanding.lastEntryIndex, this.log.lastIndex()));
      this.log.release(); // durable now: storage holds what memory may let go of
    }
    if (ready.snapshot !== undefined) this.lastApplied = Math.max(this.lastApplied, ready.snapshot.lastIncludedIndex);
    if (this.sink !== undefined) {
      if (outstanding.persisted) {
        // What this Ready made durable: a snapshot installed while it was out is not, yet (P-2).
        const lastIndex = Math.min(this.log.stableIndex, outstanding.logEnd);
        this.sink({ ev: 'persist', node: this.id, term: this.lastHardState.currentTerm, votedFor: this.lastHardState.votedFor, lastIndex });
      }
      for (const m of ready.messages) this.sink({ ev: 'send', node: this.id, to: m.to, msg: this.traceMessage(m.msg) });
      if (!outstanding.appliesTraced) this.traceApplies(ready.committedEntries);
    }
    this.lastApplied = Math.max(this.lastApplied, outstanding.appliedTo);
    // P-1: the leader's own log now counts toward a majority up to what is durable.
    if (this.role === 'leader') this.maybeCommit();
  }

  private traceApplies(entries: readonly Entry[]): void {
    const sink = this.sink;
    if (sink === undefined) return;
    for (const e of entries) sink({ ev: 'apply', node: this.id, index: e.index, term: e.term, ...(e.data === '' ? {} : { digest: this.traceDigest(e.data) }) });
  }

  status(): NodeStatus {
    return {
      id: this.id,
      role: this.role,
      currentTerm: this.currentTerm,
      votedFor: this.votedFor,
      leader: this.leader,
      commitIndex: this.commitIndex,
      lastApplied: this.lastApplied,
      snapshotIndex: this.log.snapshotIndex,
      snapshotTerm: this.log.snapshotTerm,
      lastIndex: this.log.lastIndex(),
      memoryEntries: this.log.memoryEntries,
    };
  }

  /** The leader's view of a follower (tests and diagnostics). */
  progressOf(peer: NodeId): { readonly matchIndex: number; readonly nextIndex: number; readonly mode: string } | undefined {
    const pr = this.progress.get(peer);
    return pr === undefined ? undefined : { matchIndex: pr.matchIndex, nextIndex: pr.nextIndex, mode: pr.mode };
  }

  /** Entries the log holds in [from, to] (tests and diagnostics). */
  entries(from = this.log.snapshotIndex + 1, to = this.log.lastIndex()): readonly Entry[] {
    return this.log.slice(from, to);
  }

  // ------------------------------------------------------------------------------------------
  // Roles

  private becomeFollower(term: number, leader: NodeId | null): void {
    const termChanged = term !== this.currentTerm;
    if (termChanged) {
      assert(term > this.currentTerm, () => `term going back from ${this.currentTerm} to ${term} (M-TERM)`);
      this.currentTerm = term;
      this.votedFor = null; // the vote of an older term does not carry over (never cleared within a term: B01)
    }
    const roleChanged = this.role !== 'follower';
    this.role = 'follower';
    this.leader = leader;
    this.stepRole = this.stepFollower;
    this.resetElectionTimer();
    this.abandonLeadership();
    if (termChanged || roleChanged) this.sink?.({ ev: 'role', node: this.id, role: 'follower', term: this.currentTerm });
  }

  /** C-1: increment currentTerm, vote for self, reset the timer, ask every other voter. */
  private campaign(): void {
    this.currentTerm++;
    this.votedFor = this.id;
    this.role = 'candidate';
    this.leader = null;
    this.stepRole = this.stepCandidate;
    this.abandonLeadership();
    this.votesGranted.clear();
    this.votesGranted.add(this.id);
    this.resetElectionTimer();
    this.sink?.({ ev: 'role', node: this.id, role: 'candidate', term: this.currentTerm });
    if (this.hasVotesFromMajority()) {
      this.becomeLeader();
      return;
    }
    // The RequestVotes leave with the Ready that persists the self-vote (P-1, bug B02).
    for (const peer of this.voters) {
      if (peer === this.id) continue;
      this.send(peer, {
        type: 'RequestVote',
        term: this.currentTerm,
        candidateId: this.id,
        lastLogIndex: this.log.lastIndex(),
        lastLogTerm: this.log.lastTerm(),
      });
    }
  }

  private becomeLeader(): void {
    assert(this.role === 'candidate', () => `${this.id} becomes leader from ${this.role}`);
    this.role = 'leader';
    this.leader = this.id;
    this.stepRole = this.stepLeader;
    this.heartbeatElapsedTicks = 0;
    this.progress.clear();
    for (const peer of this.voters) {
      if (peer !== this.id) this.progress.set(peer, new Progress(this.log.lastIndex() + 1));
    }
    this.sink?.({ ev: 'role', node: this.id, role: 'leader', term: this.currentTerm });
    // §8: a no-op of the new term, so that earlier entries commit (L-4) and reads can be served.
    this.appendToOwnLog({ index: this.log.lastIndex() + 1, term: this.currentTerm, kind: 'noop', data: NOOP_DATA });
    this.broadcastAppend(); // L-1
  }

  /** Leaving leadership or candidacy: volatile leader state goes, and no pending read is ever answered. */
  private abandonLeadership(): void {
    this.progress.clear();
    this.readsAwaitingNoop.length = 0;
    this.readsAwaitingRound.length = 0;
    this.votesGranted.clear();
  }

  private readonly stepFollower: Step = (from, msg) => {
    switch (msg.type) {
      case 'AppendEntries':
        this.heardFromLeader(from);
        this.handleAppendEntries(from, msg);
        return;
      case 'InstallSnapshot':
        this.heardFromLeader(from);
        this.handleInstallSnapshot(from, msg);
        return;
      default:
        return; // responses of an earlier role in this term: nothing to do
    }
  };

  private readonly stepCandidate: Step = (from, msg) => {
    switch (msg.type) {
      case 'RequestVoteResponse':
        this.handleVote(from, msg);
        return;
      case 'AppendEntries':
      case 'InstallSnapshot':
        // C-3: a leader of this term exists; follow it and handle its message as a follower.
        this.becomeFollower(this.currentTerm, from);
        this.stepFollower(from, msg);
        return;
      default:
        return;
    }
  };

  private readonly stepLeader: Step = (from, msg) => {
    switch (msg.type) {
      case 'AppendEntriesResponse':
        this.handleAppendResponse(from, msg);
        return;
      case 'InstallSnapshotResponse':
        this.handleSnapshotResponse(from, msg);
        return;
      case 'AppendEntries':
      case 'InstallSnapshot':
        // Another leader in this term would break Election Safety (S-ES): a bug somewhere.
        assert(false, () => `${this.id}, leader of term ${this.currentTerm}, received ${msg.type} of the same term from ${from}`);
        return;
      default:
        return;
    }
  };

  // ------------------------------------------------------------------------------------------
  // Receivers (Figure 2, Figure 13)

  private answerStale(from: NodeId, msg: Message): void {
    switch (msg.type) {
      case 'RequestVote':
        this.send(from, { type: 'RequestVoteResponse', term: this.currentTerm, voteGranted: false }); // RV-1
        return;
      case 'AppendEntries':
        this.send(from, { type: 'AppendEntriesResponse', term: this.currentTerm, success: false }); // AE-1
        return;
      case 'InstallSnapshot':
        this.send(from, { type: 'InstallSnapshotResponse', term: this.currentTerm }); // IS-1
        return;
      default:
        return; // a response from an earlier term answers nothing current
    }
  }

  /** RV-2: first come first served in a term, and only to a candidate at least as up-to-date. */
  private handleRequestVote(from: NodeId, msg: RequestVote): void {
    const canVote = this.votedFor === null || this.votedFor === msg.candidateId;
    const upToDate =
      msg.lastLogTerm > this.log.lastTerm() || (msg.lastLogTerm === this.log.lastTerm() && msg.lastLogIndex >= this.log.lastIndex());
    const grant = canVote && upToDate && this.role === 'follower';
    if (grant) {
      this.votedFor = msg.candidateId;
      this.resetElectionTimer(); // F-2: granting a vote resets the timer (B08)
    }
    // The grant leaves with the Ready that persists votedFor (P-1).
    this.send(from, { type: 'RequestVoteResponse', term: this.currentTerm, voteGranted: grant });
  }

  /** C-2: count distinct voters of this term; a majority elects. */
  private handleVote(from: NodeId, msg: RequestVoteResponse): void {
    if (!msg.voteGranted || !this.voters.includes(from)) return;
    this.votesGranted.add(from);
    if (this.hasVotesFromMajority()) this.becomeLeader();
  }

  private hasVotesFromMajority(): boolean {
    return this.votesGranted.size >= quorum(this.voters);
  }

  private heardFromLeader(from: NodeId): void {
    this.leader = from;
    this.electionElapsedTicks = 0;
  }

  /** AE-2 … AE-5, with the Students' Guide's conflict hints on rejection. */
  private handleAppendEntries(from: NodeId, msg: AppendEntries): void {
    const round = (msg as { round?: unknown }).round;
    if (!this.log.matches(msg.prevLogIndex, msg.prevLogTerm)) {
      // AE-2: no entry at prevLogIndex with prevLogTerm. Hint where the leader should look next.
      const beyondEnd = msg.prevLogIndex > this.log.lastIndex();
      const conflictTerm = beyondEnd ? undefined : this.log.term(msg.prevLogIndex);
      const conflictIndex = beyondEnd ? this.log.lastIndex() + 1 : this.log.firstIndexOfTermAt(msg.prevLogIndex);
      this.send(from, {
        type: 'AppendEntriesResponse',
        term: this.currentTerm,
        success: false,
        conflictIndex,
        ...(conflictTerm === undefined ? {} : { conflictTerm }),
        ...(round === undefined ? {} : { round }),
      });
      return;
    }
    this.mergeEntries(msg.prevLogIndex, msg.entries);
    const lastNewIndex = msg.prevLogIndex + msg.entries.length;
    // AE-5, never lowering commitIndex (M-COMMIT, B15), never beyond what this message vouches for (B13).
    const vouched = Math.min(msg.leaderCommit, lastNewIndex);
    if (vouched > this.commitIndex) this.setCommitIndex(vouched);
    this.send(from, {
      type: 'AppendEntriesResponse',
      term: this.currentTerm,
      success: true,
      matchIndex: lastNewIndex,
      ...(round === undefined ? {} : { round }),
    });
  }

  /** AE-3 and AE-4: truncate only at a real conflict, append what is missing. */
  private mergeEntries(prevLogIndex: number, incoming: readonly MessageEntry[]): void {
    let appended: Entry[] | undefined;
    for (let k = 0; k < incoming.length; k++) {
      const index = prevLogIndex + 1 + k;
      if (index <= this.log.snapshotIndex) continue; // committed and compacted (B16)
      const sent = incoming[k] as MessageEntry;
      const existing = this.log.term(index);
      if (existing === sent.term) continue;
      if (existing !== undefined) {
        // AE-3: delete the conflicting entry and all that follow it — never a committed one.
        assert(index > this.commitIndex, () => `${this.id} would truncate committed index ${index} (commitIndex ${this.commitIndex})`);
        this.log.truncateFrom(index);
        this.sink?.({ ev: 'truncate', node: this.id, from: index });
      }
      const entry: Entry = { index, term: sent.term, kind: sent.kind ?? 'command', data: sent.digest ?? '' };
      this.log.append(entry); // AE-4
      (appended ??= []).push(entry);
    }
    if (appended !== undefined && this.sink !== undefined) this.sink({ ev: 'append', node: this.id, entries: appended.map((e) => this.traceEntry(e)) });
  }

  /** Figure 13: receive a snapshot chunk; install it when done (IS-6, IS-7, IS-8). */
  private handleInstallSnapshot(from: NodeId, msg: InstallSnapshot): void {
    const ext = msg as InstallSnapshot & { data?: unknown; voters?: unknown };
    const reply = (extra: Partial<InstallSnapshotResponse>): void =>
      this.send(from, { type: 'InstallSnapshotResponse', term: this.currentTerm, lastIncludedIndex: msg.lastIncludedIndex, ...extra });
    if (msg.lastIncludedIndex <= this.commitIndex) {
      // IS-8: nothing new — never regress what is committed and applied. Tell the leader we have it.
      this.incoming = null;
      reply({ done: true } as Partial<InstallSnapshotResponse>);
      return;
    }
    const offset = msg.offset ?? 0;
    if (offset === 0) {
      this.incoming = {
        term: this.currentTerm,
        lastIncludedIndex: msg.lastIncludedIndex,
        lastIncludedTerm: msg.lastIncludedTerm,
        voters: Array.isArray(ext.voters) ? (ext.voters as NodeId[]) : [...this.voters],
        chunks: [],
        offset: 0,
      };
    }
    const incoming = this.incoming;
    const sameSnapshot = incoming !== null && incoming.lastIncludedIndex === msg.lastIncludedIndex && incoming.term === this.currentTerm;
    if (!sameSnapshot || offset !== incoming.offset) {
      // A chunk out of order (lost or duplicated): tell the leader which offset we expect.
      reply({ offset: sameSnapshot ? incoming.offset : 0 } as Partial<InstallSnapshotResponse>);
      return;
    }
    const data = typeof ext.data === 'string' ? ext.data : '';
    incoming.chunks.push(data);
    incoming.offset += data.length;
    if (msg.done === false) {
      reply({ offset: incoming.offset } as Partial<InstallSnapshotResponse>);
      return;
    }
    this.incoming = null;
    this.installSnapshot({
      lastIncludedIndex: incoming.lastIncludedIndex,
      lastIncludedTerm: incoming.lastIncludedTerm,
      voters: incoming.voters,
      data: incoming.chunks.join(''),
    });
    reply({ done: true } as Partial<InstallSnapshotResponse>);
  }

  private installSnapshot(snapshot: Snapshot): void {
    // The host applies the outstanding Ready's committed entries before it installs this snapshot
    // (Readies are handled in order): their `apply` events come first, so that the trace shows the
    // state machine's real order (ALL-1, IS-8) rather than the restore and then older entries.
    const outstanding = this.outstanding;
    if (outstanding !== null && !outstanding.appliesTraced) {
      outstanding.appliesTraced = true;
      this.traceApplies(outstanding.ready.committedEntries);
    }
    const keepSuffix = this.log.term(snapshot.lastIncludedIndex) === snapshot.lastIncludedTerm && snapshot.lastIncludedIndex <= this.log.lastIndex();
    if (!keepSuffix && this.log.lastIndex() > this.log.snapshotIndex) {
      // IS-7: discard the entire log (shown as a truncate before the restore).
      this.sink?.({ ev: 'truncate', node: this.id, from: this.log.snapshotIndex + 1 });
    }
    this.log.compactTo(snapshot.lastIncludedIndex, snapshot.lastIncludedTerm, keepSuffix); // IS-6 / IS-7
    this.snapshot = snapshot;
    this.snapshotForHost = snapshot;
    this.voters = snapshot.voters;
    this.sink?.({ ev: 'restore', node: this.id, lastIncludedIndex: snapshot.lastIncludedIndex, lastIncludedTerm: snapshot.lastIncludedTerm, from: this.leader ?? undefined });
    if (snapshot.lastIncludedIndex > this.commitIndex) this.setCommitIndex(snapshot.lastIncludedIndex);
  }

  // ------------------------------------------------------------------------------------------
  // Leader: replication, commitment, reads

  private appendToOwnLog(entry: Entry): void {
    this.log.append(entry);
    if (this.sink !== undefined) this.sink({ ev: 'append', node: this.id, entries: [this.traceEntry(entry)] });
  }

  /** L-3: send what each follower lacks, as flow control allows. */
  private broadcastAppend(): void {
    for (const peer of this.progress.keys()) this.sendAppend(peer);
  }

  /** L-1: every follower hears from the leader each interval; the heartbeat also confirms pending reads. */
  private broadcastHeartbeat(): void {
    for (const [peer, pr] of this.progress) {
      switch (pr.mode) {
        case 'snapshot':
          // The chunk itself keeps the follower's timer reset; resend the one it expects, in case it was lost.
          pr.snapshotChunkOut = false;
          this.sendSnapshotChunk(peer, pr);
          break;
        case 'probe':
          // Resend the probe (one per interval, so a lost probe cannot stall the follower).
          pr.probeSent = false;
          this.sendAppend(peer, { round: this.readRound });
          break;
        case 'replicate':
          if (!this.sendAppend(peer, { round: this.readRound })) this.sendHeartbeat(peer, pr);
          break;
      }
    }
  }

  /**
   * Send `peer` the entries it lacks, as flow control allows (L-3); returns whether a message left.
   * `round`, when given, asks the follower to echo it (ReadIndex confirmation). `force` sends even
   * with nothing new or a full window — an empty AppendEntries at nextIndex − 1, whose rejection
   * reveals entries lost in flight.
   */
  private sendAppend(peer: NodeId, options: { readonly round?: number; readonly force?: boolean } = {}): boolean {
    const { round, force = false } = options;
    const pr = this.progress.get(peer);
    assert(pr !== undefined, () => `no progress for ${peer}`);
    if (pr.mode === 'snapshot') return false;
    if (pr.nextIndex <= this.log.snapshotIndex) {
      // The entries this follower needs were compacted: send the snapshot instead (Figure 13).
      this.startSnapshot(peer, pr);
      return true;
    }
    const paused = (pr.mode === 'probe' && pr.probeSent) || (pr.mode === 'replicate' && pr.inflight.length >= this.config.maxInflightMessages);
    const hasEntries = pr.nextIndex <= this.log.lastIndex();
    // A probe goes out even without entries: it is how the leader finds where the logs match.
    if (!force && (paused || (!hasEntries && pr.mode === 'replicate'))) return false;
    const prevLogIndex = pr.nextIndex - 1;
    const prevLogTerm = this.log.term(prevLogIndex);
    assert(prevLogTerm !== undefined, () => `leader has no term at ${prevLogIndex} (snapshot ${this.log.snapshotIndex})`);
    const entries = paused ? [] : this.batchFrom(pr.nextIndex);
    const msg: AppendEntries & { round?: number } = {
      type: 'AppendEntries',
      term: this.currentTerm,
      leaderId: this.id,
      prevLogIndex,
      prevLogTerm,
      entries,
      leaderCommit: this.commitIndex,
    };
    if (round !== undefined) msg.round = round;
    this.send(peer, msg);
    if (entries.length === 0) return true;
    const last = prevLogIndex + entries.length;
    if (pr.mode === 'replicate') {
      pr.nextIndex = last + 1; // pipelining: optimistic
      pr.inflight.push(last);
    } else {
      pr.probeSent = true;
    }
    return true;
  }

  /**
   * An empty AppendEntries anchored at what the follower is known to hold (matchIndex), not at the
   * optimistic nextIndex: a heartbeat that overtakes entries still in flight must not be rejected.
   */
  private sendHeartbeat(peer: NodeId, pr: Progress): void {
    const anchor = pr.matchIndex >= this.log.snapshotIndex ? pr.matchIndex : pr.nextIndex - 1;
    const prevLogTerm = this.log.term(anchor);
    assert(prevLogTerm !== undefined, () => `leader has no term at heartbeat anchor ${anchor}`);
    const msg: AppendEntries & { round: number } = {
      type: 'AppendEntries',
      term: this.currentTerm,
      leaderId: this.id,
      prevLogIndex: anchor,
      prevLogTerm,
      entries: [],
      leaderCommit: this.commitIndex,
      round: this.readRound,
    };
    this.send(peer, msg);
  }

  /** Batching: up to maxEntriesPerMessage entries and about maxBytesPerMessage bytes of data. */
  private batchFrom(from: number): MessageEntry[] {
    const entries = this.log.slice(from, from + this.config.maxEntriesPerMessage - 1, this.config.maxBytesPerMessage);
    return entries.map((e) => ({ index: e.index, term: e.term, kind: e.kind, digest: e.data }));
  }

  private startSnapshot(peer: NodeId, pr: Progress): void {
    assert(this.snapshot !== null, () => `${this.id} must send a snapshot to ${peer} but has none`);
    pr.mode = 'snapshot';
    pr.snapshotIndex = this.snapshot.lastIncludedIndex;
    pr.snapshotOffset = 0;
    pr.snapshotChunkOut = false;
    pr.inflight.length = 0;
    this.sendSnapshotChunk(peer, pr);
  }

  /** One chunk at a time: the follower acknowledges each with the offset it expects next. */
  private sendSnapshotChunk(peer: NodeId, pr: Progress): void {
    const snapshot = this.snapshot;
    if (snapshot === null || pr.snapshotChunkOut) return;
    if (snapshot.lastIncludedIndex !== pr.snapshotIndex) {
      // Compacted again since: start over with the newer snapshot.
      pr.snapshotIndex = snapshot.lastIncludedIndex;
      pr.snapshotOffset = 0;
    }
    const data = snapshot.data.slice(pr.snapshotOffset, pr.snapshotOffset + this.config.snapshotChunkBytes);
    const done = pr.snapshotOffset + data.length >= snapshot.data.length;
    const msg: InstallSnapshot & { data: string; voters: readonly NodeId[] } = {
      type: 'InstallSnapshot',
      term: this.currentTerm,
      leaderId: this.id,
      lastIncludedIndex: snapshot.lastIncludedIndex,
      lastIncludedTerm: snapshot.lastIncludedTerm,
      offset: pr.snapshotOffset,
      done,
      size: snapshot.data.length,
      data,
      voters: snapshot.voters,
    };
    pr.snapshotChunkOut = true;
    this.send(peer, msg);
  }

  /** L-3 on a reply; also counts it toward confirming pending reads. */
  private handleAppendResponse(from: NodeId, msg: AppendEntriesResponse): void {
    const pr = this.progress.get(from);
    if (pr === undefined) return;
    const round = (msg as { round?: unknown }).round;
    if (typeof round === 'number') this.confirmReads(from, round);
    if (msg.success) {
      const acknowledged = msg.matchIndex;
      if (acknowledged === undefined) return;
      if (pr.mode === 'snapshot') return;
      if (pr.acknowledge(acknowledged)) this.maybeCommit();
      const lagging = typeof round === 'number' && pr.mode === 'replicate' && pr.matchIndex < this.log.lastIndex();
      if (lagging) {
        // A heartbeat answered below our last index: entries in flight may have been lost (the
        // follower restarted, the network dropped them). Free a slot and send at nextIndex − 1:
        // a rejection turns the follower back to probing, which repairs it (etcd does the same).
        pr.inflight.shift();
        this.sendAppend(from, { force: true });
        return;
      }
      this.sendAppend(from);
      return;
    }
    if (pr.mode === 'snapshot') return;
    // Fast backtracking (Students' Guide): skip a whole conflicting term per round trip.
    let next = msg.conflictIndex ?? pr.nextIndex - 1;
    if (msg.conflictTerm !== undefined) {
      const last = this.log.lastIndexOfTerm(msg.conflictTerm);
      if (last !== undefined) next = last + 1;
    }
    pr.backOff(Math.max(1, next));
    this.sendAppend(from);
  }

  private handleSnapshotResponse(from: NodeId, msg: InstallSnapshotResponse): void {
    const pr = this.progress.get(from);
    if (pr === undefined || pr.mode !== 'snapshot') return;
    const ext = msg as InstallSnapshotResponse & { done?: unknown; offset?: unknown };
    if (msg.lastIncludedIndex !== pr.snapshotIndex) return; // an answer about another snapshot
    pr.snapshotChunkOut = false;
    if (ext.done === true) {
      pr.mode = 'probe';
      pr.probeSent = false;
      pr.acknowledge(pr.snapshotIndex);
      this.maybeCommit();
      this.sendAppend(from);
      return;
    }
    if (typeof ext.offset === 'number') pr.snapshotOffset = ext.offset;
    this.sendSnapshotChunk(from, pr);
  }

  /**
   * L-4: the highest N replicated on a majority (the leader counting itself only up to what it has
   * persisted, P-1), committed only if log[N] is of the current term (Figure 8).
   */
  private maybeCommit(): void {
    const matched: number[] = [this.log.stableIndex];
    for (const pr of this.progress.values()) matched.push(pr.matchIndex);
    for (const voter of this.voters) if (voter !== this.id && !this.progress.has(voter)) matched.push(0);
    matched.sort((a, b) => b - a);
    const n = matched[quorum(this.voters) - 1] ?? 0;
    if (n <= this.commitIndex || this.log.term(n) !== this.currentTerm) return;
    const hadCommittedInTerm = this.log.term(this.commitIndex) === this.currentTerm;
    this.setCommitIndex(n);
    if (!hadCommittedInTerm) {
      // The no-op is committed: reads queued behind it may start their confirmation round.
      for (const ctx of this.readsAwaitingNoop.splice(0)) this.startReadRound(ctx);
    }
    // Followers learn the new commitIndex with the next AppendEntries or heartbeat (AE-5).
  }

  private setCommitIndex(index: number): void {
    assert(index > this.commitIndex, () => `commitIndex going back from ${this.commitIndex} to ${index} (M-COMMIT)`);
    assert(index <= this.log.lastIndex(), () => `commitIndex ${index} past the last index ${this.log.lastIndex()}`);
    this.commitIndex = index;
    this.sink?.({ ev: 'commit', node: this.id, commitIndex: index });
  }

  private startReadRound(ctx: string): void {
    const read: PendingRead = { ctx, index: this.commitIndex, round: ++this.readRound, acks: new Set([this.id]) };
    if (read.acks.size >= quorum(this.voters)) {
      this.readStates.push({ ctx, index: read.index });
      return;
    }
    this.readsAwaitingRound.push(read);
    this.broadcastHeartbeat();
  }

  /** A follower answered heartbeat round `round`: it still follows us, as of every read up to that round. */
  private confirmReads(from: NodeId, round: number): void {
    let released = 0;
    for (const read of this.readsAwaitingRound) {
      if (read.round > round) break;
      read.acks.add(from);
    }
    while (released < this.readsAwaitingRound.length) {
      const read = this.readsAwaitingRound[released] as PendingRead;
      if (read.acks.size < quorum(this.voters)) break;
      this.readStates.push({ ctx: read.ctx, index: read.index });
      released++;
    }
    if (released > 0) this.readsAwaitingRound.splice(0, released);
  }

  // ------------------------------------------------------------------------------------------
  // Plumbing

  /** An entry as trace events show it. */
  private traceEntry(e: Entry): { index: number; term: number; kind: Entry['kind']; digest?: string } {
    return e.data === '' ? { index: e.index, term: e.term, kind: e.kind } : { index: e.index, term: e.term, kind: e.kind, digest: this.traceDigest(e.data) };
  }

  /** A message as trace events show it (see trace.ts). */
  private traceMessage(msg: Message): Message {
    return traceMessage(msg, this.traceDigest);
  }

  private send(to: NodeId, msg: Message): void {
    this.messages.push({ from: this.id, to, msg });
  }

  private resetElectionTimer(): void {
    this.electionElapsedTicks = 0;
    this.electionTimeoutTicks = this.rng.int(this.config.electionTimeoutTicksMin, this.config.electionTimeoutTicksMax);
  }

  private hardState(): HardState {
    return { currentTerm: this.currentTerm, votedFor: this.votedFor, commitIndex: this.commitIndex };
  }

  private hardStateChanged(): boolean {
    const last = this.lastHardState;
    return last.currentTerm !== this.currentTerm || last.votedFor !== this.votedFor || last.commitIndex !== this.commitIndex;
  }

  /**
   * The highest committed index whose entry the host will have persisted once it has handled the
   * Ready being built (entries are persisted before they are applied).
   */
  private committedToHandOut(readyEntries: readonly Entry[] = []): number {
    const persistedBy = Math.max(this.log.stableIndex, readyEntries.length > 0 ? (readyEntries[readyEntries.length - 1] as Entry).index : 0);
    // Bounded per Ready, so that applying a long committed log after a restart does not load it all at once.
    const bound = this.lastApplied + (this.config.maxCommittedEntriesPerReady ?? DEFAULT_MAX_COMMITTED_ENTRIES_PER_READY);
    return Math.max(this.lastApplied, Math.min(this.commitIndex, persistedBy, this.log.lastIndex(), bound));
  }
}

/** Majority of a voter set (C-2, L-4). */
export function quorum(voters: readonly NodeId[]): number {
  return Math.floor(voters.length / 2) + 1;
}

