/**
 * A cluster of spec statecharts on a simulated network: each server is the executable spec
 * (spec/statechart), messages wait in flight until delivered, dropped or duplicated, and every
 * step is recorded as trace format v1. It is how the spec itself is explored (`figure2 explore`)
 * and a source of known-good traces; the reference implementation gets its own simulator.
 */
import { transition } from 'xstate';
import {
  checkSafety,
  leaderAppendOnly,
  type AppliedRecord,
  type ClusterView,
  type CommittedRecord,
  type EntryView,
  type InvariantViolation,
  type LeaderRecord,
  type NodeView,
} from '../spec/invariants.ts';
import type { Message } from '../spec/schemas/messages.ts';
import type { TraceEvent } from '../spec/schemas/trace-events.ts';
import { lastLogIndex, lastLogTerm } from '../spec/statechart/log.ts';
import {
  initialContext,
  messageEvent,
  type ServerContext,
  type ServerEmitted,
  type ServerEvent,
} from '../spec/statechart/server-context.ts';
import { serverMachine } from '../spec/statechart/server-machine.ts';

type Machine = typeof serverMachine;
type Snapshot = ReturnType<Machine['resolveState']>;
export type SpecRole = 'follower' | 'candidate' | 'leader' | 'down';

/** A message on the wire. */
export interface InFlight {
  readonly from: string;
  readonly to: string;
  readonly msg: Message;
}

/** Everything that can happen to the cluster in one step. */
export type ClusterAction =
  | { readonly kind: 'timeout'; readonly node: string; readonly timer: 'election' | 'heartbeat' }
  | { readonly kind: 'deliver'; readonly index: number }
  | { readonly kind: 'drop'; readonly index: number }
  | { readonly kind: 'duplicate'; readonly index: number }
  | { readonly kind: 'client'; readonly node: string; readonly digest: string }
  | { readonly kind: 'crash'; readonly node: string }
  | { readonly kind: 'restart'; readonly node: string }
  | { readonly kind: 'snapshot'; readonly node: string };

export interface SpecClusterOptions {
  readonly voters: readonly string[];
  /** The machine each server runs — the spec by default; tests pass a deliberately broken one. */
  readonly machine?: Machine | undefined;
  /** Receives every trace event, in order. */
  readonly sink?: ((event: TraceEvent) => void) | undefined;
  /** Bound on messages in flight: beyond it, new sends are lost (and recorded as `drop`). */
  readonly maxInFlight?: number | undefined;
}

/** The role a snapshot is in. */
export function roleOf(snapshot: Snapshot): SpecRole {
  // Read the state value directly: snapshot.matches() resolves state paths on every call and
  // showed up at ~10% of an exploration profile.
  const value = snapshot.value as 'down' | { readonly up: 'follower' | 'candidate' | 'leader' };
  return value === 'down' ? 'down' : value.up;
}

function nodeView(snapshot: Snapshot): NodeView {
  const c = snapshot.context;
  return {
    id: c.id,
    currentTerm: c.currentTerm,
    role: roleOf(snapshot),
    snapshotIndex: c.snapshot.lastIncludedIndex,
    snapshotTerm: c.snapshot.lastIncludedTerm,
    log: c.log,
    commitIndex: c.commitIndex,
  };
}

export class SpecCluster {
  readonly voters: readonly string[];
  private readonly machine: Machine;
  private readonly sink: (event: TraceEvent) => void;
  private readonly maxInFlight: number;
  private readonly servers = new Map<string, Snapshot>();
  private readonly network: InFlight[] = [];
  private readonly leaders: LeaderRecord[] = [];
  private readonly committed = new Map<number, CommittedRecord>();
  private readonly applied = new Map<string, EntryView[]>();

  constructor(options: SpecClusterOptions) {
    this.voters = [...options.voters];
    this.machine = options.machine ?? serverMachine;
    this.sink = options.sink ?? (() => {});
    this.maxInFlight = options.maxInFlight ?? 256;
    this.sink({ ev: 'header', format: 'raft-trace', version: 1, cluster: [...this.voters], source: 'figure2 spec statechart' });
    for (const id of this.voters) {
      const context = initialContext({ id, voters: this.voters });
      this.servers.set(id, this.machine.resolveState({ value: { up: 'follower' }, context }));
      this.applied.set(id, []);
      this.emitInit(context);
    }
  }

  /** Messages in flight, oldest first. */
  inFlight(): readonly InFlight[] {
    return this.network;
  }

  /** The server's snapshot (state value and Figure 2 context). */
  server(id: string): Snapshot {
    const snapshot = this.servers.get(id);
    if (snapshot === undefined) throw new Error(`no server ${id}`);
    return snapshot;
  }

  role(id: string): SpecRole {
    return roleOf(this.server(id));
  }

  /** The cluster as the Figure 3 predicates see it: current logs plus the history of leaders, commits and applies. */
  view(): ClusterView {
    return {
      nodes: this.voters.map((id) => nodeView(this.server(id))),
      leaders: this.leaders,
      committed: [...this.committed.values()],
      applied: [...this.applied].map(([node, entries]) => ({ node, entries }) satisfies AppliedRecord),
    };
  }

  /** Perform one action; returns the Figure 3 violations it caused (S-LAO for the stepped server, the rest globally). */
  perform(action: ClusterAction): readonly InvariantViolation[] {
    switch (action.kind) {
      case 'timeout':
        this.sink({ ev: 'timeout', node: action.node, kind: action.timer });
        return this.stepServer(action.node, { type: action.timer === 'election' ? 'ELECTION_TIMEOUT' : 'HEARTBEAT_TIMEOUT' });
      case 'deliver': {
        const [message] = this.network.splice(this.checkedIndex(action.index), 1);
        if (message === undefined) throw new Error('deliver: no such message');
        const event = messageEvent(message.from, message.msg);
        if (this.role(message.to) === 'down' || event === undefined) {
          this.sink({ ev: 'drop', from: message.from, to: message.to, msg: message.msg });
          return [];
        }
        this.sink({ ev: 'recv', node: message.to, from: message.from, msg: message.msg });
        return this.stepServer(message.to, event);
      }
      case 'drop': {
        const [message] = this.network.splice(this.checkedIndex(action.index), 1);
        if (message === undefined) throw new Error('drop: no such message');
        this.sink({ ev: 'drop', from: message.from, to: message.to, msg: message.msg });
        return [];
      }
      case 'duplicate': {
        const message = this.network[this.checkedIndex(action.index)];
        if (message !== undefined && this.network.length < this.maxInFlight) this.network.push(message);
        return [];
      }
      case 'client':
        return this.stepServer(action.node, { type: 'CLIENT_REQUEST', digest: action.digest });
      case 'crash':
        this.sink({ ev: 'crash', node: action.node });
        return this.stepServer(action.node, { type: 'CRASH' });
      case 'restart': {
        const violations = this.stepServer(action.node, { type: 'RESTART' }, { quiet: true });
        this.emitInit(this.server(action.node).context);
        return violations;
      }
      case 'snapshot':
        return this.stepServer(action.node, { type: 'TAKE_SNAPSHOT', index: this.server(action.node).context.lastApplied });
    }
  }

  private checkedIndex(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.network.length) {
      throw new Error(`no message ${index} in flight (${this.network.length} in flight)`);
    }
    return index;
  }

  private emitInit(c: ServerContext): void {
    this.sink({
      ev: 'init',
      node: c.id,
      term: c.currentTerm,
      votedFor: c.votedFor,
      lastIndex: lastLogIndex(c),
      lastTerm: lastLogTerm(c),
      snapshotIndex: c.snapshot.lastIncludedIndex,
      snapshotTerm: c.snapshot.lastIncludedTerm,
      entries: c.log.map((e) => ({ ...e })),
    });
  }

  /**
   * Step one server and record what changed, in the order a real server must do it: role and
   * term, log changes, snapshot, then the durability barrier (persist) BEFORE any message that
   * depends on it leaves (P-1), then commit and apply, then the sends.
   */
  private stepServer(id: string, event: ServerEvent, options: { quiet?: boolean } = {}): readonly InvariantViolation[] {
    const before = this.server(id);
    const [after, actions] = transition(this.machine, before, event);
    this.servers.set(id, after);
    const emitted: ServerEmitted[] = [];
    for (const action of actions as readonly { readonly type: string; readonly params?: unknown }[]) {
      if (action.type === 'xstate.emit') emitted.push((action.params as { event: ServerEmitted }).event);
    }
    if (!options.quiet) this.record(before, after, emitted);
    this.learnHistory(after, emitted);
    for (const e of emitted) {
      if (e.type !== 'SEND') continue;
      if (this.network.length >= this.maxInFlight) {
        this.sink({ ev: 'drop', from: id, to: e.to, msg: e.msg });
        continue;
      }
      this.network.push({ from: id, to: e.to, msg: e.msg });
    }
    return [...leaderAppendOnly(nodeView(before), nodeView(after)), ...checkSafety(this.view())];
  }

  private record(before: Snapshot, after: Snapshot, emitted: readonly ServerEmitted[]): void {
    const b = before.context;
    const a = after.context;
    const node = a.id;
    const role = roleOf(after);
    if (role !== 'down' && (role !== roleOf(before) || a.currentTerm !== b.currentTerm)) {
      this.sink({ ev: 'role', node, role, term: a.currentTerm });
    }
    const restore = emitted.find((e) => e.type === 'RESTORE');
    const truncatedFrom = deletedFrom(b, a, restore !== undefined);
    if (truncatedFrom !== undefined) this.sink({ ev: 'truncate', node, from: truncatedFrom });
    if (restore !== undefined) {
      this.sink({ ev: 'restore', node, lastIncludedIndex: restore.lastIncludedIndex, lastIncludedTerm: restore.lastIncludedTerm });
    } else if (a.snapshot.lastIncludedIndex !== b.snapshot.lastIncludedIndex) {
      this.sink({ ev: 'snapshot', node, lastIncludedIndex: a.snapshot.lastIncludedIndex, lastIncludedTerm: a.snapshot.lastIncludedTerm });
    }
    // New entries: those the old log did not hold below the truncation point.
    const held = (e: EntryView): boolean =>
      e.index < (truncatedFrom ?? Infinity) && b.log.some((o) => o.index === e.index && o.term === e.term);
    const appended = a.log.filter((e) => !held(e));
    if (appended.length > 0) this.sink({ ev: 'append', node, entries: appended.map((e) => ({ ...e })) });
    const durableChanged =
      a.currentTerm !== b.currentTerm || a.votedFor !== b.votedFor || a.log !== b.log || a.snapshot !== b.snapshot;
    if (durableChanged && role !== 'down') {
      this.sink({ ev: 'persist', node, term: a.currentTerm, votedFor: a.votedFor, lastIndex: lastLogIndex(a) });
    }
    if (a.commitIndex !== b.commitIndex && role !== 'down') this.sink({ ev: 'commit', node, commitIndex: a.commitIndex });
    for (const e of emitted) {
      if (e.type === 'APPLY') this.sink({ ev: 'apply', node, index: e.index, term: e.term, ...(e.digest === undefined ? {} : { digest: e.digest }) });
    }
    for (const e of emitted) {
      if (e.type === 'SEND') this.sink({ ev: 'send', node, to: e.to, msg: e.msg });
    }
  }

  private learnHistory(after: Snapshot, emitted: readonly ServerEmitted[]): void {
    const c = after.context;
    if (roleOf(after) === 'leader' && !this.leaders.some((l) => l.term === c.currentTerm && l.node === c.id)) {
      this.leaders.push({ term: c.currentTerm, node: c.id });
    }
    for (const entry of c.log) {
      if (entry.index > c.commitIndex) break;
      if (!this.committed.has(entry.index)) {
        this.committed.set(entry.index, { index: entry.index, term: entry.term, digest: entry.digest, committedInTerm: c.currentTerm });
      }
    }
    const applied = this.applied.get(c.id);
    if (applied === undefined) throw new Error(`no apply history for ${c.id}`);
    for (const e of emitted) if (e.type === 'APPLY') applied.push({ index: e.index, term: e.term, digest: e.digest });
  }
}

/**
 * The first index of the old log that the step deleted, if any. A snapshot install that does not
 * keep the log (IS-7) discards it whole; otherwise an old entry beyond the new snapshot point that
 * the new log no longer holds was deleted (AE-3). Entries folded into a snapshot are not deleted.
 */
function deletedFrom(b: ServerContext, a: ServerContext, restored: boolean): number | undefined {
  const first = b.log[0];
  if (restored && first !== undefined) {
    const keptSuffix = b.log.some((e) => e.index === a.snapshot.lastIncludedIndex && e.term === a.snapshot.lastIncludedTerm);
    if (!keptSuffix) return first.index;
  }
  const gone = b.log.find(
    (o) => o.index > a.snapshot.lastIncludedIndex && !a.log.some((e) => e.index === o.index && e.term === o.term),
  );
  return gone?.index;
}
