/**
 * One @markwylde/liferaft node in its own process, driven by the liferaft adapter (../liferaft.ts)
 * over IPC (protocol.ts). A crash is a SIGKILL of this process: what LevelDB wrote survives (the
 * OS has it), everything in memory is gone — exactly liferaft's own durability.
 *
 * liferaft is used as its README says — no code of it is changed:
 * - transport: every peer joins with a `write(packet, callback)` that hands the packet to the
 *   parent, which routes it through figure2's network; a packet delivered here is handed to
 *   `raft.emit('data', packet, reply)`, and a reply comes back through the sender's callback;
 * - client commands: `raft.command(command)`; applied commands: the `commit` event, on which this
 *   process runs the key-value state machine.
 *
 * What the trace shows, and where it comes from (docs/targets/liferaft.md has the whole table):
 * - `send`/`recv`: every packet out and in, translated to the Raft RPC it is (translate.ts);
 * - `role`: after every `raft.change()` that moved the role or the term; a `timeout` before each
 *   candidacy (liferaft becomes candidate only from its heartbeat or election timer);
 * - `append`/`truncate`: the log as LevelDB holds it — every completed put and del of the store,
 *   shown as the contiguous prefix from index 1 (a hole is reported in the status);
 * - `commit`: every change of the log's `committedIndex`; `apply`: every `commit` event;
 * - `persist`: liferaft has no durability barrier and never stores currentTerm or votedFor. The
 *   adapter emits `persist` where Figure 2 obliges persistence — before every message sent — with
 *   the node's term, vote and stored log. P-1 is therefore satisfied by construction, and a
 *   restart shows whether the obligation was met: `init` reports what liferaft really recovers.
 */
import { createRequire } from 'node:module';
import type { Message } from '../../../spec/schemas/messages.ts';
import type { NodeId, Role } from '../../../spec/schemas/primitives.ts';
import type { LogEntry, TraceEvent } from '../../../spec/schemas/trace-events.ts';
import { applyKv } from '../../realtime/clients.ts';
import type { ChildConfig, ChildStatus, FromChild, LiferaftCommand, ToChild, WireKind } from './protocol.ts';
import { appendFailIndex, digestOf, translate } from './translate.ts';

// ---------------------------------------------------------------------------------------------
// liferaft's shapes (it ships no types)

interface StoredEntry {
  readonly index: number;
  readonly term: number;
  readonly command?: unknown;
}
interface LevelDb {
  put(key: number, value: StoredEntry): Promise<void>;
  del(key: number): Promise<void>;
  close(): Promise<void>;
}
interface LiferaftLog {
  db: LevelDb;
  committedIndex: number;
  getEntriesAfter(index: number): Promise<StoredEntry[]>;
}
type LogConstructor = new (node: { address: string; term: number }, options: { path: string }) => LiferaftLog;
type WriteFn = (packet: unknown, callback: (err: unknown, data?: unknown) => void) => void;
interface LiferaftRaft {
  state: number;
  term: number;
  leader: string;
  votes: { for: string | null; granted: number };
  change(changed: Record<string, unknown>): unknown;
  join(address: string, write: WriteFn): unknown;
  on(event: string, listener: (...args: never[]) => void): unknown;
  emit(event: string, ...args: unknown[]): boolean;
  command(command: LiferaftCommand): Promise<void>;
}
type RaftConstructor = (new (options: Record<string, unknown>) => LiferaftRaft) & Record<string, number>;

const require = createRequire(import.meta.url);
const Raft = require('@markwylde/liferaft') as RaftConstructor;
const Log = require('@markwylde/liferaft/log') as LogConstructor;

const ROLES: Record<number, Role | 'stopped'> = {
  [Raft.LEADER as number]: 'leader',
  [Raft.CANDIDATE as number]: 'candidate',
  [Raft.FOLLOWER as number]: 'follower',
};

// ---------------------------------------------------------------------------------------------
// The channel

const config = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;

function post(message: FromChild): void {
  process.send?.(message);
}

function emit(event: Omit<TraceEvent, 'node'> & { ev: string }): void {
  post({ t: 'event', event: { ...event, node: config.id } as TraceEvent });
}

// A bug of the target that escapes its own code must not kill the process silently: it is
// reported to the adapter (and, for an uncaught exception, the process then dies like the target would).
process.on('unhandledRejection', (err) => post({ t: 'target-error', message: `unhandled rejection: ${describeError(err)}` }));
process.on('uncaughtException', (err) => {
  post({ t: 'target-error', message: `uncaught exception: ${describeError(err)}` });
  process.exitCode = 70;
  setImmediate(() => process.exit(70));
});
// The adapter going away ends the node (a crash of the harness must not leave nodes behind).
process.on('disconnect', () => process.exit(0));

function describeError(err: unknown): string {
  return err instanceof Error ? `${err.message}${err.stack === undefined ? '' : ` @ ${err.stack.split('\n')[1]?.trim() ?? ''}`}` : String(err);
}

// ---------------------------------------------------------------------------------------------
// The log as stored, and as the trace shows it

interface Slot {
  readonly term: number;
  readonly digest: string | undefined;
}

const stored = new Map<number, Slot>();
/** The log the trace has shown: stored[1..n], contiguous. */
const shown: Slot[] = [];
/** Where each command was stored (apply events need its index and term). */
const byDigest = new Map<string, { index: number; term: number }>();
let storeOpsPending = 0;

function toLogEntry(index: number, slot: Slot): LogEntry {
  return { index, term: slot.term, kind: 'command', ...(slot.digest === undefined ? {} : { digest: slot.digest }) };
}

/** After the store changed at `index`: bring the shown prefix in line, with truncate/append events. */
function storeChanged(index: number): void {
  const slot = stored.get(index);
  const old = shown[index - 1];
  if (index <= shown.length && (slot === undefined || old === undefined || old.term !== slot.term || old.digest !== slot.digest)) {
    emit({ ev: 'truncate', from: index });
    shown.length = index - 1;
  }
  const appended: LogEntry[] = [];
  for (let next = stored.get(shown.length + 1); next !== undefined; next = stored.get(shown.length + 1)) {
    shown.push(next);
    appended.push(toLogEntry(shown.length, next));
  }
  if (appended.length > 0) emit({ ev: 'append', entries: appended });
  status();
}

function highestStored(): number {
  let max = 0;
  for (const index of stored.keys()) if (index > max) max = index;
  return max;
}

// ---------------------------------------------------------------------------------------------
// The node

let raft: LiferaftRaft | undefined;
let commitIndex = 0;

/** liferaft's Log, watched: every put/del of its store, and its committedIndex. */
class TracedLog extends (Log as unknown as new (node: unknown, options: unknown) => LiferaftLog) {
  constructor(node: unknown, options: unknown) {
    super(node, options);
    const db = this.db;
    const put = db.put.bind(db);
    const del = db.del.bind(db);
    db.put = (key, value) => {
      // The value is encoded when put is called; later mutations of the object do not reach the store.
      const slot: Slot = { term: value.term, digest: digestOf(value.command) };
      storeOpsPending++;
      return put(key, value).then(
        () => {
          storeOpsPending--;
          stored.set(key, slot);
          if (slot.digest !== undefined) byDigest.set(slot.digest, { index: key, term: slot.term });
          storeChanged(key);
        },
        (err: unknown) => {
          storeOpsPending--;
          throw err;
        },
      );
    };
    db.del = (key) => {
      storeOpsPending++;
      return del(key).then(
        () => {
          storeOpsPending--;
          stored.delete(key);
          storeChanged(key);
        },
        (err: unknown) => {
          storeOpsPending--;
          throw err;
        },
      );
    };
    let committed = this.committedIndex;
    Object.defineProperty(this, 'committedIndex', {
      configurable: true,
      enumerable: true,
      get: () => committed,
      set: (value: number) => {
        if (value === committed) return;
        committed = value;
        commitIndex = value;
        emit({ ev: 'commit', commitIndex: value });
        status();
      },
    });
  }
}

let shownRole: Role | 'stopped' = 'follower';
let shownTerm = 0;

/** After liferaft changed its state: a `role` event when the role or the term moved (C-1: a timeout first). */
function afterChange(node: LiferaftRaft): void {
  const role = ROLES[node.state] ?? 'stopped';
  if (role === 'stopped' || (role === shownRole && node.term === shownTerm)) return;
  // liferaft becomes candidate only in promote(), which only its heartbeat and election timers call,
  // and which increments the term. (A candidate whose term moved otherwise did not time out.)
  if (role === 'candidate' && node.term > shownTerm) emit({ ev: 'timeout', kind: 'election' });
  shownRole = role;
  shownTerm = node.term;
  emit({ ev: 'role', role, term: node.term });
  status();
}

let persisted: { term: number; votedFor: NodeId | null; lastIndex: number } = { term: 0, votedFor: null, lastIndex: 0 };

/** `persist` at the point Figure 2 obliges it (before a message leaves): see the header. */
function persistBeforeSend(node: LiferaftRaft): void {
  const now = { term: node.term, votedFor: node.votes.for ?? null, lastIndex: shown.length };
  if (now.term === persisted.term && now.votedFor === persisted.votedFor && now.lastIndex === persisted.lastIndex) return;
  persisted = now;
  emit({ ev: 'persist', ...now });
}

// Ids of this incarnation only: a reply meant for an earlier incarnation finds no callback.
let nextRequest = config.incarnation * 1_000_000_000;
const callbacks = new Map<number, (err: unknown, data?: unknown) => void>();

/** JSON, as any real transport would carry it (a Promise arrives as `{}`). */
function onWire(packet: unknown): unknown {
  return packet === undefined ? null : (JSON.parse(JSON.stringify(packet)) as unknown);
}

/**
 * Correlation (trace-format.md: a request's `id`, a response's `inReplyTo`). liferaft answers a
 * RequestVote through the request's callback, so that answer names its request directly. It
 * answers AppendEntries with a request of its own, and not at all when a heartbeat matches: its
 * `append ack` names the entry it stored (the request whose first entry it is) and its
 * `append fail` the prevLogIndex it lacked (the request with that prevLogIndex) — oldest first.
 */
interface Unanswered {
  readonly id: string;
  readonly leader: NodeId;
  readonly prevLogIndex: number;
  readonly firstIndex: number | undefined;
}
const unansweredAppends: Unanswered[] = [];
const UNANSWERED_MAX = 512;
let nextTraceId = 0;

function answeredAppend(to: NodeId, msg: Extract<Message, { type: 'AppendEntriesResponse' }>, wire: unknown): string | undefined {
  const fail = appendFailIndex(wire);
  const k = unansweredAppends.findIndex((r) => r.leader === to && (msg.success ? r.firstIndex === msg.matchIndex : r.prevLogIndex === fail));
  if (k < 0) return undefined;
  return unansweredAppends.splice(k, 1)[0]?.id;
}

/** An AppendEntries received: its answer, when liferaft sends one, names it (answeredAppend). */
function awaitAnswer(msg: Message | undefined, leader: NodeId): void {
  if (msg?.type !== 'AppendEntries' || msg.id === undefined) return;
  unansweredAppends.push({ id: String(msg.id), leader, prevLogIndex: msg.prevLogIndex, firstIndex: msg.entries[0]?.index });
  if (unansweredAppends.length > UNANSWERED_MAX) unansweredAppends.shift();
}

function sendOut(to: NodeId, kind: WireKind, reqId: number, packet: unknown, inReplyTo?: string): void {
  const node = raft;
  if (node === undefined) return;
  const wire = onWire(packet);
  let msg = translate(wire);
  let traceId: string | undefined;
  if (msg !== undefined) {
    if (msg.type === 'RequestVote' || msg.type === 'AppendEntries') {
      traceId = `${config.id}.${config.incarnation}.${++nextTraceId}`;
      msg = { ...msg, id: traceId };
    } else if (msg.type === 'RequestVoteResponse' && inReplyTo !== undefined) {
      msg = { ...msg, inReplyTo };
    } else if (msg.type === 'AppendEntriesResponse') {
      const answered = answeredAppend(to, msg, wire);
      if (answered !== undefined) msg = { ...msg, inReplyTo: answered };
    }
    persistBeforeSend(node);
    emit({ ev: 'send', to, msg });
  }
  post({ t: 'send', to, kind, reqId, packet: wire, label: describePacket(wire, msg), traceId });
}

function describePacket(wire: unknown, msg: Message | undefined): string {
  if (msg !== undefined) return `${msg.type} t${msg.term}`;
  const type = (wire as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? `liferaft ${type}` : 'empty reply';
}

function deliver(message: Extract<ToChild, { t: 'deliver' }>): void {
  const node = raft;
  if (node === undefined) return;
  if (message.kind === 'reply') {
    // A reply to a request of an earlier incarnation of this node has no callback: it is lost.
    const callback = callbacks.get(message.reqId);
    if (callback === undefined) return;
    const translated = translate(message.packet);
    // A request that travels as a reply (the leader answers `append fail` with an AppendEntries) has its own id.
    const msg = translated === undefined || message.traceId === undefined ? translated : { ...translated, id: message.traceId };
    if (msg !== undefined) emit({ ev: 'recv', from: message.from, msg });
    awaitAnswer(msg, message.from);
    callback(undefined, message.packet ?? undefined);
    return;
  }
  const translated = translate(message.packet);
  const msg = translated === undefined || message.traceId === undefined ? translated : { ...translated, id: message.traceId };
  if (msg !== undefined) emit({ ev: 'recv', from: message.from, msg });
  awaitAnswer(msg, message.from);
  node.emit('data', message.packet, (reply: unknown) => sendOut(message.from, 'reply', message.reqId, reply, message.traceId));
}

function status(): void {
  const node = raft;
  const s: ChildStatus = {
    role: node === undefined ? 'follower' : (ROLES[node.state] ?? 'stopped'),
    term: node?.term ?? 0,
    commitIndex,
    lastIndex: shown.length,
    highestStored: highestStored(),
    storeOpsPending,
  };
  post({ t: 'status', status: s });
}

const kv = new Map<string, string>();

function onCommit(command: unknown): void {
  const digest = digestOf(command);
  const at = digest === undefined ? undefined : byDigest.get(digest);
  if (digest === undefined || at === undefined) {
    post({ t: 'target-error', message: `commit event for a command this node never stored: ${JSON.stringify(command)}` });
    return;
  }
  emit({ ev: 'apply', index: at.index, term: at.term, digest });
  post({ t: 'applied', commandId: digest, result: applyKv(kv, (command as LiferaftCommand).op) });
}

function propose(ref: number, command: LiferaftCommand): void {
  const node = raft;
  if (node === undefined) return;
  node.command(command).then(
    () => post({ t: 'accepted', ref }),
    (err: unknown) => {
      const e = err as { message?: unknown; leaderAddress?: unknown };
      post({ t: 'refused', ref, error: String(e.message ?? err), leader: typeof e.leaderAddress === 'string' ? e.leaderAddress : '' });
    },
  );
}

async function boot(): Promise<void> {
  // What liferaft will recover: its LevelDB log. currentTerm and votedFor are not stored anywhere.
  const reader = new Log({ address: config.id, term: 0 }, { path: config.path });
  const entries = await reader.getEntriesAfter(0);
  await reader.db.close();
  for (const e of entries) {
    const slot: Slot = { term: e.term, digest: digestOf(e.command) };
    stored.set(e.index, slot);
    if (slot.digest !== undefined) byDigest.set(slot.digest, { index: e.index, term: e.term });
  }
  for (let next = stored.get(1); next !== undefined; next = stored.get(shown.length + 1)) shown.push(next);
  const lastTerm = shown[shown.length - 1]?.term ?? 0;
  persisted = { term: 0, votedFor: null, lastIndex: shown.length };
  emit({
    ev: 'init',
    term: 0,
    votedFor: null,
    lastIndex: shown.length,
    lastTerm,
    snapshotIndex: 0,
    snapshotTerm: 0,
    commitIndex: 0,
    lastApplied: 0,
    entries: shown.map((slot, i) => toLogEntry(i + 1, slot)),
  });
  // Wait for the adapter's go: otherwise the node that boots first times out alone and campaigns
  // while its peers are still starting (an artifact of process start-up, not of the target).
  await new Promise<void>((resolve) => {
    const onGo = (message: ToChild): void => {
      if (message.t !== 'go') return;
      process.removeListener('message', onGo);
      resolve();
    };
    process.on('message', onGo);
    post({ t: 'ready' });
  });

  const node = new Raft({
    address: config.id,
    heartbeat: config.heartbeatMs,
    'election min': config.electionMinMs,
    'election max': config.electionMaxMs,
    Log: TracedLog,
    path: config.path,
  });
  raft = node;
  const change = node.change;
  node.change = function tracedChange(this: LiferaftRaft, changed: Record<string, unknown>) {
    const result = change.call(this, changed);
    afterChange(node);
    return result;
  };
  node.on('commit', onCommit);
  for (const peer of config.peers) {
    if (peer === config.id) continue;
    node.join(peer, (packet, callback) => {
      const reqId = ++nextRequest;
      callbacks.set(reqId, callback);
      sendOut(peer, 'request', reqId, packet);
    });
  }
  process.on('message', (message: ToChild) => {
    if (message.t === 'deliver') deliver(message);
    else if (message.t === 'command') propose(message.ref, message.command);
  });
  status();
}

boot().catch((err: unknown) => {
  post({ t: 'target-error', message: `boot failed: ${describeError(err)}` });
  process.exit(71);
});

