/**
 * The trace checker: one pass over a trace, a mirror of each node's Figure 2 state built from that
 * node's own events, and every rule of the catalog checked where the events allow it.
 *
 * How it stays exact:
 * - Receiver rules are replayed with the spec's own pure functions (spec/statechart/log.ts:
 *   logMatches, termAt, isAtLeastAsUpToDate — the statechart's guards are built on them) against
 *   the mirror as it stood when the node received the request. Only what Figure 2 forbids is
 *   reported: granting a vote or accepting entries it forbids. Refusing more often (etcd's leader
 *   lease, a busy node) is not a safety violation, and is not reported.
 * - Every check names the evidence it relied on (`Need`): the event kinds whose presence makes
 *   the mirror's knowledge complete (a log mirrored from `append` events is only the node's log if
 *   the trace emits `append` at all). Verdicts are provisional until the end of the trace, then
 *   kept only if every kind they relied on occurs in it — graceful degradation without a guessed
 *   violation.
 *
 * Each check is a method named after its rule; the dispatcher `feed` is the only branching on
 * event kinds.
 */
import { RULES, ruleById, satisfiedNeeds, type RuleId, type TraceNeed } from '../../spec/rules.ts';
import type { Message } from '../../spec/schemas/messages.ts';
import type { CorrelationId } from '../../spec/schemas/primitives.ts';
import type { LogEntry, NodeState, TraceEvent, TraceEventOf } from '../../spec/schemas/trace-events.ts';
import { isAtLeastAsUpToDate, lastLogIndex, lastLogTerm, logMatches, termAt } from '../../spec/statechart/log.ts';
import { NodeMirror, type PendingRequest } from './mirror.ts';
import type { CheckReport, LinearizabilityResult, LocatedEvent, Location, RuleCoverage, Violation } from './types.ts';

/** Evidence a check relies on: event kinds that must occur somewhere in the trace. */
interface Need {
  readonly key: string;
  readonly kinds: readonly TraceNeed[];
}
const need = (...kinds: TraceNeed[]): Need => ({ key: kinds.join('+'), kinds });
const N = {
  role: need('role'),
  persist: need('persist'),
  persistSend: need('persist', 'send'),
  recvSend: need('recv', 'send'),
  recvSendAppend: need('recv', 'send', 'append'),
  recvAppend: need('recv', 'append'),
  recvCommit: need('recv', 'commit'),
  recvCommitAppend: need('recv', 'commit', 'append'),
  roleRecv: need('role', 'recv'),
  roleTimeout: need('role', 'timeout'),
  roleAppend: need('role', 'append'),
  roleAppendCommit: need('role', 'append', 'commit'),
  appendCommit: need('append', 'commit'),
  append: need('append'),
  commit: need('commit'),
  apply: need('apply'),
  applyCommit: need('apply', 'commit'),
  applyRestore: need('apply', 'restore'),
  send: need('send'),
  initPersist: need('init', 'persist', 'crash'),
  state: need('state'),
  recvTruncate: need('recv', 'truncate'),
  recvRestore: need('recv', 'restore'),
  stateRecv: need('state', 'recv'),
  writes: need('append', 'apply', 'invoke', 'ok'),
  reads: need('role', 'commit', 'append', 'invoke', 'ok'),
} as const;

/** Rules this checker cannot check from any trace, and why (reported in the coverage table). */
const UNCHECKED: Partial<Record<RuleId, string>> = {
  'F-1': 'a follower responding at all is liveness: a trace cannot prove a reply will never come',
  'L-1': 'heartbeats "during idle periods" are timing: the trace has no notion of idle',
  'CL-ONCE': 'needs (clientId, sequence) of each applied command; v1 apply events carry only a digest',
  'MC-3': "needs the configuration inside each config entry; v1 append events carry only a digest",
  'L-3':
    "nextIndex and matchIndex are the leader's internal state; a trace shows sends, and batched output (a Ready) emits a message created before a reply after that reply, so nextIndex cannot be read off the sends without false alarms. Its observable consequence, what gets committed, is L-4's",
};

export interface CheckerOptions {
  /** Violations kept in the report (the check runs to the end regardless). */
  readonly maxViolations?: number | undefined;
  /** Events of context per violation. */
  readonly contextEvents?: number | undefined;
  /** Computes CL-LIN from the client events at the end (the linearizability checker). */
  readonly linearizability?: ((events: readonly LocatedEvent[]) => LinearizabilityResult) | undefined;
}

/** A verdict awaiting the end of the trace (see the file comment). */
interface Candidate {
  readonly violation: Violation;
  readonly need: Need;
}

/** Bounded memory of recently delivered messages, to tell a network duplicate from a message never sent. */
const DELIVERED_REMEMBERED = 1 << 17;
const CANDIDATES_PER_RULE_MAX = 1000;

export class TraceChecker {
  private readonly nodes = new Map<string, NodeMirror>();
  private cluster: readonly string[] | undefined;
  private readonly present = new Set<TraceNeed>();
  /** A successful AppendEntriesResponse without matchIndex was seen: L-4's majority count cannot be proven. */
  private successWithoutMatchIndex = false;
  private events = 0;
  private readonly files = new Set<string>();
  /** Per rule, per evidence key: how many checks ran. */
  private readonly checks = new Map<RuleId, Map<string, { need: Need; count: number }>>();
  private readonly candidates = new Map<RuleId, Candidate[]>();
  // Global state for the Figure 3 properties.
  private readonly leaderOfTerm = new Map<number, { node: string; at: LocatedEvent }>();
  private readonly entryFacts = new Map<string, { digest: string | undefined; prevTerm: number | undefined; node: string }>();
  private readonly appliedAt = new Map<number, { term: number; digest: string | undefined; node: string }>();
  private committed: { index: number; term: number; inTerm: number; node: string } | undefined;
  // Messages in flight (for "received but never sent").
  private readonly inFlight = new Map<string, number>();
  private readonly delivered = new Set<string>();
  private readonly sendersSeen = new Set<string>();
  private readonly clientEvents: LocatedEvent[] = [];
  /** L-2: per (index:term), the position at which the entry was first appended anywhere. */
  private readonly appendedAt = new Map<string, number>();
  /** L-2: the latest first-append position among entries applied so far. */
  private newestAppliedAppend = -1;
  /** Open client operations: where they were invoked, and whether they read. */
  private readonly openOps = new Map<string, { at: number; read: boolean }>();
  /** CL-NOOP: per term, from where its leader had committed an entry of that term, to where it stepped down. */
  private readonly readyLeaders: { term: number; node: string; from: number; to: number }[] = [];
  private readonly inputErrors: { file: string; line: number; path: string; message: string }[] = [];
  private readonly options: CheckerOptions;

  constructor(options: CheckerOptions = {}) {
    this.options = options;
  }

  /** Input problems found that the reader could not see (a node outside the cluster, a message never sent). */
  get errors(): readonly { file: string; line: number; path: string; message: string }[] {
    return this.inputErrors;
  }

  feed(located: LocatedEvent): void {
    const e = located.event;
    this.events++;
    this.files.add(located.file);
    this.present.add(e.ev);
    if ('state' in e && e.state !== undefined) this.present.add('state');
    switch (e.ev) {
      case 'header':
        this.cluster = e.cluster;
        return;
      case 'invoke':
      case 'ok':
      case 'fail':
      case 'info':
        this.clientEvents.push(located);
        this.onClient(e, located);
        return;
      case 'drop':
        if (e.msg !== undefined) this.forget(e.from, e.to, e.msg);
        return;
      default:
        break;
    }
    const m = this.mirror(e.node, located);
    if (m === undefined) return;
    m.remember(located);
    switch (e.ev) {
      case 'init':
        this.onInit(m, e, located);
        break;
      case 'crash':
        this.onCrash(m);
        break;
      case 'timeout':
        if (e.kind === 'election') {
          m.timedOutSinceRoleChange = true;
          if (m.role === 'candidate') m.timedOutAsCandidateInTerm = m.currentTerm;
        }
        break;
      case 'role':
        this.onRole(m, e, located);
        break;
      case 'persist':
        this.onPersist(m, e, located);
        break;
      case 'send':
        this.onSend(m, e, located);
        break;
      case 'recv':
        this.onRecv(m, e, located);
        break;
      case 'append':
        this.onAppend(m, e, located);
        break;
      case 'truncate':
        this.onTruncate(m, e, located);
        break;
      case 'commit':
        this.onCommit(m, e, located);
        break;
      case 'apply':
        this.onApply(m, e, located);
        break;
      case 'snapshot':
        this.onSnapshot(m, e, located);
        break;
      case 'restore':
        this.onRestore(m, e, located);
        break;
      case 'config':
        m.voters = e.voters;
        m.joint = e.joint !== undefined && e.joint.length > 0 ? e.joint : undefined;
        break;
    }
    this.onState(m, e, located);
  }

  // ------------------------------------------------------------------------------------------
  // Clients (§8)

  private onClient(e: TraceEventOf<'invoke' | 'ok' | 'fail' | 'info'>, at: LocatedEvent): void {
    const key = `${String(e.client)}|${String(e.opId)}`;
    if (e.ev === 'invoke') {
      this.openOps.set(key, { at: this.events, read: e.op.kind === 'get' });
      return;
    }
    const op = this.openOps.get(key);
    this.openOps.delete(key);
    if (op === undefined || e.ev !== 'ok') return;
    if (!op.read) {
      // L-2: the leader answers a write only after applying it — so some entry appended after the
      // invoke must have been applied somewhere by now.
      this.check('L-2', N.writes, this.newestAppliedAppend > op.at, () =>
        this.violation('L-2', at, undefined, `client ${String(e.client)}'s write (opId ${String(e.opId)}) completed ok though no entry appended since its invoke had been applied anywhere`),
      );
      return;
    }
    // CL-NOOP: a read is answered by a leader that has committed an entry of its own term; some
    // node must have been such a leader at some point of the read's life.
    const served = this.readyLeaders.some((l) => l.from <= this.events && l.to >= op.at);
    this.check('CL-NOOP', N.reads, served, () =>
      this.violation('CL-NOOP', at, undefined, `client ${String(e.client)}'s read (opId ${String(e.opId)}) completed while no leader had committed an entry of its own term`),
    );
  }

  // ------------------------------------------------------------------------------------------
  // Node lifecycle

  private mirror(node: string, at: LocatedEvent): NodeMirror | undefined {
    let m = this.nodes.get(node);
    if (m === undefined) {
      if (this.cluster !== undefined && !this.cluster.includes(node) && at.event.ev !== 'init' && at.event.ev !== 'config') {
        this.inputErrors.push({ file: at.file, line: at.line, path: '$.node', message: `node ${JSON.stringify(node)} is not in the cluster ${JSON.stringify(this.cluster)} (header) and did not start with init` });
        return undefined;
      }
      m = new NodeMirror(node);
      this.nodes.set(node, m);
    }
    return m;
  }

  private onInit(m: NodeMirror, e: TraceEventOf<'init'>, at: LocatedEvent): void {
    const p = m.persisted;
    if (p !== undefined && !m.up) this.checkRecovery(m, e, p, at);
    // init is the recovered durable state: it is what is persisted now.
    m.persisted = { term: e.term, votedFor: e.votedFor, lastIndex: e.lastIndex, lastTerm: e.lastTerm };
    m.up = true;
    m.currentTerm = e.term;
    m.votedFor = e.votedFor;
    m.votedForKnown = true;
    m.role = 'follower';
    m.termRaisedByMessage = false;
    if (e.entries !== undefined) {
      m.snapshot = { lastIncludedIndex: e.snapshotIndex, lastIncludedTerm: e.snapshotTerm };
      m.log = [];
      m.append(e.entries);
    } else {
      // Without entries the node recovered the log we mirrored, up to what it reports (trace-format.md).
      if (e.snapshotIndex > m.snapshot.lastIncludedIndex) m.compactTo(e.snapshotIndex, e.snapshotTerm, true);
      m.truncateFrom(e.lastIndex + 1);
    }
    m.commitIndex = e.commitIndex ?? e.snapshotIndex;
    m.lastApplied = e.lastApplied ?? e.snapshotIndex;
    if (e.config !== undefined) {
      m.voters = e.config.voters;
      m.joint = e.config.joint !== undefined && e.config.joint.length > 0 ? e.config.joint : undefined;
    }
    this.resetVolatile(m);
  }

  private onCrash(m: NodeMirror): void {
    if (m.role === 'leader') this.leaderStepsDown(m);
    m.up = false;
    this.resetVolatile(m);
  }

  /** CL-NOOP: a leader's readiness to serve reads ends when it steps down or crashes. */
  private leaderStepsDown(m: NodeMirror): void {
    for (const l of this.readyLeaders) if (l.node === m.id && l.to === Infinity) l.to = this.events;
  }

  private resetVolatile(m: NodeMirror): void {
    m.votesGranted.clear();
    m.acknowledged.clear();
    m.pending.clear();
    m.lastReceived = undefined;
    m.timedOutSinceRoleChange = false;
    m.heardLeaderInTerm = -1;
  }

  /** P-2 and M-TERM across a restart: nothing persisted is lost. */
  private checkRecovery(m: NodeMirror, e: TraceEventOf<'init'>, p: NonNullable<NodeMirror['persisted']>, at: LocatedEvent): void {
    this.check('M-TERM', N.initPersist, e.term >= p.term, () =>
      this.violation('M-TERM', at, m, `${m.id} restarted in term ${e.term}, below the term ${p.term} it had persisted`, { term: `≥ ${p.term}` }, { term: e.term }),
    );
    const voteKept = e.term > p.term || p.votedFor === null || e.votedFor === p.votedFor;
    this.check('P-2', N.initPersist, voteKept, () =>
      this.violation('P-2', at, m, `${m.id} restarted in term ${e.term} with votedFor ${JSON.stringify(e.votedFor)}, but had persisted a vote for ${JSON.stringify(p.votedFor)} in that term`, { votedFor: p.votedFor }, { votedFor: e.votedFor }),
    );
    const logKept = e.lastIndex >= p.lastIndex || e.snapshotIndex >= p.lastIndex;
    this.check('P-2', N.initPersist, logKept, () =>
      this.violation('P-2', at, m, `${m.id} restarted with its log ending at ${e.lastIndex}, but had persisted entries up to ${p.lastIndex}`, { lastIndex: `≥ ${p.lastIndex}` }, { lastIndex: e.lastIndex }),
    );
  }

  // ------------------------------------------------------------------------------------------
  // Roles and terms

  private onRole(m: NodeMirror, e: TraceEventOf<'role'>, at: LocatedEvent): void {
    const before = m.currentTerm;
    this.check(m.termRaisedByMessage ? 'ALL-2' : 'M-TERM', N.role, e.term >= before, () =>
      this.violation(m.termRaisedByMessage ? 'ALL-2' : 'M-TERM', at, m, `${m.id} reports term ${e.term} after term ${before}`, { term: `≥ ${before}` }, { term: e.term }),
    );
    if (e.role === 'candidate') this.onBecomeCandidate(m, e, at, before);
    if (e.role === 'leader') this.onBecomeLeader(m, e, at);
    if (e.term > m.currentTerm) {
      m.votedFor = e.role === 'candidate' ? m.id : null;
      m.termRaisedByMessage = false;
    }
    m.currentTerm = Math.max(m.currentTerm, e.term);
    if (e.role !== m.role) m.timedOutSinceRoleChange = false;
    if (m.role === 'leader' && (e.role !== 'leader' || e.term !== before)) this.leaderStepsDown(m);
    m.role = e.role;
    if (e.role !== 'leader') m.acknowledged.clear();
  }

  /** C-1 (increment the term, vote for self) and F-2 (only after an election timeout). */
  private onBecomeCandidate(m: NodeMirror, e: TraceEventOf<'role'>, at: LocatedEvent, before: number): void {
    const wasPreCandidate = m.role === 'precandidate';
    this.check('C-1', N.role, e.term > before || (wasPreCandidate && e.term > before - 1 && e.term !== before), () =>
      this.violation('C-1', at, m, `${m.id} became candidate in term ${e.term} without incrementing its term ${before}`, { term: before + 1 }, { term: e.term }),
    );
    const transfer = m.lastReceived?.event.ev === 'recv' && m.lastReceived.event.msg.type === 'TimeoutNow';
    if (!wasPreCandidate && !transfer) {
      this.check('F-2', N.roleTimeout, m.timedOutSinceRoleChange, () =>
        this.violation('F-2', at, m, `${m.id} became candidate in term ${e.term} without an election timeout since it became ${m.role}`),
      );
    }
    m.votesGranted.clear();
    m.votesGranted.add(m.id);
    m.votedFor = m.id;
    m.votedForKnown = true;
    m.timedOutAsCandidateInTerm = -1;
  }

  /** C-2 (a majority of distinct voters of this term), C-3, S-ES, S-LC. */
  private onBecomeLeader(m: NodeMirror, e: TraceEventOf<'role'>, at: LocatedEvent): void {
    const term = e.term;
    const votes = [...m.votesGranted].filter((v) => this.isVoter(v, m));
    this.check('C-2', N.roleRecv, m.currentTerm === term && this.isQuorum(votes, m), () =>
      this.violation('C-2', at, m, `${m.id} became leader of term ${term} with votes from ${JSON.stringify(votes.sort())}, not a majority of ${JSON.stringify(this.voters(m))}${m.joint === undefined ? '' : ` and of ${JSON.stringify(m.joint)}`}`, { votes: `a majority of ${this.voters(m).length}` }, { votes }),
    );
    this.check('C-4', N.roleTimeout, m.timedOutAsCandidateInTerm !== term, () =>
      this.violation('C-4', at, m, `${m.id} became leader of term ${term} after its election timeout had elapsed in that term: it should have started a new election`),
    );
    this.check('C-3', N.roleRecv, m.heardLeaderInTerm !== term, () =>
      this.violation('C-3', at, m, `${m.id} became leader of term ${term} after hearing AppendEntries from a leader of that term`),
    );
    this.claimLeadership(m.id, term, at);
    const c = this.committed;
    if (c !== undefined && c.inTerm < term) {
      const covered = c.index <= m.snapshot.lastIncludedIndex || termAt(m, c.index) === c.term;
      this.check('S-LC', N.roleAppendCommit, covered, () =>
        this.violation('S-LC', at, m, `${m.id} became leader of term ${term} without entry ${c.index} (term ${c.term}), committed in term ${c.inTerm} (first seen committed at ${c.node})`, { [`log[${c.index}].term`]: c.term }, { [`log[${c.index}].term`]: termAt(m, c.index) ?? 'absent' }),
      );
    }
    m.acknowledged.clear();
  }

  /** S-ES: at most one leader per term — from role events, and from who sends AppendEntries. */
  private claimLeadership(node: string, term: number, at: LocatedEvent): void {
    const known = this.leaderOfTerm.get(term);
    const need = at.event.ev === 'role' ? N.role : N.send;
    this.check('S-ES', need, known === undefined || known.node === node, () =>
      this.violation('S-ES', at, this.nodes.get(node), `term ${term} has two leaders: ${known?.node} (line ${known?.at.line}) and ${node}`, { leader: known?.node }, { leader: node }, known === undefined ? [] : [known.node]),
    );
    if (known === undefined) this.leaderOfTerm.set(term, { node, at });
  }

  // ------------------------------------------------------------------------------------------
  // Persistence

  private onPersist(m: NodeMirror, e: TraceEventOf<'persist'>, at: LocatedEvent): void {
    const p = m.persisted;
    if (p !== undefined) {
      this.check('M-TERM', N.persist, e.term >= p.term, () =>
        this.violation('M-TERM', at, m, `${m.id} persisted term ${e.term} after having persisted term ${p.term}`, { term: `≥ ${p.term}` }, { term: e.term }),
      );
      const sameTermVoteKept = e.term !== p.term || p.votedFor === null || e.votedFor === p.votedFor;
      this.check('M-VOTE', N.persist, sameTermVoteKept, () =>
        this.violation('M-VOTE', at, m, `${m.id} changed its persisted vote in term ${e.term} from ${JSON.stringify(p.votedFor)} to ${JSON.stringify(e.votedFor)}`, { votedFor: p.votedFor }, { votedFor: e.votedFor }),
      );
    }
    m.persisted = { term: e.term, votedFor: e.votedFor, lastIndex: e.lastIndex, lastTerm: termAt(m, e.lastIndex) };
    if (e.term >= m.currentTerm) {
      if (e.term > m.currentTerm) m.termRaisedByMessage = false;
      m.currentTerm = e.term;
      m.votedFor = e.votedFor;
      m.votedForKnown = true;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Messages

  private onSend(m: NodeMirror, e: TraceEventOf<'send'>, at: LocatedEvent): void {
    const msg = e.msg;
    this.sendersSeen.add(m.id);
    this.remember(m.id, e.to, msg);
    switch (msg.type) {
      case 'RequestVote':
        if (msg.preVote !== true) this.checkCandidatePersisted(m, msg.term, at);
        return;
      case 'RequestVoteResponse':
        if (msg.preVote !== true) this.answerVote(m, e.to, msg.term, msg.voteGranted, at, msg.inReplyTo);
        return;
      case 'AppendEntries':
        if (isHeartbeat(msg)) {
          this.claimLeadership(m.id, msg.term, at);
          return;
        }
        this.claimLeadership(m.id, msg.term, at);
        return;
      case 'AppendEntriesResponse':
        if (!isHeartbeat(msg)) this.answerAppend(m, e.to, msg.term, msg.success, msg.matchIndex, at, msg.inReplyTo);
        return;
      case 'InstallSnapshot':
        this.claimLeadership(m.id, msg.term, at);
        return;
      case 'InstallSnapshotResponse':
        this.answerSnapshot(m, e.to, msg.term, at, msg.inReplyTo);
        return;
      case 'TimeoutNow':
        return;
    }
  }

  /** P-1: a candidate's RequestVote leaves only after its new term and self-vote are durable. */
  private checkCandidatePersisted(m: NodeMirror, term: number, at: LocatedEvent): void {
    const p = m.persisted;
    // A later persisted term also makes the campaign safe: the node can no longer act in this term.
    this.check('P-1', N.persistSend, p !== undefined && (p.term > term || (p.term === term && p.votedFor === m.id)), () =>
      this.violation('P-1', at, m, `${m.id} sent RequestVote for term ${term} before persisting its term and self-vote`, { persisted: { term, votedFor: m.id } }, { persisted: p === undefined ? 'nothing' : { term: p.term, votedFor: p.votedFor } }),
    );
  }

  /** RV-1, RV-2, ALL-2 and P-1 on a vote answer. */
  private answerVote(m: NodeMirror, candidate: string, term: number, granted: boolean, at: LocatedEvent, inReplyTo: CorrelationId | undefined): void {
    // Answers come in the order requests were handled (FIFO) — except that a RequestVote of a later
    // term may have been ignored outright (§4.2.3): it can only have been answered with that later
    // term, so requests of a term above this answer's are skipped (they were never answered).
    const queue = m.pendingFor(`RV>${candidate}`);
    const request = takeAnswered(queue, inReplyTo, () => {
      const k = queue.findIndex((r) => r.term <= term);
      return k < 0 ? undefined : queue.splice(0, k + 1)[k];
    });
    if (request !== undefined) {
      this.checkAnswerTerm(m, request, term, at);
      this.check('RV-1', N.recvSend, !(request.stale && granted), () =>
        this.violation('RV-1', at, m, `${m.id} granted a vote to ${candidate} whose RequestVote was from an earlier term than ${request.term}`, { voteGranted: false }, { voteGranted: true }, [candidate]),
      );
      if (granted && !request.stale && request.mayGrant !== undefined) {
        this.check('RV-2', N.recvSendAppend, request.mayGrant, () =>
          this.violation('RV-2', at, m, `${m.id} granted its vote in term ${request.term} to ${candidate}, which Figure 2 forbids: ${describeVoteRefusal(request)}`, { voteGranted: false }, { voteGranted: true }, [candidate]),
        );
      }
    }
    if (term > m.currentTerm) {
      m.currentTerm = term;
      m.votedFor = null;
      m.role = 'follower';
      m.termRaisedByMessage = true;
    }
    if (!granted) return;
    if (m.votedForKnown && m.votedFor !== null && m.votedFor !== candidate && term === m.currentTerm) {
      const previous = m.votedFor;
      this.check('M-VOTE', N.recvSend, false, () =>
        this.violation('M-VOTE', at, m, `${m.id} voted for ${candidate} in term ${term} after voting for ${previous}`, { votedFor: previous }, { votedFor: candidate }, [candidate]),
      );
    }
    const p = m.persisted;
    // Durable: this very vote, or a later term — after which the node can never vote again in this one.
    this.check('P-1', N.persistSend, p !== undefined && (p.term > term || (p.term === term && p.votedFor === candidate)), () =>
      this.violation('P-1', at, m, `${m.id} granted its vote to ${candidate} in term ${term} before persisting it`, { persisted: { term, votedFor: candidate } }, { persisted: p === undefined ? 'nothing' : { term: p.term, votedFor: p.votedFor } }, [candidate]),
    );
    if (term === m.currentTerm) {
      m.votedFor = candidate;
      m.votedForKnown = true;
    }
  }

  /** AE-1, AE-2, ALL-2 and P-1 on an AppendEntries answer. */
  private answerAppend(m: NodeMirror, leader: string, term: number, success: boolean, matchIndex: number | undefined, at: LocatedEvent, inReplyTo: CorrelationId | undefined): void {
    const queue = m.pendingFor(`AE>${leader}`);
    const request = takeAnswered(queue, inReplyTo, () => queue.shift());
    if (request !== undefined) {
      this.checkAnswerTerm(m, request, term, at);
      this.check('AE-1', N.recvSend, !(request.stale && success), () =>
        this.violation('AE-1', at, m, `${m.id} accepted AppendEntries from ${leader} of an earlier term than its own (${request.term})`, { success: false }, { success: true }, [leader]),
      );
      if (success && !request.stale && request.maySucceed !== undefined) {
        this.check('AE-2', N.recvSendAppend, request.maySucceed, () => {
          const r = request.at.event as TraceEventOf<'recv'>;
          const ae = r.msg as Extract<Message, { type: 'AppendEntries' }>;
          return this.violation('AE-2', at, m, `${m.id} accepted AppendEntries from ${leader} although its log has no entry ${ae.prevLogIndex} of term ${ae.prevLogTerm} (line ${request.at.line})`, { success: false }, { success: true }, [leader]);
        });
      }
    }
    if (success && request !== undefined && !request.stale && term === m.currentTerm) this.checkEntriesHeld(m, request, at);
    if (!success || matchIndex === undefined || matchIndex === 0) return; // matchIndex 0 vouches for no entry
    const p = m.persisted;
    // Durable: the entries, or a later term (a later leader may have replaced them; this answer is then moot).
    this.check('P-1', N.persistSend, p !== undefined && (p.term > term || (p.term === term && p.lastIndex >= matchIndex)), () =>
      this.violation('P-1', at, m, `${m.id} acknowledged entries up to ${matchIndex} to ${leader} before persisting them`, { persistedLastIndex: `≥ ${matchIndex}` }, { persistedLastIndex: p?.lastIndex ?? 'nothing' }, [leader]),
    );
  }

  /** AE-4: a successful AppendEntries leaves every one of its entries in the log. */
  private checkEntriesHeld(m: NodeMirror, request: PendingRequest, at: LocatedEvent): void {
    const r = request.at.event as TraceEventOf<'recv'>;
    if (r.msg.type !== 'AppendEntries' || (r as { stale?: unknown }).stale === true) return;
    const ae = r.msg;
    let missing: number | undefined;
    ae.entries.forEach((entry, k) => {
      const index = ae.prevLogIndex + 1 + k;
      if (missing === undefined && index > m.snapshot.lastIncludedIndex && termAt(m, index) !== entry.term) missing = index;
    });
    this.check('AE-4', N.recvSendAppend, missing === undefined, () =>
      this.violation('AE-4', at, m, `${m.id} acknowledged AppendEntries (line ${request.at.line}) without holding its entry ${missing} of term ${ae.entries[(missing ?? 0) - ae.prevLogIndex - 1]?.term}`, { [`log[${missing}].term`]: ae.entries[(missing ?? 0) - ae.prevLogIndex - 1]?.term }, { [`log[${missing}].term`]: missing === undefined ? undefined : (termAt(m, missing) ?? 'absent') }),
    );
  }

  private answerSnapshot(m: NodeMirror, leader: string, term: number, at: LocatedEvent, inReplyTo: CorrelationId | undefined): void {
    const queue = m.pendingFor(`IS>${leader}`);
    const request = takeAnswered(queue, inReplyTo, () => queue.shift());
    if (request !== undefined) this.checkAnswerTerm(m, request, term, at);
  }

  /** ALL-2: an answer to a request from a later term carries that term (the node adopted it first). */
  private checkAnswerTerm(m: NodeMirror, request: PendingRequest, term: number, at: LocatedEvent): void {
    this.check('ALL-2', N.recvSend, term >= request.term, () =>
      this.violation('ALL-2', at, m, `${m.id} answered a request of term ${request.term} (line ${request.at.line}) with term ${term}: it did not adopt the later term first`, { term: request.term }, { term }),
    );
  }

  private onRecv(m: NodeMirror, e: TraceEventOf<'recv'>, at: LocatedEvent): void {
    const msg = e.msg;
    // `unsent: true` marks a message a test harness injected (etcd's datadriven send-snapshot):
    // there is no send to match, and that is not a broken trace.
    if ((e as { unsent?: unknown }).unsent !== true) this.received(e.from, m.id, msg, at);
    m.lastReceived = at;
    if (msg.type === 'TimeoutNow') return;
    const preVote = 'preVote' in msg && msg.preVote === true;
    // A RequestVote from a later term may be ignored outright — term not adopted, no answer — by a
    // server that heard from a live leader (thesis §4.2.3, etcd's check-quorum lease). So the
    // mirror adopts its term only on evidence: the node's answer, or its later events.
    const mayBeIgnored = msg.type === 'RequestVote';
    if (!preVote && !mayBeIgnored && msg.term > m.currentTerm) {
      // ALL-2: the node must adopt the term and become follower before anything else.
      m.currentTerm = msg.term;
      m.votedFor = null;
      m.votedForKnown = true;
      m.role = 'follower';
      m.termRaisedByMessage = true;
      m.votesGranted.clear();
      m.acknowledged.clear();
    }
    const stale = msg.term < m.currentTerm;
    switch (msg.type) {
      case 'RequestVote': {
        if (preVote) return;
        // Should the node handle it, a later term resets its vote first (ALL-2).
        const later = msg.term > m.currentTerm;
        const votedFor = later ? null : m.votedFor;
        const ours = { lastLogIndex: lastLogIndex(m), lastLogTerm: lastLogTerm(m) };
        const logKnown = ours.lastLogTerm >= 0;
        const free = votedFor === null || votedFor === msg.candidateId;
        const leaderOrCandidate = !later && m.role !== 'follower' && m.role !== 'precandidate';
        const mayGrant = m.votedForKnown && logKnown ? free && isAtLeastAsUpToDate(msg, ours) && !(leaderOrCandidate && msg.candidateId !== m.id) : undefined;
        m.pendingFor(`RV>${e.from}`).push({ at, term: Math.max(m.currentTerm, msg.term), stale, mayGrant, ours, votedFor, id: msg.id } as PendingRequest);
        return;
      }
      case 'AppendEntries': {
        if (!stale && m.role === 'candidate') m.heardLeaderInTerm = msg.term;
        if (!stale && m.role === 'candidate') m.role = 'follower';
        if (isHeartbeat(msg)) return;
        const known = msg.prevLogIndex <= m.snapshot.lastIncludedIndex || m.snapshot.lastIncludedTerm >= 0;
        const maySucceed = known ? logMatches(m, { index: msg.prevLogIndex, term: msg.prevLogTerm }) : undefined;
        m.pendingFor(`AE>${e.from}`).push({ at, term: m.currentTerm, stale, maySucceed, id: msg.id });
        return;
      }
      case 'InstallSnapshot':
        if (!stale && m.role === 'candidate') m.heardLeaderInTerm = msg.term;
        if (msg.done !== false) m.pendingFor(`IS>${e.from}`).push({ at, term: m.currentTerm, stale, id: msg.id });
        return;
      case 'RequestVoteResponse':
        if (!preVote && msg.term === m.currentTerm && msg.voteGranted && m.role === 'candidate') m.votesGranted.add(e.from);
        return;
      case 'AppendEntriesResponse':
        // matchIndex is optional: without it a success says nothing the quorum check can count on.
        if (msg.success && msg.matchIndex === undefined && !isHeartbeat(msg)) this.successWithoutMatchIndex = true;
        if (msg.term === m.currentTerm && msg.success && msg.matchIndex !== undefined && m.role === 'leader' && !isHeartbeat(msg)) {
          m.acknowledged.set(e.from, Math.max(m.acknowledged.get(e.from) ?? 0, msg.matchIndex));
        }
        return;
      case 'InstallSnapshotResponse':
        if (msg.term === m.currentTerm && msg.lastIncludedIndex !== undefined && m.role === 'leader' && (msg as { done?: unknown }).done !== false) {
          m.acknowledged.set(e.from, Math.max(m.acknowledged.get(e.from) ?? 0, msg.lastIncludedIndex));
        }
        return;
    }
  }

  // ------------------------------------------------------------------------------------------
  // The log

  private onAppend(m: NodeMirror, e: TraceEventOf<'append'>, at: LocatedEvent): void {
    for (const entry of e.entries) {
      const existing = termAt(m, entry.index);
      const overwrites = entry.index <= lastLogIndex(m) && existing !== undefined && existing !== entry.term;
      if (overwrites) this.onTruncate(m, { ev: 'truncate', node: m.id, from: entry.index }, at);
      if (m.role === 'leader' && entry.kind === 'config') this.checkConfigAppend(m, at);
      this.checkLogMatching(m, entry, at);
      m.append([entry]);
    }
  }

  /** S-LM, inductively: one (index, term) names one entry, and one entry before it. */
  private checkLogMatching(m: NodeMirror, entry: LogEntry, at: LocatedEvent): void {
    const key = `${entry.index}:${entry.term}`;
    if (!this.appendedAt.has(key)) this.appendedAt.set(key, this.events);
    const prevTerm = entry.index === 1 ? 0 : termAt(m, entry.index - 1);
    const fact = this.entryFacts.get(key);
    if (fact === undefined) {
      this.entryFacts.set(key, { digest: entry.digest, prevTerm: prevTerm !== undefined && prevTerm >= 0 ? prevTerm : undefined, node: m.id });
      return;
    }
    const sameDigest = fact.digest === undefined || entry.digest === undefined || fact.digest === entry.digest;
    this.check('S-LM', N.append, sameDigest, () =>
      this.violation('S-LM', at, m, `entry ${entry.index} of term ${entry.term} differs between ${fact.node} and ${m.id}`, { digest: fact.digest }, { digest: entry.digest }, [fact.node]),
    );
    const known = prevTerm !== undefined && prevTerm >= 0 && fact.prevTerm !== undefined;
    if (known) {
      this.check('S-LM', N.append, prevTerm === fact.prevTerm, () =>
        this.violation('S-LM', at, m, `${m.id} and ${fact.node} both hold entry ${entry.index} of term ${entry.term}, but their entries ${entry.index - 1} differ (terms ${prevTerm} and ${fact.prevTerm})`, { [`log[${entry.index - 1}].term`]: fact.prevTerm }, { [`log[${entry.index - 1}].term`]: prevTerm }, [fact.node]),
      );
    }
  }

  /** MC-1, MC-2 when a leader appends a configuration entry. */
  private checkConfigAppend(m: NodeMirror, at: LocatedEvent): void {
    const uncommittedConfig = m.log.some((x) => x.index > m.commitIndex && x.kind === 'config');
    this.check('MC-1', N.appendCommit, !uncommittedConfig, () =>
      this.violation('MC-1', at, m, `${m.id} appended a configuration entry while another one is uncommitted (commitIndex ${m.commitIndex})`),
    );
    this.check('MC-2', N.roleAppendCommit, termAt(m, m.commitIndex) === m.currentTerm, () =>
      this.violation('MC-2', at, m, `${m.id} appended a configuration entry in term ${m.currentTerm} before committing an entry of that term (commitIndex ${m.commitIndex} is of term ${termAt(m, m.commitIndex)})`),
    );
  }

  private onTruncate(m: NodeMirror, e: TraceEventOf<'truncate'>, at: LocatedEvent): void {
    this.check('S-LAO', N.roleAppend, m.role !== 'leader', () =>
      this.violation('S-LAO', at, m, `${m.id}, leader of term ${m.currentTerm}, deleted entries from index ${e.from}`),
    );
    const cause = m.lastReceived?.event;
    if (cause?.ev === 'recv' && cause.msg.type === 'AppendEntries' && cause.msg.term === m.currentTerm) {
      const ae = cause.msg;
      const incoming = ae.entries[e.from - ae.prevLogIndex - 1];
      const ours = termAt(m, e.from);
      const conflict = incoming !== undefined && ours !== undefined && incoming.term !== ours;
      this.check('AE-3', N.recvTruncate, conflict, () =>
        this.violation('AE-3', at, m, `${m.id} deleted entries from ${e.from} on AppendEntries (line ${m.lastReceived?.line}) that does not conflict there (ours: term ${ours}, theirs: ${incoming === undefined ? 'no entry' : `term ${incoming.term}`})`, { truncate: 'only at a conflict' }, { truncateFrom: e.from }),
      );
    } else if (cause?.ev === 'recv' && cause.msg.type === 'InstallSnapshot') {
      this.checkStaleSnapshot(m, at, `deleted entries from ${e.from}`);
      const s = cause.msg;
      const holds = termAt(m, s.lastIncludedIndex) === s.lastIncludedTerm && s.lastIncludedIndex <= lastLogIndex(m);
      // Any truncation that deletes an entry after the snapshot point breaks IS-6, wherever it starts.
      this.check('IS-6', N.recvTruncate, !(holds && Math.max(e.from, s.lastIncludedIndex + 1) <= lastLogIndex(m)), () =>
        this.violation('IS-6', at, m, `${m.id} discarded entries from ${e.from} on a snapshot through ${s.lastIncludedIndex} (term ${s.lastIncludedTerm}) that its log holds: the entries after it must be kept`),
      );
    }
    m.truncateFrom(e.from);
  }

  private onCommit(m: NodeMirror, e: TraceEventOf<'commit'>, at: LocatedEvent): void {
    const n = e.commitIndex;
    this.check('M-COMMIT', N.commit, n >= m.commitIndex, () =>
      this.violation('M-COMMIT', at, m, `${m.id}'s commitIndex went down from ${m.commitIndex} to ${n}`, { commitIndex: `≥ ${m.commitIndex}` }, { commitIndex: n }),
    );
    if (n > m.commitIndex) {
      if (m.role === 'leader') this.checkLeaderCommit(m, n, at);
      else this.checkFollowerCommit(m, n, at);
      this.recordCommitted(m, n);
    }
    m.commitIndex = n;
  }

  /** L-4: N on a majority by acknowledged matchIndex, and log[N] of the current term (Figure 8). */
  private checkLeaderCommit(m: NodeMirror, n: number, at: LocatedEvent): void {
    const term = termAt(m, n);
    this.check('L-4', N.roleAppendCommit, term === m.currentTerm || (term === undefined && n <= m.snapshot.lastIncludedIndex), () =>
      this.violation('L-4', at, m, `${m.id}, leader of term ${m.currentTerm}, advanced commitIndex to ${n}, whose entry is of term ${term ?? 'unknown'}: entries of earlier terms commit only with one of the current term (Figure 8)`, { [`log[${n}].term`]: m.currentTerm }, { [`log[${n}].term`]: term }),
    );
    // The majority is counted from acknowledged matchIndex and the leader's own mirrored log: a
    // trace whose successes omit matchIndex, or that shows no appends, cannot prove a shortfall.
    if (this.successWithoutMatchIndex) return;
    const selfHas = lastLogIndex(m) >= n && (m.persisted === undefined || m.persisted.lastIndex >= n || !this.present.has('persist'));
    const holders = [...m.acknowledged].filter(([peer, match]) => match >= n && peer !== m.id).map(([peer]) => peer);
    if (selfHas) holders.push(m.id);
    this.check('L-4', N.recvCommitAppend, this.isQuorum(holders, m), () =>
      this.violation('L-4', at, m, `${m.id} advanced commitIndex to ${n} with only ${JSON.stringify(holders.sort())} known to hold it (acknowledged matchIndex), not a majority of ${JSON.stringify(this.voters(m))}${m.joint === undefined ? '' : ` and of ${JSON.stringify(m.joint)}`}`, { holders: `a majority of ${this.voters(m).length}` }, { holders }),
    );
  }

  /** AE-5: commitIndex = min(leaderCommit, index of last new entry) — never beyond what the leader vouched for. */
  private checkFollowerCommit(m: NodeMirror, n: number, at: LocatedEvent): void {
    const cause = m.lastReceived?.event;
    if (cause?.ev !== 'recv') return;
    const msg = cause.msg;
    let limit: number | undefined;
    if (msg.type === 'AppendEntries') {
      limit = isHeartbeat(msg) ? msg.leaderCommit : Math.min(msg.leaderCommit, msg.prevLogIndex + msg.entries.length);
    } else if (msg.type === 'InstallSnapshot') {
      limit = msg.lastIncludedIndex;
    }
    if (limit === undefined) return;
    const bound = Math.max(limit, m.commitIndex);
    this.check('AE-5', N.recvCommit, n <= bound, () =>
      this.violation('AE-5', at, m, `${m.id} set commitIndex to ${n}, beyond min(leaderCommit, index of last new entry) = ${limit} of the ${msg.type} it received (line ${m.lastReceived?.line})`, { commitIndex: `≤ ${bound}` }, { commitIndex: n }),
    );
  }

  private recordCommitted(m: NodeMirror, n: number): void {
    const term = termAt(m, n);
    if (m.role === 'leader' && term === m.currentTerm && !this.readyLeaders.some((l) => l.term === term && l.node === m.id)) {
      this.readyLeaders.push({ term, node: m.id, from: this.events, to: Infinity });
    }
    if (term === undefined || term < 0) return;
    if (this.committed === undefined || n > this.committed.index) this.committed = { index: n, term, inTerm: m.currentTerm, node: m.id };
  }

  private onApply(m: NodeMirror, e: TraceEventOf<'apply'>, at: LocatedEvent): void {
    this.check('ALL-1', N.apply, e.index === m.lastApplied + 1, () =>
      this.violation('ALL-1', at, m, `${m.id} applied entry ${e.index} after entry ${m.lastApplied}: entries are applied in index order, each once`, { index: m.lastApplied + 1 }, { index: e.index }),
    );
    this.check('ALL-1', N.applyCommit, e.index <= m.commitIndex, () =>
      this.violation('ALL-1', at, m, `${m.id} applied entry ${e.index} beyond its commitIndex ${m.commitIndex}`, { index: `≤ ${m.commitIndex}` }, { index: e.index }),
    );
    const appended = this.appendedAt.get(`${e.index}:${e.term}`);
    if (appended !== undefined && appended > this.newestAppliedAppend) this.newestAppliedAppend = appended;
    const first = this.appliedAt.get(e.index);
    if (first === undefined) {
      this.appliedAt.set(e.index, { term: e.term, digest: e.digest, node: m.id });
    } else {
      const same = first.term === e.term && (first.digest === undefined || e.digest === undefined || first.digest === e.digest);
      this.check('S-SMS', N.apply, same, () =>
        this.violation('S-SMS', at, m, `${m.id} applied a different entry at index ${e.index} than ${first.node} did`, { term: first.term, digest: first.digest }, { term: e.term, digest: e.digest }, [first.node]),
      );
    }
    m.lastApplied = Math.max(m.lastApplied, e.index);
  }

  /** SN-1: a local snapshot covers only committed entries, with the right last term. */
  private onSnapshot(m: NodeMirror, e: TraceEventOf<'snapshot'>, at: LocatedEvent): void {
    this.check('SN-1', N.commit, e.lastIncludedIndex <= m.commitIndex, () =>
      this.violation('SN-1', at, m, `${m.id} took a snapshot through ${e.lastIncludedIndex}, beyond its commitIndex ${m.commitIndex}`, { lastIncludedIndex: `≤ ${m.commitIndex}` }, { lastIncludedIndex: e.lastIncludedIndex }),
    );
    const term = termAt(m, e.lastIncludedIndex);
    if (term !== undefined && term >= 0) {
      this.check('SN-1', N.append, term === e.lastIncludedTerm, () =>
        this.violation('SN-1', at, m, `${m.id} took a snapshot through ${e.lastIncludedIndex} with lastIncludedTerm ${e.lastIncludedTerm}, but its entry there is of term ${term}`, { lastIncludedTerm: term }, { lastIncludedTerm: e.lastIncludedTerm }),
      );
    }
    m.compactTo(e.lastIncludedIndex, e.lastIncludedTerm, true);
  }

  /** IS-8: the state machine never regresses; IS-6/IS-7 decide what of the log survives. */
  private onRestore(m: NodeMirror, e: TraceEventOf<'restore'>, at: LocatedEvent): void {
    this.checkStaleSnapshot(m, at, 'restored a snapshot');
    this.check('IS-8', N.applyRestore, e.lastIncludedIndex >= m.lastApplied, () =>
      this.violation('IS-8', at, m, `${m.id} restored a snapshot through ${e.lastIncludedIndex} after applying up to ${m.lastApplied}: the state machine went back`, { lastIncludedIndex: `≥ ${m.lastApplied}` }, { lastIncludedIndex: e.lastIncludedIndex }),
    );
    const holds = termAt(m, e.lastIncludedIndex) === e.lastIncludedTerm && e.lastIncludedIndex <= lastLogIndex(m);
    if (!holds && m.log.some((x) => x.index > e.lastIncludedIndex)) {
      // IS-7: a log that does not hold the snapshot's last entry must be discarded (a truncate before the restore).
      this.check('IS-7', N.recvTruncate, false, () =>
        this.violation('IS-7', at, m, `${m.id} restored a snapshot through ${e.lastIncludedIndex} (term ${e.lastIncludedTerm}) its log does not hold, but kept entries after it`),
      );
    } else {
      this.check('IS-7', N.recvTruncate, true, () => this.violation('IS-7', at, m, ''));
    }
    m.compactTo(e.lastIncludedIndex, e.lastIncludedTerm, holds);
    m.commitIndex = Math.max(m.commitIndex, e.lastIncludedIndex);
    m.lastApplied = Math.max(m.lastApplied, e.lastIncludedIndex);
  }

  /** IS-1: an InstallSnapshot from an earlier term is answered and changes nothing. */
  private checkStaleSnapshot(m: NodeMirror, at: LocatedEvent, what: string): void {
    const cause = m.lastReceived?.event;
    if (cause?.ev !== 'recv' || cause.msg.type !== 'InstallSnapshot') return;
    const snapshotTerm = cause.msg.term;
    this.check('IS-1', N.recvRestore, snapshotTerm >= m.currentTerm, () =>
      this.violation('IS-1', at, m, `${m.id} ${what} on an InstallSnapshot of term ${snapshotTerm} (line ${m.lastReceived?.line}), earlier than its term ${m.currentTerm}: it must reply at once and change nothing`),
    );
  }

  /** The optional after-event state: monotonic fields are checked, the rest updates the mirror. */
  private onState(m: NodeMirror, e: TraceEvent, at: LocatedEvent): void {
    const s = (e as { state?: NodeState }).state;
    if (s === undefined) return;
    this.check('M-TERM', N.state, s.term >= m.currentTerm || e.ev === 'init', () =>
      this.violation('M-TERM', at, m, `${m.id} reports term ${s.term} after term ${m.currentTerm}`, { term: `≥ ${m.currentTerm}` }, { term: s.term }),
    );
    this.check('M-COMMIT', N.state, s.commitIndex >= m.commitIndex || e.ev === 'init', () =>
      this.violation('M-COMMIT', at, m, `${m.id} reports commitIndex ${s.commitIndex} after ${m.commitIndex}`, { commitIndex: `≥ ${m.commitIndex}` }, { commitIndex: s.commitIndex }),
    );
    if (e.ev === 'recv' && (e.msg.type === 'AppendEntries' || e.msg.type === 'InstallSnapshot') && e.msg.term >= s.term) {
      // C-3 (and ALL-2): after AppendEntries from a leader of its term or later, a node is a follower.
      this.check('C-3', N.stateRecv, s.role === 'follower', () =>
        this.violation('C-3', at, m, `${m.id} is still ${s.role} after ${e.msg.type} from ${e.from}, leader of term ${e.msg.term}`, { role: 'follower' }, { role: s.role }),
      );
    }
    m.currentTerm = Math.max(m.currentTerm, s.term);
    m.commitIndex = Math.max(m.commitIndex, s.commitIndex);
  }

  // ------------------------------------------------------------------------------------------
  // Messages in flight

  private messageKey(from: string, to: string, msg: Message): string {
    switch (msg.type) {
      case 'AppendEntries':
        return `${from}>${to}|AE|${msg.term}|${msg.prevLogIndex}|${msg.prevLogTerm}|${msg.entries.length}|${msg.leaderCommit}`;
      case 'AppendEntriesResponse':
        return `${from}>${to}|AER|${msg.term}|${msg.success}|${msg.matchIndex}`;
      case 'RequestVote':
        return `${from}>${to}|RV|${msg.term}|${msg.lastLogIndex}|${msg.lastLogTerm}|${msg.preVote === true}`;
      case 'RequestVoteResponse':
        return `${from}>${to}|RVR|${msg.term}|${msg.voteGranted}|${msg.preVote === true}`;
      case 'InstallSnapshot':
        return `${from}>${to}|IS|${msg.term}|${msg.lastIncludedIndex}|${msg.offset ?? 0}`;
      case 'InstallSnapshotResponse':
        return `${from}>${to}|ISR|${msg.term}|${msg.lastIncludedIndex}`;
      case 'TimeoutNow':
        return `${from}>${to}|TN|${msg.term}`;
    }
  }

  private remember(from: string, to: string, msg: Message): void {
    const key = this.messageKey(from, to, msg);
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
  }

  private forget(from: string, to: string, msg: Message): void {
    const key = this.messageKey(from, to, msg);
    const n = this.inFlight.get(key);
    if (n === undefined) return;
    if (n <= 1) this.inFlight.delete(key);
    else this.inFlight.set(key, n - 1);
    this.rememberDelivered(key);
  }

  /** A recv matches an earlier send; a recv of a traced sender's message never sent is an input problem. */
  private received(from: string, to: string, msg: Message, at: LocatedEvent): void {
    const key = this.messageKey(from, to, msg);
    const n = this.inFlight.get(key);
    if (n !== undefined) {
      if (n <= 1) this.inFlight.delete(key);
      else this.inFlight.set(key, n - 1);
      this.rememberDelivered(key);
      return;
    }
    if (this.delivered.has(key) || !this.sendersSeen.has(from)) return; // a network duplicate, or an untraced sender
    this.inputErrors.push({ file: at.file, line: at.line, path: '$.msg', message: `${to} received a ${msg.type} from ${from} that ${from} never sent (no earlier send event matches)` });
  }

  private rememberDelivered(key: string): void {
    if (this.delivered.size >= DELIVERED_REMEMBERED) this.delivered.clear();
    this.delivered.add(key);
  }

  // ------------------------------------------------------------------------------------------
  // Quorums

  /** The voting configuration that applies at `m`: its own latest one (MC-3), else the header's, else every node seen. */
  private voters(m?: NodeMirror): readonly string[] {
    if (m?.voters !== undefined && m.voters.length > 0) return m.voters;
    return this.cluster ?? [...this.nodes.keys()];
  }

  private isVoter(node: string, m?: NodeMirror): boolean {
    const voters = this.voters(m);
    return voters.includes(node) || (m?.joint?.includes(node) ?? false);
  }

  /** A majority of the configuration — of both configurations while a joint one is in effect. */
  private isQuorum(members: readonly string[], m?: NodeMirror): boolean {
    const majorityOf = (voters: readonly string[]): boolean => {
      const distinct = new Set(members.filter((x) => voters.includes(x)));
      return distinct.size >= Math.floor(voters.length / 2) + 1;
    };
    return majorityOf(this.voters(m)) && (m?.joint === undefined || majorityOf(m.joint));
  }

  // ------------------------------------------------------------------------------------------
  // Verdicts

  private check(rule: RuleId, need: Need, ok: boolean, describe: () => Violation): void {
    let byNeed = this.checks.get(rule);
    if (byNeed === undefined) {
      byNeed = new Map();
      this.checks.set(rule, byNeed);
    }
    const counter = byNeed.get(need.key);
    if (counter === undefined) byNeed.set(need.key, { need, count: 1 });
    else counter.count++;
    if (ok) return;
    let list = this.candidates.get(rule);
    if (list === undefined) {
      list = [];
      this.candidates.set(rule, list);
    }
    if (list.length < CANDIDATES_PER_RULE_MAX) list.push({ violation: describe(), need });
  }

  private violation(
    rule: RuleId,
    at: LocatedEvent,
    m: NodeMirror | undefined,
    message: string,
    expected?: unknown,
    actual?: unknown,
    others: readonly string[] = [],
  ): Violation {
    const limit = this.options.contextEvents ?? 6;
    const context = [...(m?.recent ?? []), ...others.flatMap((o) => this.nodes.get(o)?.recent ?? [])]
      .sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1))
      .filter((e, i, all) => i === 0 || e !== all[i - 1])
      .slice(-limit);
    const where: Location = { file: at.file, line: at.line };
    return {
      rule,
      statement: ruleById(rule).statement,
      at: where,
      node: m?.id,
      message,
      ...(expected === undefined ? {} : { expected }),
      ...(actual === undefined ? {} : { actual }),
      context: context.length > 0 && context[context.length - 1] === at ? context : [...context.slice(-(limit - 1)), at],
    };
  }

  /**
   * The verdicts so far whose evidence the events fed so far hold (what `finish` would keep if the
   * trace ended here). For online checking of a source that emits every kind it will ever emit.
   */
  violationsSoFar(): readonly Violation[] {
    const kept: Violation[] = [];
    for (const list of this.candidates.values()) for (const c of list) if (c.need.kinds.every((k) => this.present.has(k))) kept.push(c.violation);
    return kept;
  }

  /** The report: verdicts whose evidence the trace holds, the coverage table, CL-LIN. */
  finish(seconds = 0): CheckReport {
    const holds = (n: Need): boolean => n.kinds.every((k) => this.present.has(k));
    const kept: Violation[] = [];
    for (const list of this.candidates.values()) for (const c of list) if (holds(c.need)) kept.push(c.violation);
    kept.sort((a, b) => (a.at.file === b.at.file ? a.at.line - b.at.line : a.at.file < b.at.file ? -1 : 1));
    const linearizability = this.linearizability();
    const coverage: RuleCoverage[] = RULES.map((rule) => {
      if (rule.id === 'CL-LIN') {
        const checkable = linearizability.verdict !== 'no-history';
        return { rule: rule.id, checked: checkable ? 1 : 0, violated: linearizability.verdict === 'not-linearizable' ? 1 : 0, checkable, needs: rule.needs };
      }
      const reason = UNCHECKED[rule.id];
      let checked = 0;
      for (const { need, count } of this.checks.get(rule.id)?.values() ?? []) if (holds(need)) checked += count;
      const violated = kept.filter((v) => v.rule === rule.id).length;
      const checkable = reason === undefined && (checked > 0 || satisfiedNeeds(rule, this.present) !== undefined);
      return { rule: rule.id, checked, violated, checkable, needs: rule.needs, ...(reason === undefined ? {} : { reason }) };
    });
    const max = this.options.maxViolations ?? Infinity;
    return {
      files: [...this.files],
      events: this.events,
      nodes: [...this.nodes.keys()].sort(),
      violations: kept.slice(0, max),
      truncated: kept.length > max,
      coverage,
      linearizability,
      seconds,
    };
  }

  private linearizability(): LinearizabilityResult {
    if (this.clientEvents.length === 0) return { verdict: 'no-history' };
    const check = this.options.linearizability;
    if (check === undefined) return { verdict: 'unknown', message: 'no linearizability checker configured' };
    return check(this.clientEvents);
  }
}

/**
 * The request an answer answers. With correlation ids (trace-format.md: a request's `id`, its
 * answer's `inReplyTo`) the one named — so a request answered with silence (PySyncObj refuses a
 * vote, or ignores a stale AppendEntries, without a reply) does not pair with a later answer;
 * without them, `fifo` decides.
 */
function takeAnswered(queue: PendingRequest[], inReplyTo: CorrelationId | undefined, fifo: () => PendingRequest | undefined): PendingRequest | undefined {
  if (inReplyTo === undefined) return fifo();
  const k = queue.findIndex((r) => r.id === inReplyTo);
  return k < 0 ? undefined : queue.splice(k, 1)[0];
}

function isHeartbeat(msg: Message): boolean {
  return (msg as { heartbeat?: unknown }).heartbeat === true;
}

function describeVoteRefusal(request: PendingRequest): string {
  const r = request as PendingRequest & { ours?: { lastLogIndex: number; lastLogTerm: number }; votedFor?: string | null };
  const msg = (request.at.event as TraceEventOf<'recv'>).msg as Extract<Message, { type: 'RequestVote' }>;
  if (r.votedFor !== null && r.votedFor !== undefined && r.votedFor !== msg.candidateId) return `it had already voted for ${r.votedFor} in term ${request.term}`;
  if (r.ours !== undefined && !isAtLeastAsUpToDate(msg, r.ours)) {
    return `the candidate's log (last term ${msg.lastLogTerm}, index ${msg.lastLogIndex}) is less up-to-date than its own (last term ${r.ours.lastLogTerm}, index ${r.ours.lastLogIndex})`;
  }
  return 'as a candidate or leader of this term it had voted for itself';
}
