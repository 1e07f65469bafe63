/**
 * Importer for etcd-io/raft traces (the zap NDJSON written by etcd's TLA+ trace instrumentation,
 * state_trace.go) into trace format v1 (../shared/design/trace-format.md).
 *
 * Records whose `tag` is not "trace" are ordinary log lines and are dropped silently. A trace
 * record is `event: {name, nid, state: {term, vote, commit}, role, log, conf: [[voters],
 * [outgoing]], msg?, prop?}`, the node's state when etcd traced the event: for a Receive BEFORE
 * the message is handled, for a Send when the message is created (etcd sets `Vote` after creating
 * the vote response), for Replicate/ChangeConf before the entry is appended, for ApplyConfChange
 * before the switch. So the importer works by difference: it models every node (term, role,
 * commitIndex, configuration, its log as a snapshot point plus one term per entry) and at each
 * record of a node first emits what changed since that node's previous record — attributing log
 * changes to their cause (its own appends as leader, the AppendEntries/InstallSnapshot it last
 * received) — then the record's own event. Each event carries the record's line and `ts`
 * (etcd's seconds, as ms).
 *
 * ## Mapping
 * | etcd | v1 |
 * |---|---|
 * | (first) | `header` {cluster: voters of the first record showing a configuration (not an ApplyConfChange), source "etcd-io/raft"} |
 * | InitState | `init` {term, votedFor (vote "0" → null), commitIndex, lastIndex = log, snapshotIndex = min(commit, log), snapshotTerm = lastTerm inferred (below), `entries` for a tail past commit}; a node's second InitState (restart) is preceded by `crash`; a node first seen without one gets an `init` from its first record (`synthesized: true`) |
 * | BecomeFollower/Candidate/Leader | `role` {role, term} (+ `state`, see below) |
 * | role StatePreCandidate (PreVote is not traced) | `role` {role: "precandidate"} where it first shows |
 * | Replicate (one per normal entry), ChangeConf (one per config entry) | `append` at the leader's next record that shows its log grown: term = its currentTerm (appendEntry stamps r.Term); kind "noop" right after BecomeLeader, "config" for ChangeConf, none for normal entries (a client command, or the empty entry replacing a refused change). A leader's log growing with neither record: config entries with an empty change list (leaving a joint configuration), which etcd does not trace |
 * | an empty node's log appearing after BecomeFollower(1), all committed | etcd's RawNode.Bootstrap: `append` {bootstrap: true} of config entries of term 1, then `commit` |
 * | ApplyConfChange | `config` {voters: conf[0], joint: conf[1] if non-empty} at the node's next record (the switch follows the trace point; `cc.newconf` lacks the outgoing half). etcd switches when it applies an entry, not when it appends it (unlike MC-3), so ChangeConf yields no `config`. An empty conf (not yet configured, or mid-restore) is not a configuration |
 * | `state.commit` changing (Commit, or any record) | `commit` {commitIndex} |
 * | Ready | nothing of its own |
 * | Send* / Receive* | `send` {to, msg} / `recv` {from, msg}; a recv carries the very msg of the send it matches (the oldest unreceived one with the same etcd fields) |
 * | MsgApp | AppendEntries {term, leaderId: from, prevLogIndex: index, prevLogTerm: logTerm, entries: index+1..index+`entries`, each {index, term (the sender's, inferred), kind?}, leaderCommit: commit}; `prop.match/next` (the sender's own progress) is not used |
 * | MsgAppResp | AppendEntriesResponse {term, success: !reject, matchIndex: index on success, conflictIndex: rejectHint on reject} |
 * | MsgHeartbeat / MsgHeartbeatResp | AppendEntries {heartbeat: true, prevLogIndex: commit, prevLogTerm: the sender's term there, entries: [], leaderCommit: commit} / AppendEntriesResponse {heartbeat: true, success: true} |
 * | MsgVote / MsgVoteResp | RequestVote {term, candidateId: from, lastLogIndex: index, lastLogTerm: logTerm} / RequestVoteResponse {term, voteGranted: !reject} |
 * | MsgPreVote / MsgPreVoteResp (etcd does not trace them; mapped if present) | the same with preVote: true |
 * | MsgSnap (as *AppendEntriesRequest or *Snapshot) | InstallSnapshot {term, leaderId: from, lastIncludedIndex (etcd's tracer puts it in `entries`), lastIncludedTerm: the sender's term there (not traced)} |
 * | a follower accepting a MsgApp | `truncate` {from} at the first entry whose term differs from its own (etcd's findConflict), `append` of the rest, `commit` |
 * | a follower installing a MsgSnap | `truncate` {from} of its uncommitted entries (its committed ones are part of the snapshot), `restore` {lastIncludedIndex, lastIncludedTerm, from}, `commit` |
 *
 * ## Conventions a checker must know (extra fields: v1 objects are loose)
 * - `msg.heartbeat: true`: from MsgHeartbeat(Resp). etcd's heartbeat carries no prevLogIndex or
 *   prevLogTerm, only commit = min(leader commitIndex, the follower's matchIndex); the importer sets
 *   prevLogIndex = leaderCommit = that commit and prevLogTerm = the leader's term there, so that even
 *   a plain Figure 2 reading is right (the logs match there; AE-5 gives commitIndex = commit). A
 *   checker should still skip log matching (AE-2/3) for heartbeats (those two fields are the
 *   importer's), apply commitIndex = max(commitIndex, leaderCommit), and expect no matchIndex in
 *   the answer.
 * - Self-addressed messages (a candidate's vote for itself, a leader's acknowledgement of its own
 *   append) are not emitted: Figure 2 has none (C-1 votes for self; a leader's log counts itself).
 * - `recv.stale: true` and `msg.stale: true` on its answer: etcd answers an AppendEntries whose
 *   prevLogIndex is below its commitIndex with success, matchIndex = its commitIndex, appending
 *   nothing and leaving commitIndex alone (a delayed duplicate): skip AE-3/4/5 for it.
 * - `recv.ignored: true`: a higher-term message the node ignored without adopting the term (etcd's
 *   leader lease under CheckQuorum, thesis §4.2.3): skip ALL-2 for it.
 * - `recv.unsent: true`: etcd traced no Send for it (its test harness delivers some messages itself:
 *   send-snapshot hands a node's snapshot to another as a MsgSnap from it). No send is invented;
 *   a checker must not call it "received but never sent".
 * - `msg.snapshot: true`: the MsgAppResp with which etcd acknowledges an InstallSnapshot (there is
 *   no InstallSnapshotResponse); matchIndex = the receiver's lastIndex after it.
 * - A MsgAppResp answering an AppendEntries/heartbeat of an older term (etcd: reject=false, index
 *   0; only its term matters) is emitted as success: false, which is what it means (AE-1).
 * - `assumed: [fields]`: values resting on a convention, not a fact (below); never prove from them.
 *
 * ## Inference
 * - Entry terms: an entry a leader appends has its currentTerm; a follower's entries are the
 *   sender's entries at those indices when it sent the MsgApp; a restored snapshot has the
 *   sender's term at its index. All are exact, except for the log a node starts with:
 * - InitState's `log` entries are a snapshot at min(commit, log) (what etcd's harness bootstraps).
 *   Its term: from a message revealing the term at that index (its own MsgVote/MsgApp logTerm, or
 *   any node's about an index it had committed: committed entries are the same everywhere); else
 *   1 if some later entry of its log, or a committed one, has term 1 (terms never decrease along a
 *   log and are ≥ 1); else 1 as etcd's harness and its Traceetcdraft.tla assume, marked `assumed`.
 *   Entries past `commit` at a restart's InitState keep their terms from before it, else are
 *   `assumed`. No term in the corpus needs `assumed`.
 * - `state` only on `role` events of Become* records (there etcd's state is exactly the state after
 *   the role change) and only when lastTerm is certain. Elsewhere the recorded state is mid-step, and
 *   a wrong `state` would be a false mismatch.
 *
 * ## Not in these traces
 * No `persist` (etcd persists in the application after Ready; P-1/P-2 are not checkable), no
 * `timeout` (F-2, C-4), no `apply`, digests or client operations (S-SMS, CL-*), no PreVote or
 * TimeoutNow messages, no learners, no local compaction (`snapshot`), no crash/restart in the corpus.
 *
 * ## Input errors
 * A line that is not a JSON object, a trace record with a missing or mistyped field, an unknown
 * event name or message type, or a record the importer cannot translate (a log changing with no
 * cause, entries whose terms cannot be inferred) yields `{line, error: {path, message, file}}`;
 * nothing throws. etcd writes records in `ts` order (the corpus is), so `ts` going backwards is
 * reported (the file was reordered) and the record translated in line order anyway.
 *
 * The whole input is read before the first result (the cluster and the initial terms may show
 * later): memory grows with the trace, which for etcd's test traces is small (at most 1.8 MB here).
 */
import { Readable } from 'node:stream';
import { TraceEvent } from '../../spec/schemas/index.ts';
import type { EntryKind, LogEntry, Message, NodeState, Role } from '../../spec/schemas/index.ts';
import { DEFAULT_MAX_LINE_BYTES, describeValue, rawLineBatches, type LineError, type RawLine, type TraceLine } from '../reader.ts';

export const ETCD_SOURCE = 'etcd-io/raft';

/** The event names of etcd's trace instrumentation (`rsm*` in state_trace.go). */
export const ETCD_EVENT_NAMES = [
  'InitState',
  'BecomeCandidate',
  'BecomeFollower',
  'BecomeLeader',
  'Commit',
  'Replicate',
  'ChangeConf',
  'ApplyConfChange',
  'Ready',
  'SendAppendEntriesRequest',
  'ReceiveAppendEntriesRequest',
  'SendAppendEntriesResponse',
  'ReceiveAppendEntriesResponse',
  'SendRequestVoteRequest',
  'ReceiveRequestVoteRequest',
  'SendRequestVoteResponse',
  'ReceiveRequestVoteResponse',
  'SendSnapshot',
  'ReceiveSnapshot',
] as const;
export type EtcdEventName = (typeof ETCD_EVENT_NAMES)[number];

export const ETCD_MESSAGE_TYPES = [
  'MsgApp',
  'MsgAppResp',
  'MsgVote',
  'MsgVoteResp',
  'MsgPreVote',
  'MsgPreVoteResp',
  'MsgHeartbeat',
  'MsgHeartbeatResp',
  'MsgSnap',
] as const;
export type EtcdMessageType = (typeof ETCD_MESSAGE_TYPES)[number];

const ETCD_ROLES: Readonly<Record<string, Role>> = {
  StateFollower: 'follower',
  StateCandidate: 'candidate',
  StateLeader: 'leader',
  StatePreCandidate: 'precandidate',
};

/** Which message types each Send/Receive event name may carry. */
const MESSAGE_TYPES_BY_EVENT: Readonly<Record<string, readonly EtcdMessageType[]>> = {
  AppendEntriesRequest: ['MsgApp', 'MsgHeartbeat', 'MsgSnap'],
  AppendEntriesResponse: ['MsgAppResp', 'MsgHeartbeatResp'],
  RequestVoteRequest: ['MsgVote', 'MsgPreVote'],
  RequestVoteResponse: ['MsgVoteResp', 'MsgPreVoteResp'],
  Snapshot: ['MsgSnap'],
};

/** Message fields each type needs (besides type, term, from, to); absent unused fields read as 0/false. */
const REQUIRED_MESSAGE_FIELDS: Readonly<Record<EtcdMessageType, readonly string[]>> = {
  MsgApp: ['entries', 'logTerm', 'index', 'commit'],
  MsgAppResp: ['index', 'reject'],
  MsgVote: ['index', 'logTerm'],
  MsgPreVote: ['index', 'logTerm'],
  MsgVoteResp: ['reject'],
  MsgPreVoteResp: ['reject'],
  MsgHeartbeat: ['commit'],
  MsgHeartbeatResp: [],
  MsgSnap: ['entries'],
};

export interface ImportEtcdOptions {
  /** The input's name, carried by every error and by the header's meta. */
  readonly file: string;
  /** Lines longer than this many bytes are reported, not parsed (default: the reader's 1 MiB). */
  readonly maxLineBytes?: number;
}

/** An input error of the importer: where (line, JSONPath into the etcd record, file) and what. */
export interface EtcdLineError extends LineError {
  readonly file: string;
}

/**
 * Translates an etcd-io/raft trace into trace format v1: the same results as `readTrace` — one
 * `{line, event}` per emitted event (several per etcd record, or none), `{line, error}` per input
 * problem — with `line` the 1-based line of the etcd record. Never throws on bad input.
 */
export async function* importEtcd(source: AsyncIterable<string> | Readable, opts: ImportEtcdOptions): AsyncGenerator<TraceLine> {
  const maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const items: Item[] = [];
  for await (const raw of rawLines(source, maxLineBytes)) parseLine(raw, items);
  yield* new Translator(opts.file).run(items);
}

// ---------------------------------------------------------------------------------------------
// Parsed etcd records

interface EtcdMessage {
  readonly type: EtcdMessageType;
  readonly term: number;
  readonly from: string;
  readonly to: string;
  readonly entries: number;
  readonly logTerm: number;
  readonly index: number;
  readonly commit: number;
  readonly reject: boolean;
  readonly rejectHint: number;
}

interface EtcdRecord {
  readonly line: number;
  readonly ts: number | undefined;
  readonly name: EtcdEventName;
  readonly nid: string;
  readonly term: number;
  readonly vote: string | null;
  readonly commit: number;
  readonly role: Role;
  readonly log: number;
  readonly voters: readonly string[];
  readonly outgoing: readonly string[];
  readonly msg: EtcdMessage | undefined;
  readonly newconf: readonly string[] | undefined;
}

type Item = { readonly line: number; readonly record: EtcdRecord } | { readonly line: number; readonly error: LineError };

// ---------------------------------------------------------------------------------------------
// Line splitting (as traces/reader.ts: bounded memory per line, `\n` or `\r\n`, strict UTF-8)

/** The reader's splitter, one line at a time. */
async function* rawLines(source: AsyncIterable<string> | Readable, maxLineBytes: number): AsyncGenerator<RawLine> {
  for await (const batch of rawLineBatches(source, maxLineBytes)) yield* batch;
}

// ---------------------------------------------------------------------------------------------
// Parsing and validating one line

function parseLine(raw: RawLine, out: Item[]): void {
  const line = raw.line;
  if (raw.kind === 'too-long') {
    out.push({ line, error: { path: '$', message: 'line is too long; not parsed' } });
    return;
  }
  if (raw.kind === 'bad-utf8') {
    out.push({ line, error: { path: '$', message: 'not valid UTF-8 text' } });
    return;
  }
  const text = line === 1 && raw.text.startsWith('\uFEFF') ? raw.text.slice(1) : raw.text;
  if (text.trim() === '') return;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const message = (err instanceof Error ? err.message : String(err)).replace(/ at position (\d+)/, (_, p: string) => ` at column ${Number(p) + 1}`);
    out.push({ line, error: { path: '$', message: `not valid JSON: ${shorten(message, 160)}` } });
    return;
  }
  if (!isObject(value)) {
    out.push({ line, error: { path: '$', message: `expected a zap log record (a JSON object), got ${describeValue(value)}` } });
    return;
  }
  // Only trace records matter; everything else zap wrote is an ordinary log line.
  if (value['tag'] !== 'trace') return;
  const errors: LineError[] = [];
  const record = validateRecord(value, line, errors);
  for (const error of errors) out.push({ line, error });
  if (record !== undefined && errors.length === 0) out.push({ line, record });
}

/** Collects problems of one record as JSONPath + message, in the reader's wording. */
class Fields {
  constructor(
    readonly errors: LineError[],
    readonly obj: Record<string, unknown>,
    readonly path: string,
  ) {}

  private fail(key: string, message: string): undefined {
    this.errors.push({ path: `${this.path}.${key}`, message });
    return undefined;
  }

  private missing(key: string, expected: string): undefined {
    return this.fail(key, `missing required field (expected ${expected})`);
  }

  uint(key: string, required = true): number | undefined {
    const v = this.obj[key];
    if (v === undefined) return required ? this.missing(key, 'an integer ≥ 0') : undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return this.fail(key, `expected an integer ≥ 0, got ${describeValue(v)}`);
    if (!Number.isSafeInteger(v)) return this.fail(key, `expected a safe integer (at most 2^53 − 1), got ${describeValue(v)}`);
    return v;
  }

  id(key: string): string | undefined {
    const v = this.obj[key];
    if (v === undefined) return this.missing(key, 'a node id string');
    if (typeof v !== 'string' || v === '') return this.fail(key, `expected a non-empty string, got ${describeValue(v)}`);
    return v;
  }

  bool(key: string, required = true): boolean | undefined {
    const v = this.obj[key];
    if (v === undefined) return required ? this.missing(key, 'true or false') : undefined;
    if (typeof v !== 'boolean') return this.fail(key, `expected true or false, got ${describeValue(v)}`);
    return v;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], what: string): T | undefined {
    const v = this.obj[key];
    if (v === undefined) return this.missing(key, 'a string');
    if (typeof v !== 'string') return this.fail(key, `expected a string, got ${describeValue(v)}`);
    if (!(allowed as readonly string[]).includes(v)) return this.fail(key, `unknown ${what} ${describeValue(v)} (expected one of ${allowed.join(', ')})`);
    return v as T;
  }

  object(key: string, required = true): Fields | undefined {
    const v = this.obj[key];
    if (v === undefined) return required ? this.missing(key, 'an object') : undefined;
    if (!isObject(v)) return this.fail(key, `expected an object, got ${describeValue(v)}`);
    return new Fields(this.errors, v, `${this.path}.${key}`);
  }

  ids(key: string, required = true): string[] | undefined {
    const v = this.obj[key];
    if (v === undefined) return required ? this.missing(key, 'an array of node ids') : undefined;
    return idList(v, `${this.path}.${key}`, this.errors);
  }
}

function idList(v: unknown, path: string, errors: LineError[]): string[] | undefined {
  if (!Array.isArray(v)) {
    errors.push({ path, message: `expected an array of node ids, got ${describeValue(v)}` });
    return undefined;
  }
  const out: string[] = [];
  for (let i = 0; i < v.length; i++) {
    const id: unknown = v[i];
    if (typeof id !== 'string' || id === '') {
      errors.push({ path: `${path}[${i}]`, message: `expected a non-empty string, got ${describeValue(id)}` });
      return undefined;
    }
    out.push(id);
  }
  return out;
}

function validateRecord(value: Record<string, unknown>, line: number, errors: LineError[]): EtcdRecord | undefined {
  const top = new Fields(errors, value, '$');
  let ts: number | undefined;
  if (value['ts'] !== undefined) {
    const v = value['ts'];
    if (typeof v === 'number' && Number.isFinite(v)) ts = v;
    else errors.push({ path: '$.ts', message: `expected a number, got ${describeValue(v)}` });
  }
  const ev = top.object('event');
  if (ev === undefined) return undefined;
  const name = ev.oneOf('name', ETCD_EVENT_NAMES, 'etcd trace event');
  const nid = ev.id('nid');
  const state = ev.object('state');
  const term = state?.uint('term');
  let vote: string | null | undefined;
  if (state !== undefined) {
    const v = state.obj['vote'];
    if (v === undefined) errors.push({ path: '$.event.state.vote', message: 'missing required field (expected a node id string; "0" = none)' });
    else if (typeof v !== 'string' || v === '') errors.push({ path: '$.event.state.vote', message: `expected a node id string ("0" = none), got ${describeValue(v)}` });
    else vote = v === '0' ? null : v;
  }
  const commit = state?.uint('commit');
  const roleName = ev.oneOf('role', Object.keys(ETCD_ROLES), 'role');
  const log = ev.uint('log');
  let voters: string[] | undefined;
  let outgoing: string[] | undefined;
  const conf = ev.obj['conf'];
  if (conf === undefined) errors.push({ path: '$.event.conf', message: 'missing required field (expected [[voters], [outgoing voters]])' });
  else if (!Array.isArray(conf) || conf.length !== 2) errors.push({ path: '$.event.conf', message: `expected [[voters], [outgoing voters]], got ${describeValue(conf)}` });
  else {
    voters = idList(conf[0], '$.event.conf[0]', errors);
    outgoing = idList(conf[1], '$.event.conf[1]', errors);
  }

  let msg: EtcdMessage | undefined;
  if (name !== undefined && (name.startsWith('Send') || name.startsWith('Receive'))) {
    const m = ev.object('msg');
    if (m !== undefined) msg = validateMessage(m, name, nid);
  }
  let newconf: string[] | undefined;
  const prop = ev.object('prop', false);
  if (prop !== undefined) {
    const cc = prop.object('cc', false);
    if (cc !== undefined) {
      newconf = cc.ids('newconf', false);
      const changes = cc.obj['changes'];
      if (changes !== undefined) {
        if (!Array.isArray(changes)) errors.push({ path: '$.event.prop.cc.changes', message: `expected an array of {nid, action}, got ${describeValue(changes)}` });
        else
          changes.forEach((c: unknown, i) => {
            if (!isObject(c)) errors.push({ path: `$.event.prop.cc.changes[${i}]`, message: `expected an object {nid, action}, got ${describeValue(c)}` });
            else new Fields(errors, c, `$.event.prop.cc.changes[${i}]`).id('nid');
          });
      }
    }
  }
  if (
    errors.length > 0 ||
    name === undefined ||
    nid === undefined ||
    term === undefined ||
    vote === undefined ||
    commit === undefined ||
    roleName === undefined ||
    log === undefined ||
    voters === undefined ||
    outgoing === undefined
  ) {
    return undefined;
  }
  return { line, ts, name, nid, term, vote, commit, role: ETCD_ROLES[roleName] ?? 'follower', log, voters, outgoing, msg, newconf };
}

function validateMessage(m: Fields, name: EtcdEventName, nid: string | undefined): EtcdMessage | undefined {
  const errors = m.errors;
  const before = errors.length;
  const kind = name.replace(/^(Send|Receive)/, '');
  const allowed = MESSAGE_TYPES_BY_EVENT[kind] ?? [];
  const type = m.oneOf('type', ETCD_MESSAGE_TYPES, 'message type');
  if (type !== undefined && !allowed.includes(type)) {
    errors.push({ path: '$.event.msg.type', message: `a ${name} event cannot carry a ${type} (expected one of ${allowed.join(', ')})` });
  }
  const term = m.uint('term');
  const from = m.id('from');
  const to = m.id('to');
  const required = new Set(type === undefined ? [] : REQUIRED_MESSAGE_FIELDS[type]);
  const entries = m.uint('entries', required.has('entries'));
  const logTerm = m.uint('logTerm', required.has('logTerm'));
  const index = m.uint('index', required.has('index'));
  const commit = m.uint('commit', required.has('commit'));
  const reject = m.bool('reject', required.has('reject'));
  const rejectHint = m.uint('rejectHint', reject === true);
  if (nid !== undefined && from !== undefined && to !== undefined) {
    if (name.startsWith('Send') && from !== nid) errors.push({ path: '$.event.msg.from', message: `a Send event of node "${nid}" must carry a message from it, got ${describeValue(from)}` });
    if (name.startsWith('Receive') && to !== nid) errors.push({ path: '$.event.msg.to', message: `a Receive event of node "${nid}" must carry a message to it, got ${describeValue(to)}` });
  }
  if (errors.length > before || type === undefined || term === undefined || from === undefined || to === undefined) return undefined;
  return { type, term, from, to, entries: entries ?? 0, logTerm: logTerm ?? 0, index: index ?? 0, commit: commit ?? 0, reject: reject ?? false, rejectHint: rejectHint ?? 0 };
}

// ---------------------------------------------------------------------------------------------
// The translation

/** One log entry of a node model: its term, and whether that term is a fact or the bootstrap convention. */
interface Cell {
  readonly term: number;
  readonly kind: EntryKind | undefined;
  readonly certain: boolean;
}

interface TermAt {
  readonly term: number;
  readonly certain: boolean;
}

/** A message the node received, whose effects show at its next records. */
interface Pending {
  readonly msg: EtcdMessage;
  readonly v1: Message;
  readonly cells: readonly Cell[] | undefined;
  readonly event: Record<string, unknown>;
  readonly termAtRecv: number;
  readonly stale: boolean;
}

/** What the response a node is about to send answers (set when its pending request is resolved). */
type Answering = 'append' | 'stale' | 'older-term' | 'heartbeat' | 'snapshot';

type AppendKind = 'noop' | 'config' | 'normal';

class NodeModel {
  term = 0;
  vote: string | null = null;
  role: Role = 'follower';
  commit = 0;
  snapIndex = 0;
  snapTerm = 0;
  snapCertain = true;
  cells: Cell[] = [];
  voters: readonly string[] = [];
  outgoing: readonly string[] = [];
  pending: Pending | undefined;
  answering: { readonly kind: Answering; readonly to: string } | undefined;
  appends: AppendKind[] = [];
  afterBecomeLeader = false;

  constructor(readonly id: string) {}

  lastIndex(): number {
    return this.snapIndex + this.cells.length;
  }
}

/** A sent message waiting for its Receive. */
interface InFlight {
  readonly v1: Message;
  readonly cells: readonly Cell[] | undefined;
}

class Translator {
  private readonly out: TraceLine[] = [];
  private readonly nodes = new Map<string, NodeModel>();
  private readonly inFlight = new Map<string, InFlight[]>();
  /** Terms of committed indices, as revealed by messages (pre-scan). */
  private readonly committedTerms = new Map<number, number>();
  /** Per node: (index, term) of entries in its log as its own messages and appends reveal them (pre-scan). */
  private readonly ownTerms = new Map<string, { readonly index: number; readonly term: number }[]>();
  private line = 0;
  private ts: number | undefined;

  constructor(private readonly file: string) {}

  run(items: readonly Item[]): TraceLine[] {
    const records = items.flatMap((i) => ('record' in i ? [i.record] : []));
    this.prescan(records);
    const first = records[0];
    if (first !== undefined) this.emitHeader(records, first);
    let lastTs: { ts: number; line: number } | undefined;
    for (const item of items) {
      if ('error' in item) {
        this.out.push({ line: item.line, error: { ...item.error, file: this.file } as EtcdLineError });
        continue;
      }
      const r = item.record;
      this.line = r.line;
      const ms = r.ts === undefined ? undefined : Math.round(r.ts * 1e6) / 1e3;
      this.ts = ms !== undefined && Number.isFinite(ms) ? ms : undefined;
      if (r.ts !== undefined) {
        if (lastTs !== undefined && r.ts < lastTs.ts) {
          this.error('$.ts', `ts goes backwards (${r.ts} < ${lastTs.ts} on line ${lastTs.line}): etcd writes its records in time order, so this file was reordered (translated in line order)`);
        }
        lastTs = { ts: r.ts, line: r.line };
      }
      try {
        this.record(r);
      } catch (err) {
        this.error('$', `cannot translate this record: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return this.out;
  }

  // -- output ------------------------------------------------------------------------------

  private error(path: string, message: string): void {
    const error: EtcdLineError = { path, message, file: this.file };
    this.out.push({ line: this.line, error });
  }

  /** Emits one v1 event (validated: an event the schema refuses becomes an error, never output). */
  private emit(event: Record<string, unknown>): Record<string, unknown> {
    const full = this.ts === undefined ? event : { ...event, ts: this.ts };
    const parsed = TraceEvent.safeParse(full);
    if (parsed.success) {
      // Keep the object we built (the recv of a lease-ignored vote is marked later).
      this.out.push({ line: this.line, event: full as TraceEvent });
    } else {
      const issue = parsed.error.issues[0];
      this.error('$', `internal: the importer built an invalid ${String(event['ev'])} event (${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''})`);
    }
    return full;
  }

  // -- pre-scan: header cluster and the terms of committed indices -------------------------

  private prescan(records: readonly EtcdRecord[]): void {
    for (const r of records) {
      const m = r.msg;
      let fact: { readonly index: number; readonly term: number } | undefined;
      // A MsgVote's logTerm is the sender's term at its last index, a MsgApp's its term at prevLogIndex.
      if (m !== undefined && r.name.startsWith('Send') && (m.type === 'MsgApp' || m.type === 'MsgVote' || m.type === 'MsgPreVote') && m.index > 0) {
        fact = { index: m.index, term: m.logTerm };
        if (m.index <= r.commit && !this.committedTerms.has(m.index)) this.committedTerms.set(m.index, m.logTerm);
      }
      // A leader's append: the entry after its last one gets its currentTerm.
      if (r.name === 'Replicate' || r.name === 'ChangeConf') fact = { index: r.log + 1, term: r.term };
      if (fact === undefined) continue;
      let list = this.ownTerms.get(r.nid);
      if (list === undefined) this.ownTerms.set(r.nid, (list = []));
      list.push(fact);
    }
  }

  private emitHeader(records: readonly EtcdRecord[], first: EtcdRecord): void {
    // The voters of the first record that shows a configuration once a node has started (an
    // ApplyConfChange shows the configuration before it, which at start-up is partial).
    const cluster =
      records.find((r) => r.voters.length > 0 && r.name !== 'ApplyConfChange')?.voters ??
      [...records].reverse().find((r) => r.newconf !== undefined && r.newconf.length > 0)?.newconf ??
      [...new Set(records.filter((r) => r.name === 'InitState').map((r) => r.nid))];
    this.line = first.line;
    this.ts = undefined;
    this.emit({
      ev: 'header',
      format: 'raft-trace',
      version: 1,
      cluster: [...cluster],
      source: ETCD_SOURCE,
      meta: { file: this.file, importer: 'figure2 traces/importers/etcd.ts' },
    });
  }

  // -- per record ----------------------------------------------------------------------------

  private record(r: EtcdRecord): void {
    const existing = this.nodes.get(r.nid);
    if (r.name === 'InitState') {
      this.init(r, existing);
      return;
    }
    // A node whose first record is not InitState (a cut trace) starts from that record's state.
    const node = existing ?? this.init(r, undefined);
    this.reconcile(node, r);
    this.translate(node, r);
  }

  private init(r: EtcdRecord, previous: NodeModel | undefined): NodeModel {
    if (previous !== undefined) this.emit({ ev: 'crash', node: r.nid });
    const node = new NodeModel(r.nid);
    const snapIndex = Math.min(r.commit, r.log);
    const assumed: string[] = [];
    const snap = this.initialTerm(r.nid, snapIndex, previous);
    node.snapIndex = snapIndex;
    node.snapTerm = snap.term;
    node.snapCertain = snap.certain;
    const entries: LogEntry[] = [];
    for (let i = snapIndex + 1; i <= r.log; i++) {
      const t = (previous === undefined ? undefined : termAt(previous, i, this.committedTerms)) ?? { term: Math.max(1, snap.term), certain: false };
      node.cells.push({ term: t.term, kind: undefined, certain: t.certain });
      entries.push({ index: i, term: t.term });
      if (!t.certain && !assumed.includes('entries')) assumed.push('entries');
    }
    const last = termAt(node, r.log, this.committedTerms) ?? { term: 0, certain: false };
    if (!snap.certain) assumed.push('snapshotTerm');
    if (!last.certain) assumed.push('lastTerm');
    node.term = r.term;
    node.vote = r.vote;
    node.role = r.role;
    node.commit = r.commit;
    node.voters = r.voters;
    node.outgoing = r.outgoing;
    this.nodes.set(r.nid, node);
    const event: Record<string, unknown> = {
      ev: 'init',
      node: r.nid,
      term: r.term,
      votedFor: r.vote,
      lastIndex: r.log,
      lastTerm: last.term,
      snapshotIndex: snapIndex,
      snapshotTerm: snap.term,
      commitIndex: r.commit,
    };
    if (entries.length > 0) event['entries'] = entries;
    if (r.voters.length > 0) event['config'] = configOf(r.voters, r.outgoing);
    if (assumed.length > 0) event['assumed'] = assumed;
    if (r.name !== 'InitState') event['synthesized'] = true;
    this.emit(event);
    return node;
  }

  /**
   * The term of the snapshot point a node starts with (see "Inference rules"): a message that
   * reveals it, else the bound that terms never decrease along a log and are at least 1 (an entry
   * at or after it with term 1 pins it to 1), else the bootstrap convention (term 1, assumed).
   */
  private initialTerm(node: string, index: number, previous: NodeModel | undefined): TermAt {
    if (index === 0) return { term: 0, certain: true };
    const before = previous === undefined ? undefined : termAt(previous, index, this.committedTerms);
    if (before !== undefined) return before;
    const own = this.ownTerms.get(node) ?? [];
    const exact = own.find((f) => f.index === index)?.term ?? this.committedTerms.get(index);
    if (exact !== undefined) return { term: exact, certain: true };
    let bound = Number.POSITIVE_INFINITY;
    for (const f of own) if (f.index >= index && f.term > 0) bound = Math.min(bound, f.term);
    for (const [i, t] of this.committedTerms) if (i >= index && t > 0) bound = Math.min(bound, t);
    return { term: 1, certain: bound === 1 };
  }

  /** Emits what changed on the node between its previous record and this one. */
  private reconcile(node: NodeModel, r: EtcdRecord): void {
    // A Become* right after a Receive happens before the message is handled (etcd steps down first).
    if (node.pending !== undefined && r.name !== 'BecomeFollower') this.resolvePending(node, r);
    const batching = (r.name === 'Replicate' || r.name === 'ChangeConf') && r.log === node.lastIndex();
    if (!batching && r.log > node.lastIndex() && node.role === 'leader' && r.term === node.term) this.resolveAppends(node, r);
    else if (!batching) node.appends = [];
    if (r.log > 0 && node.lastIndex() === 0 && r.commit === r.log && r.term === 1 && node.term === 1) this.bootstrap(node, r);
    if (r.log !== node.lastIndex()) {
      this.error('$.event.log', `node ${node.id}'s log changed from lastIndex ${node.lastIndex()} to ${r.log} with no cause in the trace (no Replicate/ChangeConf, no accepted AppendEntries or snapshot)`);
      resync(node, r.log, this.committedTerms);
    }
    if (r.commit !== node.commit) {
      node.commit = r.commit;
      this.emit({ ev: 'commit', node: node.id, commitIndex: r.commit });
    }
    // ApplyConfChange is traced before the switch, so a configuration shows at the record after it.
    // An empty voter set is never a configuration: it shows before a node is configured and
    // mid-way through a snapshot restore (etcd resets its tracker, then traces ApplyConfChange).
    if (r.voters.length > 0 && (!sameIds(r.voters, node.voters) || !sameIds(r.outgoing, node.outgoing))) {
      node.voters = r.voters;
      node.outgoing = r.outgoing;
      this.emit({ ev: 'config', node: node.id, ...configOf(r.voters, r.outgoing) });
    }
    if (!r.name.startsWith('Become') && (r.role !== node.role || r.term !== node.term)) {
      // PreCandidate is not traced (no BecomePreCandidate); any other change here is unexplained but true.
      node.role = r.role;
      node.term = r.term;
      this.emit({ ev: 'role', node: node.id, role: r.role, term: r.term });
    }
    node.vote = r.vote;
    if (r.name !== 'Replicate') node.afterBecomeLeader = false;
  }

  private translate(node: NodeModel, r: EtcdRecord): void {
    switch (r.name) {
      case 'BecomeFollower':
      case 'BecomeCandidate':
      case 'BecomeLeader': {
        node.term = r.term;
        node.vote = r.vote;
        node.role = r.role;
        const event: Record<string, unknown> = { ev: 'role', node: node.id, role: r.role, term: r.term };
        const last = node.lastIndex() === r.log ? termAt(node, r.log, this.committedTerms) : undefined;
        if (last?.certain === true && node.commit === r.commit) {
          const state: NodeState = { term: r.term, votedFor: r.vote, role: r.role, commitIndex: r.commit, lastIndex: r.log, lastTerm: last.term };
          event['state'] = state;
        }
        this.emit(event);
        node.afterBecomeLeader = r.name === 'BecomeLeader';
        return;
      }
      case 'Replicate':
        node.appends.push(node.afterBecomeLeader && node.appends.length === 0 ? 'noop' : 'normal');
        node.afterBecomeLeader = false;
        return;
      case 'ChangeConf':
        node.appends.push('config');
        return;
      case 'InitState':
      case 'Commit':
      case 'ApplyConfChange':
      case 'Ready':
        return;
      default:
        if (r.msg === undefined) return;
        if (r.name.startsWith('Send')) this.send(node, r.msg);
        else this.receive(node, r.msg);
    }
  }

  // -- leader appends -----------------------------------------------------------------------

  /**
   * The leader's log grew (only its own appendEntry can do that): the new entries have its term.
   * Their kinds come from the Replicate/ChangeConf records since its last record; entries with
   * neither are configuration changes with an empty change list (leaving a joint configuration,
   * explicitly or by AutoLeave), for which etcd traces nothing.
   */
  private resolveAppends(node: NodeModel, r: EtcdRecord): void {
    const kinds = node.appends;
    node.appends = [];
    const growth = r.log - node.lastIndex();
    if (kinds.length === 0) kinds.push(...Array.from({ length: growth }, (): AppendKind => 'config'));
    const mixed = kinds.includes('config') && kinds.includes('normal');
    const entries: LogEntry[] = [];
    for (let k = 0; k < growth; k++) {
      const kind = growth === kinds.length && !mixed ? entryKind(kinds[k]) : undefined;
      const index = node.lastIndex() + 1;
      node.cells.push({ term: node.term, kind, certain: true });
      entries.push(kind === undefined ? { index, term: node.term } : { index, term: node.term, kind });
    }
    this.emit({ ev: 'append', node: node.id, entries });
  }

  /**
   * etcd's RawNode.Bootstrap (used by raft.StartNode with peers): after becomeFollower(1, None) it
   * appends one ConfChangeAddNode entry per peer, with Term 1, and marks them all committed.
   */
  private bootstrap(node: NodeModel, r: EtcdRecord): void {
    const entries: LogEntry[] = [];
    for (let index = 1; index <= r.log; index++) {
      node.cells.push({ term: 1, kind: 'config', certain: true });
      entries.push({ index, term: 1, kind: 'config' });
    }
    this.emit({ ev: 'append', node: node.id, entries, bootstrap: true });
  }

  // -- messages -----------------------------------------------------------------------------

  private send(node: NodeModel, m: EtcdMessage): void {
    if (m.from === m.to) return; // a self-vote or a leader's self-acknowledgement: not a Figure 2 message
    const isAnswer = (m.type === 'MsgAppResp' || m.type === 'MsgHeartbeatResp') && node.answering?.to === m.to;
    const translated = this.translateMessage(m, node, isAnswer ? node.answering?.kind : undefined);
    if (isAnswer) node.answering = undefined;
    if (translated === undefined) return;
    this.emit({ ev: 'send', node: node.id, to: m.to, msg: translated.v1 });
    const key = messageKey(m);
    const queue = this.inFlight.get(key);
    if (queue === undefined) this.inFlight.set(key, [translated]);
    else queue.push(translated);
  }

  private receive(node: NodeModel, m: EtcdMessage): void {
    node.answering = undefined;
    if (m.from === m.to) return;
    const queue = this.inFlight.get(messageKey(m));
    const matched = queue?.shift();
    const sender = this.nodes.get(m.from);
    const translated = matched ?? this.translateMessage(m, sender, undefined);
    if (translated === undefined) return;
    const event: Record<string, unknown> = { ev: 'recv', node: node.id, from: m.from, msg: translated.v1 };
    // No Send record: etcd's test harness delivers some messages itself (send-snapshot hands a
    // node's snapshot to another as a MsgSnap from it). No send is invented for it.
    if (matched === undefined) event['unsent'] = true;
    const stale = m.type === 'MsgApp' && m.term >= node.term && m.index < node.commit;
    if (stale) event['stale'] = true;
    const emitted = this.emit(event);
    node.pending = { msg: m, v1: translated.v1, cells: translated.cells, event: emitted, termAtRecv: node.term, stale };
  }

  /** The effects of the node's last received message, which show at its first record after it. */
  private resolvePending(node: NodeModel, r: EtcdRecord): void {
    const p = node.pending;
    node.pending = undefined;
    if (p === undefined) return;
    const m = p.msg;
    // A higher term that the node did not adopt: etcd ignored the message (leader lease). PreVote
    // messages carry a term nobody adopts.
    const preVote = m.type === 'MsgPreVote' || m.type === 'MsgPreVoteResp';
    if (!preVote && m.term > p.termAtRecv && r.term === p.termAtRecv && node.term === p.termAtRecv) p.event['ignored'] = true;
    const response = r.name === 'SendAppendEntriesResponse' && r.msg !== undefined && r.msg.to === m.from ? r.msg : undefined;
    const olderTerm = m.term < p.termAtRecv;
    // What the node's next MsgAppResp/MsgHeartbeatResp to the sender answers (a restore traces an
    // ApplyConfChange before the answer).
    const answer = (kind: Answering): void => {
      node.answering = { kind, to: m.from };
    };
    switch (m.type) {
      case 'MsgApp': {
        if (olderTerm) return answer('older-term');
        if (p.stale) return answer('stale');
        answer('append');
        if (response === undefined || response.reject || response.type !== 'MsgAppResp') return;
        this.acceptEntries(node, m, p.cells);
        return;
      }
      case 'MsgHeartbeat':
        return answer(olderTerm ? 'older-term' : 'heartbeat');
      case 'MsgSnap': {
        if (olderTerm) return answer('older-term');
        answer('snapshot');
        this.installSnapshot(node, m, p.v1);
        return;
      }
      default:
        return;
    }
  }

  /** A follower accepting a MsgApp: etcd's maybeAppend (findConflict, truncate, append). */
  private acceptEntries(node: NodeModel, m: EtcdMessage, cells: readonly Cell[] | undefined): void {
    if (cells === undefined) return;
    for (let k = 0; k < cells.length; k++) {
      const index = m.index + 1 + k;
      if (index <= node.snapIndex) continue;
      if (index <= node.lastIndex()) {
        const mine = termAt(node, index, this.committedTerms);
        const theirs = cells[k];
        if (mine === undefined || theirs === undefined || mine.term === theirs.term) continue;
        node.cells.length = index - node.snapIndex - 1;
        this.emit({ ev: 'truncate', node: node.id, from: index });
      }
      const appended = cells.slice(k);
      node.cells.push(...appended);
      const entries = appended.map((c, j) => entryOf(index + j, c));
      const event: Record<string, unknown> = { ev: 'append', node: node.id, entries };
      if (appended.some((c) => !c.certain)) event['assumed'] = ['entries'];
      this.emit(event);
      return;
    }
  }

  /** A follower handling a MsgSnap: etcd's restore() — ignore, fast-forward commit, or restore. */
  private installSnapshot(node: NodeModel, m: EtcdMessage, v1: Message): void {
    const index = snapshotIndex(m);
    const term = v1.type === 'InstallSnapshot' ? v1.lastIncludedTerm : 0;
    if (index <= node.commit) return; // etcd answers with its commitIndex
    const mine = termAt(node, index, this.committedTerms);
    if (mine !== undefined && mine.term === term && index <= node.lastIndex()) return; // commit fast-forward only
    // IS-7: the whole log goes. Its committed prefix is part of the snapshot (committed entries are
    // the leader's), so only the uncommitted entries are shown as truncated.
    const firstUncommitted = Math.max(node.snapIndex, node.commit) + 1;
    if (node.lastIndex() >= firstUncommitted) this.emit({ ev: 'truncate', node: node.id, from: firstUncommitted });
    const certain = v1['assumed'] === undefined;
    node.snapIndex = index;
    node.snapTerm = term;
    node.snapCertain = certain;
    node.cells = [];
    const event: Record<string, unknown> = { ev: 'restore', node: node.id, lastIncludedIndex: index, lastIncludedTerm: term, from: m.from };
    if (!certain) event['assumed'] = ['lastIncludedTerm'];
    this.emit(event);
  }

  /**
   * An etcd message as a v1 message. `sender` is the sending node's model (its log gives the
   * terms etcd does not trace); `answering` says what request a MsgAppResp answers, when known.
   */
  private translateMessage(m: EtcdMessage, sender: NodeModel | undefined, answering: Answering | undefined): InFlight | undefined {
    switch (m.type) {
      case 'MsgApp': {
        const cells: Cell[] = [];
        for (let i = m.index + 1; i <= m.index + m.entries; i++) {
          const c = sender === undefined || i <= sender.snapIndex ? undefined : sender.cells[i - sender.snapIndex - 1];
          if (c === undefined) {
            this.error('$.event.msg.entries', `cannot infer the term of entry ${i}: the sender ${m.from}'s log is not known there (it holds ${sender === undefined ? 'nothing' : `${sender.snapIndex + 1}..${sender.lastIndex()}`})`);
            return undefined;
          }
          cells.push(c);
        }
        const v1: Message = {
          type: 'AppendEntries',
          term: m.term,
          leaderId: m.from,
          prevLogIndex: m.index,
          prevLogTerm: m.logTerm,
          entries: cells.map((c, k) => entryOf(m.index + 1 + k, c)),
          leaderCommit: m.commit,
        };
        if (cells.some((c) => !c.certain)) v1['assumed'] = ['entries'];
        return { v1, cells };
      }
      case 'MsgHeartbeat': {
        const prev = sender === undefined ? undefined : termAt(sender, m.commit, this.committedTerms);
        const v1: Message = {
          type: 'AppendEntries',
          term: m.term,
          leaderId: m.from,
          prevLogIndex: m.commit,
          prevLogTerm: prev?.term ?? (m.commit === 0 ? 0 : 1),
          entries: [],
          leaderCommit: m.commit,
          heartbeat: true,
        };
        if (prev?.certain !== true) v1['assumed'] = ['prevLogTerm'];
        return { v1, cells: [] };
      }
      case 'MsgSnap': {
        const index = snapshotIndex(m);
        const known = m.index > 0 && m.logTerm > 0 ? { term: m.logTerm, certain: true } : sender === undefined ? undefined : termAt(sender, index, this.committedTerms);
        const fact = known ?? (this.committedTerms.has(index) ? { term: this.committedTerms.get(index) ?? 0, certain: true } : undefined);
        const v1: Message = {
          type: 'InstallSnapshot',
          term: m.term,
          leaderId: m.from,
          lastIncludedIndex: index,
          lastIncludedTerm: fact?.term ?? (index === 0 ? 0 : 1),
        };
        if (fact?.certain !== true && index > 0) v1['assumed'] = ['lastIncludedTerm'];
        return { v1, cells: undefined };
      }
      case 'MsgAppResp': {
        const v1: Message =
          answering === 'older-term'
            ? { type: 'AppendEntriesResponse', term: m.term, success: false }
            : m.reject
              ? { type: 'AppendEntriesResponse', term: m.term, success: false, conflictIndex: m.rejectHint }
              : { type: 'AppendEntriesResponse', term: m.term, success: true, matchIndex: m.index };
        if (answering === 'stale' && !m.reject) v1['stale'] = true;
        if (answering === 'snapshot' && !m.reject) v1['snapshot'] = true;
        return { v1, cells: undefined };
      }
      case 'MsgHeartbeatResp':
        return { v1: { type: 'AppendEntriesResponse', term: m.term, success: true, heartbeat: true }, cells: undefined };
      case 'MsgVote':
      case 'MsgPreVote': {
        const v1: Message = { type: 'RequestVote', term: m.term, candidateId: m.from, lastLogIndex: m.index, lastLogTerm: m.logTerm };
        if (m.type === 'MsgPreVote') v1.preVote = true;
        return { v1, cells: undefined };
      }
      case 'MsgVoteResp':
      case 'MsgPreVoteResp': {
        const v1: Message = { type: 'RequestVoteResponse', term: m.term, voteGranted: !m.reject };
        if (m.type === 'MsgPreVoteResp') v1.preVote = true;
        return { v1, cells: undefined };
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** The term of the node's entry at `index`, when the model knows it. */
function termAt(node: NodeModel, index: number, committed: ReadonlyMap<number, number>): TermAt | undefined {
  if (index === 0) return { term: 0, certain: true };
  if (index === node.snapIndex) return { term: node.snapTerm, certain: node.snapCertain };
  if (index > node.snapIndex) {
    const c = node.cells[index - node.snapIndex - 1];
    return c === undefined ? undefined : { term: c.term, certain: c.certain };
  }
  const known = committed.get(index);
  return known === undefined ? undefined : { term: known, certain: true };
}

/** After an unexplained change: make the model's log as long as etcd says (terms unknown: assumed). */
function resync(node: NodeModel, lastIndex: number, committed: ReadonlyMap<number, number>): void {
  if (lastIndex < node.snapIndex) {
    const known = committed.get(lastIndex);
    node.snapIndex = lastIndex;
    node.snapTerm = lastIndex === 0 ? 0 : (known ?? node.term);
    node.snapCertain = lastIndex === 0 || known !== undefined;
    node.cells = [];
    return;
  }
  node.cells.length = Math.min(node.cells.length, lastIndex - node.snapIndex);
  while (node.lastIndex() < lastIndex) node.cells.push({ term: node.term, kind: undefined, certain: false });
}

function snapshotIndex(m: EtcdMessage): number {
  // etcd's tracer reports a MsgSnap's snapshot index in `entries` (index and logTerm are 0).
  return m.index > 0 ? m.index : m.entries;
}

function entryKind(kind: AppendKind | undefined): EntryKind | undefined {
  return kind === 'noop' ? 'noop' : kind === 'config' ? 'config' : undefined;
}

function entryOf(index: number, c: Cell): LogEntry {
  return c.kind === undefined ? { index, term: c.term } : { index, term: c.term, kind: c.kind };
}

function configOf(voters: readonly string[], outgoing: readonly string[]): { voters: string[]; joint?: string[] } {
  return outgoing.length > 0 ? { voters: [...voters], joint: [...outgoing] } : { voters: [...voters] };
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort();
  const sb = [...b].sort();
  return sa.every((x, i) => x === sb[i]);
}

function messageKey(m: EtcdMessage): string {
  return JSON.stringify([m.type, m.from, m.to, m.term, m.index, m.logTerm, m.commit, m.entries, m.reject, m.rejectHint]);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
