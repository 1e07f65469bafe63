/**
 * traces/importers/etcd.ts: the etcd-io/raft corpus imports without errors into valid v1 events
 * that a Figure 2 reading of them does not contradict; each etcd event and message maps as
 * documented, quirks included; bad input is reported per line and field, never thrown.
 *
 * The corpus is found through FIGURE2_CORPUS (default ../shared/data from the repo root).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TraceEvent } from '../../spec/schemas/index.ts';
import { importEtcd, type EtcdLineError } from '../../traces/importers/etcd.ts';
import type { TraceLine } from '../../traces/reader.ts';

const root = resolve(import.meta.dirname, '../..');
const corpusRoot = resolve(process.env['FIGURE2_CORPUS'] ?? resolve(root, '../shared/data'));
const etcdDir = join(corpusRoot, 'etcd-raft-traces');
const corpusMissing = `corpus not found at ${etcdDir}; set FIGURE2_CORPUS`;
const corpusFiles = existsSync(etcdDir) ? readdirSync(etcdDir).filter((f) => f.endsWith('.ndjson')).sort() : [];

function corpusText(file: string): string {
  if (!existsSync(etcdDir)) throw new Error(corpusMissing);
  return readFileSync(join(etcdDir, file), 'utf8');
}

type Ev = Record<string, unknown> & { ev: string };
type Msg = Record<string, unknown> & { type: string };

async function run(lines: readonly string[] | string, file = 'test.ndjson'): Promise<TraceLine[]> {
  const source = typeof lines === 'string' ? Readable.from([Buffer.from(lines, 'utf8')]) : toAsync(lines);
  const out: TraceLine[] = [];
  for await (const item of importEtcd(source, { file })) out.push(item);
  return out;
}

async function* toAsync(lines: readonly string[]): AsyncGenerator<string> {
  yield* lines;
}

function eventsOf(items: readonly TraceLine[]): Ev[] {
  return items.flatMap((i) => ('event' in i ? [i.event as Ev] : []));
}

function errorsOf(items: readonly TraceLine[]): string[] {
  return items.flatMap((i) => ('error' in i ? [`${i.line} ${i.error.path}: ${i.error.message}`] : []));
}

/** The events of one node, without ts, as compact objects. */
function of(events: readonly Ev[], node: string, ...kinds: string[]): Ev[] {
  return events.filter((e) => e['node'] === node && (kinds.length === 0 || kinds.includes(e.ev))).map(({ ts: _ts, ...rest }) => rest as Ev);
}

// ---------------------------------------------------------------------------------------------
// Hand-written etcd records

type EtcdRole = 'StateFollower' | 'StateCandidate' | 'StateLeader' | 'StatePreCandidate';
interface NodeSt {
  term: number;
  vote: string;
  commit: number;
  role: EtcdRole;
  log: number;
  conf: [string[], string[]];
}

/** Builds an etcd trace; each record starts from the node's previous record's state. */
class EtcdTrace {
  readonly lines: string[] = [];
  private ts = 1_700_000_000;
  private readonly states = new Map<string, NodeSt>();

  ev(name: string, nid: string, changes: Partial<NodeSt> = {}, extra: Record<string, unknown> = {}): this {
    const before = this.states.get(nid) ?? { term: 0, vote: '0', commit: 0, role: 'StateFollower', log: 0, conf: [[], []] };
    const s: NodeSt = { ...before, ...changes };
    this.states.set(nid, s);
    this.ts += 0.000001;
    const event = { name, nid, state: { term: s.term, vote: s.vote, commit: s.commit }, role: s.role, log: s.log, conf: s.conf, ...extra };
    this.lines.push(JSON.stringify({ level: 'debug', ts: Number(this.ts.toFixed(6)), msg: 'trace', tag: 'trace', event }));
    return this;
  }

  /** A node bootstrapped like etcd's harness: InitState at `log`, then its configuration. */
  boot(nid: string, voters: string[], log: number): this {
    return this.ev('InitState', nid, { log, commit: log, conf: [[], []] })
      .ev('ApplyConfChange', nid, {}, { prop: { cc: { newconf: voters } } })
      .ev('BecomeFollower', nid, { conf: [voters, []] });
  }

  send(name: string, m: Record<string, unknown>, changes: Partial<NodeSt> = {}, prop?: Record<string, unknown>): this {
    return this.ev(`Send${name}`, String(m['from']), changes, prop === undefined ? { msg: m } : { msg: m, prop });
  }

  recv(name: string, m: Record<string, unknown>, changes: Partial<NodeSt> = {}): this {
    return this.ev(`Receive${name}`, String(m['to']), changes, { msg: m });
  }
}

/** An etcd TracingMessage with every field (as etcd's tracer writes them). */
function msg(type: string, from: string, to: string, fields: Partial<Record<'term' | 'entries' | 'logTerm' | 'index' | 'commit' | 'rejectHint', number> & { reject: boolean }> = {}): Record<string, unknown> {
  return { type, term: 1, from, to, entries: 0, logTerm: 0, index: 0, commit: 0, vote: '0', reject: false, rejectHint: 0, ...fields };
}

/** Three nodes bootstrapped at index 2; node 1 wins term 1 and replicates its no-op to 2 and 3. */
function electedCluster(): EtcdTrace {
  const t = new EtcdTrace();
  const voters = ['1', '2', '3'];
  t.boot('1', voters, 2).boot('2', voters, 2).boot('3', voters, 2);
  t.ev('BecomeCandidate', '1', { term: 1, vote: '1', role: 'StateCandidate' });
  t.send('RequestVoteResponse', msg('MsgVoteResp', '1', '1'));
  t.send('RequestVoteRequest', msg('MsgVote', '1', '2', { logTerm: 1, index: 2 }));
  t.send('RequestVoteRequest', msg('MsgVote', '1', '3', { logTerm: 1, index: 2 }));
  t.recv('RequestVoteResponse', msg('MsgVoteResp', '1', '1'));
  t.recv('RequestVoteRequest', msg('MsgVote', '1', '2', { logTerm: 1, index: 2 }));
  t.ev('BecomeFollower', '2', { term: 1 });
  t.send('RequestVoteResponse', msg('MsgVoteResp', '2', '1'));
  t.ev('Ready', '2', { vote: '1' });
  t.recv('RequestVoteRequest', msg('MsgVote', '1', '3', { logTerm: 1, index: 2 }));
  t.ev('BecomeFollower', '3', { term: 1 });
  t.send('RequestVoteResponse', msg('MsgVoteResp', '3', '1')); // never delivered
  t.ev('Ready', '3', { vote: '1' });
  t.recv('RequestVoteResponse', msg('MsgVoteResp', '2', '1'));
  t.ev('BecomeLeader', '1', { role: 'StateLeader' });
  t.ev('Replicate', '1');
  t.send('AppendEntriesResponse', msg('MsgAppResp', '1', '1', { index: 3 }), { log: 3 });
  t.send('AppendEntriesRequest', msg('MsgApp', '1', '2', { entries: 1, logTerm: 1, index: 2, commit: 2 }), {}, { match: 2, next: 3 });
  t.send('AppendEntriesRequest', msg('MsgApp', '1', '3', { entries: 1, logTerm: 1, index: 2, commit: 2 }), {}, { match: 2, next: 3 });
  t.recv('AppendEntriesRequest', msg('MsgApp', '1', '2', { entries: 1, logTerm: 1, index: 2, commit: 2 }));
  t.send('AppendEntriesResponse', msg('MsgAppResp', '2', '1', { index: 3 }), { log: 3 });
  t.recv('AppendEntriesResponse', msg('MsgAppResp', '1', '1', { index: 3 }));
  t.ev('Commit', '1');
  t.recv('AppendEntriesResponse', msg('MsgAppResp', '2', '1', { index: 3 }));
  t.ev('Commit', '1', { commit: 3 });
  return t;
}

// ---------------------------------------------------------------------------------------------
// A Figure 2 reading of the emitted events, strict enough to catch a false fact

interface MirrorNode {
  term: number;
  role: string;
  commit: number;
  snapIndex: number;
  snapTerm: number;
  log: Map<number, number>;
  last: number;
  /** AppendEntries received, awaiting this node's answer. */
  awaiting: Map<string, { msg: Msg; match: boolean | undefined; stale: boolean; older: boolean }>;
  /** RequestVote received, per candidate. */
  votesAsked: Map<string, Msg>;
}

/** Checks the events against Figure 2's receiver rules and invariants; returns the problems found. */
function figure2Problems(events: readonly Ev[]): string[] {
  const problems: string[] = [];
  const nodes = new Map<string, MirrorNode>();
  const leaders = new Map<number, string>();
  const node = (id: string): MirrorNode => {
    let n = nodes.get(id);
    if (n === undefined) {
      n = { term: 0, role: 'follower', commit: 0, snapIndex: 0, snapTerm: 0, log: new Map(), last: 0, awaiting: new Map(), votesAsked: new Map() };
      nodes.set(id, n);
    }
    return n;
  };
  const termAt = (n: MirrorNode, i: number): number | undefined => (i === 0 ? 0 : i === n.snapIndex ? n.snapTerm : n.log.get(i));
  events.forEach((e, k) => {
    const where = `event ${k} (${e.ev} on ${String(e['node'])})`;
    if (e.ev === 'header') return;
    const n = node(String(e['node']));
    const m = e['msg'] as Msg | undefined;
    switch (e.ev) {
      case 'init': {
        Object.assign(n, { term: e['term'], commit: e['commitIndex'], snapIndex: e['snapshotIndex'], snapTerm: e['snapshotTerm'], last: e['lastIndex'], log: new Map() });
        for (const entry of (e['entries'] as { index: number; term: number }[] | undefined) ?? []) n.log.set(entry.index, entry.term);
        if (termAt(n, n.last) !== e['lastTerm']) problems.push(`${where}: lastTerm disagrees with the log`);
        return;
      }
      case 'role': {
        if ((e['term'] as number) < n.term) problems.push(`${where}: term decreased`);
        n.term = e['term'] as number;
        n.role = e['role'] as string;
        if (n.role === 'leader') {
          const other = leaders.get(n.term);
          if (other !== undefined && other !== e['node']) problems.push(`${where}: two leaders in term ${n.term}`);
          leaders.set(n.term, String(e['node']));
        }
        const st = e['state'] as Record<string, unknown> | undefined;
        if (st !== undefined && (st['lastIndex'] !== n.last || st['lastTerm'] !== termAt(n, n.last) || st['commitIndex'] !== n.commit)) problems.push(`${where}: state disagrees with the events`);
        return;
      }
      case 'append':
        for (const entry of e['entries'] as { index: number; term: number }[]) {
          if (entry.index !== n.last + 1) problems.push(`${where}: append at ${entry.index} after lastIndex ${n.last}`);
          if (entry.term > n.term) problems.push(`${where}: entry term ${entry.term} above currentTerm ${n.term}`);
          n.log.set(entry.index, entry.term);
          n.last = entry.index;
        }
        return;
      case 'truncate': {
        const from = e['from'] as number;
        if (from <= n.commit) problems.push(`${where}: truncates committed entries (from ${from}, commitIndex ${n.commit})`);
        for (let i = from; i <= n.last; i++) n.log.delete(i);
        n.last = Math.min(n.last, from - 1);
        return;
      }
      case 'restore':
        n.snapIndex = e['lastIncludedIndex'] as number;
        n.snapTerm = e['lastIncludedTerm'] as number;
        n.log = new Map();
        n.last = n.snapIndex;
        return;
      case 'commit': {
        const c = e['commitIndex'] as number;
        if (c < n.commit) problems.push(`${where}: commitIndex decreased`);
        if (c > n.last) problems.push(`${where}: commitIndex ${c} beyond lastIndex ${n.last}`);
        if (n.role === 'leader' && c > n.commit && termAt(n, c) !== n.term) problems.push(`${where}: leader commits an entry of an earlier term (L-4)`);
        n.commit = c;
        return;
      }
      case 'send':
        if (m === undefined) return;
        if (m.type === 'AppendEntries') {
          const prev = m['prevLogIndex'] as number;
          const known = termAt(n, prev);
          if (known !== undefined && known !== m['prevLogTerm']) problems.push(`${where}: prevLogTerm ${String(m['prevLogTerm'])} but the sender has ${known} at ${prev}`);
          for (const entry of m['entries'] as { index: number; term: number }[]) {
            if (n.log.get(entry.index) !== entry.term) problems.push(`${where}: sends entry ${entry.index}/${entry.term} it does not hold`);
          }
        }
        if (m.type === 'RequestVote' && (m['lastLogIndex'] !== n.last || m['lastLogTerm'] !== termAt(n, n.last))) problems.push(`${where}: RequestVote does not describe the candidate's log`);
        if (m.type === 'RequestVoteResponse' && m['voteGranted'] === true) {
          const asked = n.votesAsked.get(String(e['to']));
          const myLast = termAt(n, n.last) ?? 0;
          if (asked !== undefined) {
            const theirs = asked['lastLogTerm'] as number;
            if (theirs < myLast || (theirs === myLast && (asked['lastLogIndex'] as number) < n.last)) problems.push(`${where}: grants a vote to a less up-to-date log (RV-2)`);
          }
        }
        if (m.type === 'AppendEntriesResponse') {
          const req = n.awaiting.get(String(e['to']));
          n.awaiting.delete(String(e['to']));
          if (req === undefined || req.older || req.stale || req.msg['heartbeat'] === true) return;
          if (m['success'] === true && req.match === false) problems.push(`${where}: success although the log does not match prevLogIndex (AE-2)`);
          if (m['success'] === false && req.match === true && m['term'] === req.msg['term']) problems.push(`${where}: failure although the log matches (AE-2)`);
          if (m['success'] === true) {
            const entries = req.msg['entries'] as { index: number; term: number }[];
            for (const entry of entries) if (n.log.get(entry.index) !== entry.term && entry.index > n.snapIndex) problems.push(`${where}: entry ${entry.index} not in the log after success (AE-3/4)`);
            const expected = Math.min(req.msg['leaderCommit'] as number, (req.msg['prevLogIndex'] as number) + entries.length);
            if (n.commit < expected) problems.push(`${where}: commitIndex ${n.commit} below ${expected} (AE-5)`);
          }
        }
        return;
      case 'recv':
        if (m === undefined || e['ignored'] === true) return;
        if ((m['term'] as number) > n.term) n.term = m['term'] as number; // ALL-2 (the role event follows)
        if (m.type === 'AppendEntries') {
          const prev = m['prevLogIndex'] as number;
          const known = prev < n.snapIndex ? undefined : termAt(n, prev);
          const match = prev < n.snapIndex ? undefined : known === m['prevLogTerm'];
          if (m['heartbeat'] === true && (m['term'] as number) >= n.term && known !== undefined && known !== m['prevLogTerm']) problems.push(`${where}: heartbeat prevLogTerm disagrees with the receiver's log`);
          n.awaiting.set(String(e['from']), { msg: m, match, stale: e['stale'] === true, older: (m['term'] as number) < n.term });
        }
        if (m.type === 'RequestVote') n.votesAsked.set(String(e['from']), m);
        return;
      default:
        return;
    }
  });
  return problems;
}

/** Per node, the last etcd record's log and commit. */
function finalEtcdState(text: string): Map<string, { log: number; commit: number }> {
  const out = new Map<string, { log: number; commit: number }>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const e = (JSON.parse(line) as { event: { nid: string; log: number; state: { commit: number } } }).event;
    out.set(e.nid, { log: e.log, commit: e.state.commit });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

describe('etcd importer on the etcd-raft corpus', () => {
  it('finds the corpus (FIGURE2_CORPUS)', () => {
    if (!existsSync(etcdDir)) throw new Error(corpusMissing);
    expect(corpusFiles).toHaveLength(29);
  });

  it.each(corpusFiles)('%s: imports without errors into valid, consistent v1 events', async (file) => {
    const text = corpusText(file);
    const items = await run(text, file);
    expect(errorsOf(items)).toEqual([]);
    const events = eventsOf(items);
    for (const e of events) expect(TraceEvent.safeParse(e).success, JSON.stringify(e)).toBe(true);
    // Results are in line order, each line a record of the input.
    const lineCount = text.split('\n').filter((l) => l.trim() !== '').length;
    const lines = items.map((i) => i.line);
    expect(lines.every((l, k) => l >= 1 && l <= lineCount && (k === 0 || l >= (lines[k - 1] ?? 0)))).toBe(true);

    // Header first, once; one init per node; cluster = the bootstrap voters.
    expect(events[0]).toMatchObject({ ev: 'header', format: 'raft-trace', version: 1, source: 'etcd-io/raft' });
    expect(events.filter((e) => e.ev === 'header')).toHaveLength(1);
    const raw = text.split('\n').filter((l) => l.trim() !== '').map((l) => (JSON.parse(l) as { event: Record<string, unknown> }).event);
    const inits = raw.filter((r) => r['name'] === 'InitState');
    expect(events.filter((e) => e.ev === 'init')).toHaveLength(inits.length);
    expect((events[0]?.['cluster'] as string[]).length).toBeGreaterThan(0);

    // Plausible counts: one role event per Become*, every non-self Send/Receive once.
    const count = (kind: string): number => events.filter((e) => e.ev === kind).length;
    const rawCount = (pred: (r: Record<string, unknown>) => boolean): number => raw.filter(pred).length;
    const isSelf = (r: Record<string, unknown>): boolean => {
      const m = r['msg'] as { from: string; to: string } | undefined;
      return m !== undefined && m.from === m.to;
    };
    const becomes = rawCount((r) => String(r['name']).startsWith('Become'));
    expect(count('role')).toBeGreaterThanOrEqual(becomes);
    expect(count('role') - becomes).toBe(events.filter((e) => e.ev === 'role' && e['role'] === 'precandidate').length);
    expect(count('send')).toBe(rawCount((r) => String(r['name']).startsWith('Send') && !isSelf(r)));
    expect(count('recv')).toBe(rawCount((r) => String(r['name']).startsWith('Receive') && !isSelf(r)));
    expect(count('recv')).toBeLessThanOrEqual(count('send') + events.filter((e) => e['unsent'] === true).length);

    // Every recv carries exactly the msg of an earlier, not yet received send (or is marked unsent).
    const undelivered: { from: string; to: string; msg: string }[] = [];
    for (const e of events) {
      if (e.ev === 'send') undelivered.push({ from: String(e['node']), to: String(e['to']), msg: JSON.stringify(e['msg']) });
      if (e.ev === 'recv' && e['unsent'] !== true) {
        const k = undelivered.findIndex((s) => s.from === e['from'] && s.to === e['node'] && s.msg === JSON.stringify(e['msg']));
        expect(k, `recv without send: ${JSON.stringify(e)}`).toBeGreaterThanOrEqual(0);
        undelivered.splice(k, 1);
      }
    }

    // No value rests on the bootstrap convention in this corpus: every inferred term is proven.
    expect(events.filter((e) => e['assumed'] !== undefined || (e['msg'] as Msg | undefined)?.['assumed'] !== undefined)).toEqual([]);

    // A Figure 2 reading of the events finds nothing wrong (etcd is correct) ...
    expect(figure2Problems(events)).toEqual([]);
    // ... and the logs and commit indices they describe end where etcd's did.
    const mirror = new Map<string, { last: number; commit: number }>();
    for (const e of events) {
      const id = String(e['node']);
      const n = mirror.get(id) ?? { last: 0, commit: 0 };
      if (e.ev === 'init') Object.assign(n, { last: e['lastIndex'], commit: e['commitIndex'] });
      if (e.ev === 'append') n.last = Math.max(...(e['entries'] as { index: number }[]).map((x) => x.index));
      if (e.ev === 'truncate') n.last = Math.min(n.last, (e['from'] as number) - 1);
      if (e.ev === 'restore') n.last = e['lastIncludedIndex'] as number;
      if (e.ev === 'commit') n.commit = e['commitIndex'] as number;
      mirror.set(id, n);
    }
    for (const [id, fin] of finalEtcdState(text)) {
      expect(mirror.get(id), `node ${id}`).toEqual({ last: fin.log, commit: fin.commit });
    }
  });

  it('maps the quirks the corpus exercises', async () => {
    const marks = new Map<string, number>();
    const bump = (k: string): void => void marks.set(k, (marks.get(k) ?? 0) + 1);
    for (const file of ['example.ndjson', 'checkquorum.ndjson', 'snapshot_succeed_via_app_resp_behind.ndjson', 'probe_and_replicate.ndjson', 'prevote.ndjson', 'confchange_v2_add_double_auto.ndjson']) {
      for (const e of eventsOf(await run(corpusText(file), file))) {
        const m = e['msg'] as Msg | undefined;
        for (const k of ['stale', 'ignored', 'unsent']) if (e[k] === true) bump(`${e.ev}.${k}`);
        for (const k of ['heartbeat', 'stale', 'snapshot']) if (m?.[k] === true) bump(`${m.type}.${k}`);
        if (e.ev === 'role' && e['role'] === 'precandidate') bump('precandidate');
        if (e.ev === 'truncate' || e.ev === 'restore') bump(e.ev);
        if (e.ev === 'append' && e['bootstrap'] === true) bump('bootstrap');
        if (e.ev === 'config' && e['joint'] !== undefined) bump('joint');
        if (e.ev === 'append' && (e['entries'] as { kind?: string }[]).some((x) => x.kind === 'config')) bump('config entry');
      }
    }
    for (const k of [
      'recv.stale',
      'recv.ignored',
      'recv.unsent',
      'AppendEntries.heartbeat',
      'AppendEntriesResponse.heartbeat',
      'AppendEntriesResponse.stale',
      'AppendEntriesResponse.snapshot',
      'precandidate',
      'truncate',
      'restore',
      'bootstrap',
      'joint',
      'config entry',
    ]) {
      expect(marks.get(k) ?? 0, k).toBeGreaterThan(0);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('etcd importer: events and messages', () => {
  it('InitState, Become*, Replicate, MsgVote/MsgVoteResp, MsgApp/MsgAppResp, Commit (an election)', async () => {
    const items = await run(electedCluster().lines);
    expect(errorsOf(items)).toEqual([]);
    const events = eventsOf(items);
    expect(events[0]).toMatchObject({ ev: 'header', cluster: ['1', '2', '3'], source: 'etcd-io/raft', meta: { file: 'test.ndjson' } });
    expect(events.every((e) => TraceEvent.safeParse(e).success)).toBe(true);
    expect(events.filter((e) => e.ev !== 'header').every((e) => typeof e['ts'] === 'number')).toBe(true);

    expect(of(events, '1')).toEqual([
      // the term of index 2 is revealed by node 1's own RequestVote (lastLogTerm 1)
      { ev: 'init', node: '1', term: 0, votedFor: null, lastIndex: 2, lastTerm: 1, snapshotIndex: 2, snapshotTerm: 1, commitIndex: 2 },
      { ev: 'config', node: '1', voters: ['1', '2', '3'] },
      { ev: 'role', node: '1', role: 'follower', term: 0, state: { term: 0, votedFor: null, role: 'follower', commitIndex: 2, lastIndex: 2, lastTerm: 1 } },
      { ev: 'role', node: '1', role: 'candidate', term: 1, state: { term: 1, votedFor: '1', role: 'candidate', commitIndex: 2, lastIndex: 2, lastTerm: 1 } },
      // the self-vote (MsgVoteResp 1→1) is not a message
      { ev: 'send', node: '1', to: '2', msg: { type: 'RequestVote', term: 1, candidateId: '1', lastLogIndex: 2, lastLogTerm: 1 } },
      { ev: 'send', node: '1', to: '3', msg: { type: 'RequestVote', term: 1, candidateId: '1', lastLogIndex: 2, lastLogTerm: 1 } },
      { ev: 'recv', node: '1', from: '2', msg: { type: 'RequestVoteResponse', term: 1, voteGranted: true } },
      { ev: 'role', node: '1', role: 'leader', term: 1, state: { term: 1, votedFor: '1', role: 'leader', commitIndex: 2, lastIndex: 2, lastTerm: 1 } },
      // Replicate right after BecomeLeader: the no-op, appended with the leader's term
      { ev: 'append', node: '1', entries: [{ index: 3, term: 1, kind: 'noop' }] },
      { ev: 'send', node: '1', to: '2', msg: { type: 'AppendEntries', term: 1, leaderId: '1', prevLogIndex: 2, prevLogTerm: 1, entries: [{ index: 3, term: 1, kind: 'noop' }], leaderCommit: 2 } },
      { ev: 'send', node: '1', to: '3', msg: { type: 'AppendEntries', term: 1, leaderId: '1', prevLogIndex: 2, prevLogTerm: 1, entries: [{ index: 3, term: 1, kind: 'noop' }], leaderCommit: 2 } },
      { ev: 'recv', node: '1', from: '2', msg: { type: 'AppendEntriesResponse', term: 1, success: true, matchIndex: 3 } },
      { ev: 'commit', node: '1', commitIndex: 3 },
    ]);
    expect(of(events, '2').slice(2)).toEqual([
      { ev: 'role', node: '2', role: 'follower', term: 0, state: { term: 0, votedFor: null, role: 'follower', commitIndex: 2, lastIndex: 2, lastTerm: 1 } },
      { ev: 'recv', node: '2', from: '1', msg: { type: 'RequestVote', term: 1, candidateId: '1', lastLogIndex: 2, lastLogTerm: 1 } },
      // etcd steps down before handling the request: state before the vote is cast
      { ev: 'role', node: '2', role: 'follower', term: 1, state: { term: 1, votedFor: null, role: 'follower', commitIndex: 2, lastIndex: 2, lastTerm: 1 } },
      { ev: 'send', node: '2', to: '1', msg: { type: 'RequestVoteResponse', term: 1, voteGranted: true } },
      { ev: 'recv', node: '2', from: '1', msg: { type: 'AppendEntries', term: 1, leaderId: '1', prevLogIndex: 2, prevLogTerm: 1, entries: [{ index: 3, term: 1, kind: 'noop' }], leaderCommit: 2 } },
      // the follower's entries carry the leader's terms
      { ev: 'append', node: '2', entries: [{ index: 3, term: 1, kind: 'noop' }] },
      { ev: 'send', node: '2', to: '1', msg: { type: 'AppendEntriesResponse', term: 1, success: true, matchIndex: 3 } },
    ]);
    expect(figure2Problems(events)).toEqual([]);
  });

  it('a rejected MsgAppResp carries conflictIndex from rejectHint', async () => {
    const t = electedCluster();
    t.recv('AppendEntriesRequest', msg('MsgApp', '1', '3', { entries: 1, logTerm: 1, index: 2, commit: 2 }));
    t.send('AppendEntriesResponse', msg('MsgAppResp', '3', '1', { index: 2, reject: true, rejectHint: 1, logTerm: 1 }));
    const events = eventsOf(await run(t.lines));
    expect(of(events, '3', 'send', 'append').slice(1)).toEqual([
      { ev: 'send', node: '3', to: '1', msg: { type: 'AppendEntriesResponse', term: 1, success: false, conflictIndex: 1 } },
    ]);
  });

  it('infers entry terms from the term of the leader that appended them, across leaders; truncates on conflict', async () => {
    const t = electedCluster();
    // Leader 1 appends index 4 in term 1 but only node 2 gets it.
    t.ev('Replicate', '1');
    t.send('AppendEntriesRequest', msg('MsgApp', '1', '2', { entries: 1, logTerm: 1, index: 3, commit: 3 }), { log: 4 });
    t.recv('AppendEntriesRequest', msg('MsgApp', '1', '2', { entries: 1, logTerm: 1, index: 3, commit: 3 }));
    t.send('AppendEntriesResponse', msg('MsgAppResp', '2', '1', { index: 4 }), { log: 4, commit: 3 });
    // Node 3 got index 3 earlier; it becomes leader of term 2 and appends index 4 (term 2).
    t.recv('AppendEntriesRequest', msg('MsgApp', '1', '3', { entries: 1, logTerm: 1, index: 2, commit: 2 }));
    t.send('AppendEntriesResponse', msg('MsgAppResp', '3', '1', { index: 3 }), { log: 3 });
    t.ev('BecomeCandidate', '3', { term: 2, vote: '3', role: 'StateCandidate' });
    t.ev('BecomeLeader', '3', { role: 'StateLeader' });
    t.ev('Replicate', '3'); // the no-op
    t.ev('Replicate', '3'); // a second entry in the same batch (traced before the log grows): 4 and 5 are both term 2
    t.send('AppendEntriesRequest', msg('MsgApp', '3', '2', { term: 2, entries: 2, logTerm: 1, index: 3, commit: 2 }), { log: 5 });
    t.recv('AppendEntriesRequest', msg('MsgApp', '3', '2', { term: 2, entries: 2, logTerm: 1, index: 3, commit: 2 }));
    t.ev('BecomeFollower', '2', { term: 2, vote: '0' });
    t.send('AppendEntriesResponse', msg('MsgAppResp', '2', '3', { term: 2, index: 5 }), { log: 5 });
    const items = await run(t.lines);
    expect(errorsOf(items)).toEqual([]);
    const events = eventsOf(items);
    expect(of(events, '3', 'append')).toEqual([
      { ev: 'append', node: '3', entries: [{ index: 3, term: 1, kind: 'noop' }] },
      { ev: 'append', node: '3', entries: [{ index: 4, term: 2, kind: 'noop' }, { index: 5, term: 2 }] },
    ]);
    const sent = of(events, '3', 'send').at(-1);
    expect(sent?.['msg']).toMatchObject({ prevLogIndex: 3, prevLogTerm: 1, entries: [{ index: 4, term: 2, kind: 'noop' }, { index: 5, term: 2 }] });
    // Node 2 held 4/term 1: it conflicts with 4/term 2, so 4.. is truncated and 4, 5 appended.
    expect(of(events, '2', 'append', 'truncate', 'recv', 'role', 'send').slice(-5)).toEqual([
      expect.objectContaining({ ev: 'recv', from: '3' }),
      expect.objectContaining({ ev: 'role', role: 'follower', term: 2 }),
      { ev: 'truncate', node: '2', from: 4 },
      { ev: 'append', node: '2', entries: [{ index: 4, term: 2, kind: 'noop' }, { index: 5, term: 2 }] },
      { ev: 'send', node: '2', to: '3', msg: { type: 'AppendEntriesResponse', term: 2, success: true, matchIndex: 5 } },
    ]);
    expect(figure2Problems(events)).toEqual([]);
  });

  it('MsgHeartbeat → AppendEntries {heartbeat: true, prevLogIndex = commit, prevLogTerm inferred}; MsgHeartbeatResp → success {heartbeat: true}', async () => {
    const t = electedCluster();
    t.send('AppendEntriesRequest', msg('MsgHeartbeat', '1', '2', { commit: 3 }));
    t.recv('AppendEntriesRequest', msg('MsgHeartbeat', '1', '2', { commit: 3 }));
    t.send('AppendEntriesResponse', msg('MsgHeartbeatResp', '2', '1'), { commit: 3 });
    t.recv('AppendEntriesResponse', msg('MsgHeartbeatResp', '2', '1'));
    const events = eventsOf(await run(t.lines));
    const hb = { type: 'AppendEntries', term: 1, leaderId: '1', prevLogIndex: 3, prevLogTerm: 1, entries: [], leaderCommit: 3, heartbeat: true };
    const hbResp = { type: 'AppendEntriesResponse', term: 1, success: true, heartbeat: true };
    expect(of(events, '1').slice(-2)).toEqual([
      { ev: 'send', node: '1', to: '2', msg: hb },
      { ev: 'recv', node: '1', from: '2', msg: hbResp },
    ]);
    expect(of(events, '2').slice(-3)).toEqual([
      { ev: 'recv', node: '2', from: '1', msg: hb },
      { ev: 'commit', node: '2', commitIndex: 3 },
      { ev: 'send', node: '2', to: '1', msg: hbResp },
    ]);
  });

  it('MsgSnap → InstallSnapshot (index from `entries`, term from the sender); the receiver truncates, restores and commits', async () => {
    const t = electedCluster();
    // Node 3 (still at its bootstrap snapshot, index 2) receives a snapshot at 3.
    t.send('AppendEntriesRequest', msg('MsgSnap', '1', '3', { entries: 3 }));
    t.recv('AppendEntriesRequest', msg('MsgSnap', '1', '3', { entries: 3 }));
    t.ev('ApplyConfChange', '3', { log: 3, commit: 3, conf: [[], []] }, { prop: { cc: { newconf: ['1', '2', '3'] } } });
    t.send('AppendEntriesResponse', msg('MsgAppResp', '3', '1', { index: 3 }), { conf: [['1', '2', '3'], []] });
    t.recv('AppendEntriesResponse', msg('MsgAppResp', '3', '1', { index: 3 }));
    const items = await run(t.lines);
    expect(errorsOf(items)).toEqual([]);
    const events = eventsOf(items);
    const is = { type: 'InstallSnapshot', term: 1, leaderId: '1', lastIncludedIndex: 3, lastIncludedTerm: 1 };
    const ack = { type: 'AppendEntriesResponse', term: 1, success: true, matchIndex: 3, snapshot: true };
    expect(of(events, '3').slice(-4)).toEqual([
      { ev: 'recv', node: '3', from: '1', msg: is },
      { ev: 'restore', node: '3', lastIncludedIndex: 3, lastIncludedTerm: 1, from: '1' },
      { ev: 'commit', node: '3', commitIndex: 3 },
      // the transiently empty configuration etcd traces mid-restore is not a configuration change
      { ev: 'send', node: '3', to: '1', msg: ack },
    ]);
    expect(of(events, '1').slice(-2)).toEqual([
      { ev: 'send', node: '1', to: '3', msg: is },
      { ev: 'recv', node: '1', from: '3', msg: ack },
    ]);
  });

  it('a snapshot replacing a log with entries truncates them first; SendSnapshot/ReceiveSnapshot are accepted too', async () => {
    const t = electedCluster();
    t.ev('Replicate', '1').ev('Replicate', '1');
    t.send('AppendEntriesResponse', msg('MsgAppResp', '1', '1', { index: 5 }), { log: 5 });
    t.recv('AppendEntriesRequest', msg('MsgApp', '1', '3', { entries: 1, logTerm: 1, index: 2, commit: 2 }));
    t.send('AppendEntriesResponse', msg('MsgAppResp', '3', '1', { index: 3 }), { log: 3 });
    t.ev('Commit', '1', { commit: 5 });
    t.send('Snapshot', msg('MsgSnap', '1', '3', { entries: 5 }));
    t.recv('Snapshot', msg('MsgSnap', '1', '3', { entries: 5 }));
    t.send('AppendEntriesResponse', msg('MsgAppResp', '3', '1', { index: 5 }), { log: 5, commit: 5 });
    const items = await run(t.lines);
    expect(errorsOf(items)).toEqual([]);
    expect(of(eventsOf(items), '3', 'truncate', 'restore', 'commit').slice(-3)).toEqual([
      { ev: 'truncate', node: '3', from: 3 },
      { ev: 'restore', node: '3', lastIncludedIndex: 5, lastIncludedTerm: 1, from: '1' },
      { ev: 'commit', node: '3', commitIndex: 5 },
    ]);
  });

  it('ChangeConf → a config entry; ApplyConfChange → config (joint while the outgoing voters are non-empty)', async () => {
    const t = new EtcdTrace();
    t.boot('1', ['1'], 2);
    t.ev('BecomeCandidate', '1', { term: 1, vote: '1', role: 'StateCandidate' });
    t.ev('BecomeLeader', '1', { role: 'StateLeader' });
    t.ev('Replicate', '1');
    t.ev('ChangeConf', '1', { log: 3, commit: 3 }, { prop: { cc: { changes: [{ nid: '2', action: 'AddNewServer' }] } } });
    t.ev('Ready', '1', { log: 4, commit: 4 });
    t.ev('ApplyConfChange', '1', {}, { prop: { cc: { newconf: ['1', '2'] } } });
    t.ev('Commit', '1', { conf: [['1', '2'], ['1']] });
    t.ev('Ready', '1', { log: 5, commit: 5 }); // AutoLeave: an untraced config entry (empty change list)
    t.ev('ApplyConfChange', '1', {}, { prop: { cc: { newconf: ['1', '2'] } } });
    t.ev('Ready', '1', { conf: [['1', '2'], []] });
    const items = await run(t.lines);
    expect(errorsOf(items)).toEqual([]);
    expect(of(eventsOf(items), '1', 'append', 'config', 'commit')).toEqual([
      { ev: 'config', node: '1', voters: ['1'] },
      { ev: 'append', node: '1', entries: [{ index: 3, term: 1, kind: 'noop' }] },
      { ev: 'commit', node: '1', commitIndex: 3 },
      { ev: 'append', node: '1', entries: [{ index: 4, term: 1, kind: 'config' }] },
      { ev: 'commit', node: '1', commitIndex: 4 },
      { ev: 'config', node: '1', voters: ['1', '2'], joint: ['1'] },
      { ev: 'append', node: '1', entries: [{ index: 5, term: 1, kind: 'config' }] },
      { ev: 'commit', node: '1', commitIndex: 5 },
      { ev: 'config', node: '1', voters: ['1', '2'] },
    ]);
  });

  it('etcd Bootstrap (StartNode with peers): the log appears at term 1 as committed config entries', async () => {
    const t = new EtcdTrace();
    t.ev('InitState', '1').ev('ApplyConfChange', '1', {}, { prop: { cc: {} } }).ev('BecomeFollower', '1');
    t.ev('BecomeFollower', '1', { term: 1 });
    t.ev('ApplyConfChange', '1', { log: 2, commit: 2 }, { prop: { cc: { newconf: ['1'] } } });
    t.ev('ApplyConfChange', '1', { conf: [['1'], []] }, { prop: { cc: { newconf: ['1', '2'] } } });
    t.ev('Ready', '1', { conf: [['1', '2'], []] });
    const items = await run(t.lines);
    expect(errorsOf(items)).toEqual([]);
    const events = eventsOf(items);
    expect(events[0]).toMatchObject({ ev: 'header', cluster: ['1', '2'] });
    expect(of(events, '1', 'append', 'commit', 'config')).toEqual([
      { ev: 'append', node: '1', entries: [{ index: 1, term: 1, kind: 'config' }, { index: 2, term: 1, kind: 'config' }], bootstrap: true },
      { ev: 'commit', node: '1', commitIndex: 2 },
      { ev: 'config', node: '1', voters: ['1'] },
      { ev: 'config', node: '1', voters: ['1', '2'] },
    ]);
  });

  it('StatePreCandidate (PreVote is not traced) → role precandidate when it first shows', async () => {
    const t = new EtcdTrace();
    t.boot('1', ['1', '2'], 2).boot('2', ['1', '2'], 2);
    t.ev('Ready', '2', { role: 'StatePreCandidate' });
    t.ev('BecomeCandidate', '2', { term: 1, vote: '2', role: 'StateCandidate' });
    t.send('RequestVoteRequest', msg('MsgVote', '2', '1', { logTerm: 1, index: 2 }));
    const events = eventsOf(await run(t.lines));
    expect(of(events, '2', 'role').slice(1)).toEqual([
      { ev: 'role', node: '2', role: 'precandidate', term: 0 },
      expect.objectContaining({ ev: 'role', role: 'candidate', term: 1 }),
    ]);
  });

  it('MsgPreVote / MsgPreVoteResp, if traced, map to RequestVote / RequestVoteResponse with preVote: true', async () => {
    const t = new EtcdTrace();
    t.boot('1', ['1', '2'], 2).boot('2', ['1', '2'], 2);
    t.send('RequestVoteRequest', msg('MsgPreVote', '2', '1', { logTerm: 1, index: 2 }), { role: 'StatePreCandidate' });
    t.recv('RequestVoteRequest', msg('MsgPreVote', '2', '1', { logTerm: 1, index: 2 }));
    t.send('RequestVoteResponse', msg('MsgPreVoteResp', '1', '2'));
    const events = eventsOf(await run(t.lines));
    expect(of(events, '1', 'recv', 'send')).toEqual([
      { ev: 'recv', node: '1', from: '2', msg: { type: 'RequestVote', term: 1, candidateId: '2', lastLogIndex: 2, lastLogTerm: 1, preVote: true } },
      { ev: 'send', node: '1', to: '2', msg: { type: 'RequestVoteResponse', term: 1, voteGranted: true, preVote: true } },
    ]);
  });

  it('marks a stale MsgApp (prevLogIndex < commitIndex): etcd answers with its commitIndex and appends nothing', async () => {
    const t = electedCluster();
    t.ev('Replicate', '1');
    t.send('AppendEntriesRequest', msg('MsgApp', '1', '2', { entries: 2, logTerm: 1, index: 2, commit: 3 }), { log: 4 });
    t.recv('AppendEntriesRequest', msg('MsgApp', '1', '2', { entries: 2, logTerm: 1, index: 2, commit: 3 }), { commit: 3 });
    t.send('AppendEntriesResponse', msg('MsgAppResp', '2', '1', { index: 3 }));
    const events = eventsOf(await run(t.lines));
    expect(of(events, '2').slice(-3)).toEqual([
      { ev: 'commit', node: '2', commitIndex: 3 },
      expect.objectContaining({ ev: 'recv', from: '1', stale: true }),
      { ev: 'send', node: '2', to: '1', msg: { type: 'AppendEntriesResponse', term: 1, success: true, matchIndex: 3, stale: true } },
    ]);
  });

  it('marks a higher-term RequestVote that the node ignored (leader lease) and answers of older terms as failures', async () => {
    const t = electedCluster();
    t.recv('RequestVoteRequest', msg('MsgVote', '3', '2', { term: 2, logTerm: 1, index: 2 }));
    t.ev('Ready', '2'); // still term 1: ignored
    t.recv('AppendEntriesRequest', msg('MsgHeartbeat', '3', '2', { term: 0, commit: 2 }));
    t.send('AppendEntriesResponse', msg('MsgAppResp', '2', '3', { term: 1 }));
    const events = eventsOf(await run(t.lines));
    // (neither message has a Send record, and neither fits its sender's term: `unsent`)
    expect(of(events, '2', 'recv', 'send', 'role').slice(-3)).toEqual([
      expect.objectContaining({ ev: 'recv', from: '3', ignored: true, unsent: true }),
      expect.objectContaining({ ev: 'recv', from: '3', unsent: true }),
      { ev: 'send', node: '2', to: '3', msg: { type: 'AppendEntriesResponse', term: 1, success: false } },
    ]);
  });

  it('a message delivered without a Send record (the harness) is received, marked unsent; no send is invented', async () => {
    const t = electedCluster();
    t.recv('AppendEntriesRequest', msg('MsgSnap', '1', '3', { entries: 3 }));
    t.ev('ApplyConfChange', '3', { log: 3, commit: 3, conf: [[], []] }, { prop: { cc: { newconf: ['1', '2', '3'] } } });
    t.send('AppendEntriesResponse', msg('MsgAppResp', '3', '1', { index: 3 }), { conf: [['1', '2', '3'], []] });
    const items = await run(t.lines);
    expect(errorsOf(items)).toEqual([]);
    const events = eventsOf(items);
    const is = { type: 'InstallSnapshot', term: 1, leaderId: '1', lastIncludedIndex: 3, lastIncludedTerm: 1 };
    expect(events.filter((e) => (e['msg'] as Msg | undefined)?.type === 'InstallSnapshot').map(({ ts: _ts, ...e }) => e)).toEqual([
      { ev: 'recv', node: '3', from: '1', msg: is, unsent: true },
    ]);
    expect(of(events, '3', 'restore')).toEqual([{ ev: 'restore', node: '3', lastIncludedIndex: 3, lastIncludedTerm: 1, from: '1' }]);
    expect(figure2Problems(events)).toEqual([]);
  });

  it('a second InitState of a node is a restart: crash, then init with the log it kept', async () => {
    const t = electedCluster();
    t.ev('InitState', '2', { term: 1, vote: '1', commit: 2, log: 3, role: 'StateFollower', conf: [[], []] });
    const items = await run(t.lines);
    expect(errorsOf(items)).toEqual([]);
    expect(of(eventsOf(items), '2', 'crash', 'init').slice(-2)).toEqual([
      { ev: 'crash', node: '2' },
      { ev: 'init', node: '2', term: 1, votedFor: '1', lastIndex: 3, lastTerm: 1, snapshotIndex: 2, snapshotTerm: 1, commitIndex: 2, entries: [{ index: 3, term: 1 }] },
    ]);
  });

  it('a node first seen without InitState starts from its first record (marked synthesized)', async () => {
    const t = new EtcdTrace();
    t.ev('Ready', '7', { term: 3, vote: '7', commit: 0, log: 0, conf: [['7'], []] });
    const events = eventsOf(await run(t.lines));
    expect(of(events, '7')).toEqual([{ ev: 'init', node: '7', term: 3, votedFor: '7', lastIndex: 0, lastTerm: 0, snapshotIndex: 0, snapshotTerm: 0, commitIndex: 0, config: { voters: ['7'] }, synthesized: true }]);
  });

  it('marks a term resting on the bootstrap convention as assumed', async () => {
    const t = new EtcdTrace();
    t.boot('1', ['1', '2'], 2);
    const events = eventsOf(await run(t.lines));
    expect(of(events, '1', 'init')).toEqual([
      { ev: 'init', node: '1', term: 0, votedFor: null, lastIndex: 2, lastTerm: 1, snapshotIndex: 2, snapshotTerm: 1, commitIndex: 2, assumed: ['snapshotTerm', 'lastTerm'] },
    ]);
    // and no `state` is claimed from it
    expect(of(events, '1', 'role')).toEqual([{ ev: 'role', node: '1', role: 'follower', term: 0 }]);
  });

  it('reads byte streams (chunked, CRLF) like the reader, and drops zap records that are not traces', async () => {
    const lines = electedCluster().lines;
    const text = ['{"level":"info","ts":1,"msg":"raft.node: 1 elected leader"}', ...lines].join('\r\n');
    const bytes = Buffer.from(text, 'utf8');
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 7) chunks.push(bytes.subarray(i, i + 7));
    const fromStream: TraceLine[] = [];
    for await (const item of importEtcd(Readable.from(chunks), { file: 'test.ndjson' })) fromStream.push(item);
    const fromLines = await run(lines);
    expect(errorsOf(fromStream)).toEqual([]);
    // same events; the stream's line numbers are one more (the log line)
    expect(eventsOf(fromStream)).toEqual(eventsOf(fromLines));
    expect(fromStream.map((i) => i.line - 1).slice(1)).toEqual(fromLines.map((i) => i.line).slice(1));
  });
});

// ---------------------------------------------------------------------------------------------

describe('etcd importer: input errors', () => {
  const good = electedCluster().lines;

  async function errorsFor(line: string): Promise<{ line: number; path: string; message: string; file: string }[]> {
    const items = await run([good[0] ?? '', line], 'bad.ndjson');
    return items.flatMap((i) => ('error' in i ? [{ line: i.line, ...(i.error as EtcdLineError) }] : []));
  }

  function record(mutate: (r: { event: Record<string, unknown> }) => void): string {
    const r = JSON.parse(good[3] ?? '{}') as { event: Record<string, unknown> };
    mutate(r);
    return JSON.stringify(r);
  }

  it('a line that is not JSON', async () => {
    expect(await errorsFor('{"level":"debug","tag":"trace",')).toEqual([{ line: 2, file: 'bad.ndjson', path: '$', message: expect.stringMatching(/^not valid JSON/) }]);
    expect(await errorsFor('[1,2]')).toEqual([{ line: 2, file: 'bad.ndjson', path: '$', message: 'expected a zap log record (a JSON object), got an array' }]);
  });

  it('a missing event.name, an unknown event name, a wrong type of state.term', async () => {
    expect(await errorsFor(record((r) => delete r.event['name']))).toEqual([{ line: 2, file: 'bad.ndjson', path: '$.event.name', message: 'missing required field (expected a string)' }]);
    expect(await errorsFor(record((r) => (r.event['name'] = 'BecomeWizard')))).toEqual([
      { line: 2, file: 'bad.ndjson', path: '$.event.name', message: expect.stringMatching(/^unknown etcd trace event "BecomeWizard" \(expected one of InitState, /) },
    ]);
    expect(await errorsFor(record((r) => ((r.event['state'] as Record<string, unknown>)['term'] = '1')))).toEqual([
      { line: 2, file: 'bad.ndjson', path: '$.event.state.term', message: 'expected an integer ≥ 0, got "1"' },
    ]);
  });

  it('other missing or malformed fields, each named by its path', async () => {
    expect((await errorsFor(record((r) => delete r.event['conf']))).map((e) => e.path)).toEqual(['$.event.conf']);
    expect((await errorsFor(record((r) => (r.event['role'] = 'StateWizard')))).map((e) => e.path)).toEqual(['$.event.role']);
    expect((await errorsFor(record((r) => (r.event['log'] = -1)))).map((e) => e.path)).toEqual(['$.event.log']);
    expect((await errorsFor('{"tag":"trace"}')).map((e) => e.path)).toEqual(['$.event']);
    const send = JSON.parse(good.find((l) => l.includes('"SendRequestVoteRequest"')) ?? '{}') as { event: Record<string, unknown> };
    const withMsg = (m: Record<string, unknown> | undefined): string => JSON.stringify({ ...send, event: { ...send.event, msg: m } });
    expect((await errorsFor(withMsg(undefined))).map((e) => e.path)).toEqual(['$.event.msg']);
    expect((await errorsFor(withMsg({ ...(send.event['msg'] as object), type: 'MsgBogus' }))).map((e) => e.path)).toEqual(['$.event.msg.type']);
    expect((await errorsFor(withMsg({ ...(send.event['msg'] as object), type: 'MsgApp' }))).map((e) => e.message)).toEqual([
      'a SendRequestVoteRequest event cannot carry a MsgApp (expected one of MsgVote, MsgPreVote)',
    ]);
    expect((await errorsFor(withMsg({ ...(send.event['msg'] as object), from: '3' }))).map((e) => e.path)).toEqual(['$.event.msg.from']);
    expect((await errorsFor(withMsg({ ...(send.event['msg'] as object), index: 'x' }))).map((e) => e.path)).toEqual(['$.event.msg.index']);
  });

  it('records of other zap tags are dropped silently', async () => {
    expect(await errorsFor('{"level":"info","ts":1700000000.5,"msg":"became leader"}')).toEqual([]);
    expect(await errorsFor('{"level":"debug","tag":"raft","event":"anything"}')).toEqual([]);
  });

  it('ts going backwards is reported (and the record still translated)', async () => {
    const t = new EtcdTrace();
    t.boot('1', ['1'], 2);
    const [a, b, c] = t.lines;
    const items = await run([a ?? '', c ?? '', b ?? '']);
    expect(errorsOf(items)).toEqual([expect.stringMatching(/^3 \$\.ts: ts goes backwards/)]);
    expect(eventsOf(items).map((e) => e.ev)).toEqual(['header', 'init', 'config', 'role']);
  });

  it('entries whose terms cannot be inferred are an input error, not a guess', async () => {
    const t = electedCluster();
    t.send('AppendEntriesRequest', msg('MsgApp', '1', '2', { entries: 5, logTerm: 1, index: 3, commit: 3 }));
    expect(errorsOf(await run(t.lines))).toEqual([expect.stringMatching(/\$\.event\.msg\.entries: cannot infer the term of entry 4/)]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('etcd importer: fuzz (never throws; only valid events or located errors)', () => {
  function wellFormed(items: readonly TraceLine[], lineCount: number): void {
    for (const item of items) {
      expect(item.line).toBeGreaterThanOrEqual(1);
      expect(item.line).toBeLessThanOrEqual(Math.max(lineCount, 1));
      if ('error' in item) {
        expect(item.error.path.startsWith('$')).toBe(true);
        expect(item.error.message.length).toBeGreaterThan(0);
        // An importer bug caught by its safety net would read like this: input must never cause one.
        expect(item.error.message).not.toMatch(/^(internal|cannot translate this record)/);
        expect((item.error as EtcdLineError).file).toBe('fuzz');
      } else {
        expect(TraceEvent.safeParse(item.event).success).toBe(true);
      }
    }
  }

  it('random bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), async (bytes) => {
        const items: TraceLine[] = [];
        for await (const item of importEtcd(Readable.from([Buffer.from(bytes)]), { file: 'fuzz' })) items.push(item);
        wellFormed(items, Buffer.from(bytes).toString('latin1').split('\n').length);
        // Random bytes are never an etcd trace record, so nothing but errors comes out.
        expect(items.every((i) => 'error' in i)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('random strings and JSON values', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify({ tag: 'trace', event: v })))), async (lines) => {
        const items = await run(lines, 'fuzz');
        wellFormed(items, lines.length);
      }),
      { numRuns: 300 },
    );
  });

  it('mutated corpus lines', async () => {
    const bases = ['confchange_v2_add_double_auto.ndjson', 'snapshot_succeed_via_app_resp_behind.ndjson', 'checkquorum.ndjson'].map((f) =>
      corpusText(f)
        .split('\n')
        .filter((l) => l.trim() !== ''),
    );
    const paths = ['event.name', 'event.nid', 'event.state.term', 'event.state.vote', 'event.state.commit', 'event.role', 'event.log', 'event.conf', 'event.msg', 'event.msg.type', 'event.msg.index', 'event.msg.entries', 'event.msg.from', 'event.msg.to', 'event.msg.term', 'event.prop.cc.newconf', 'ts', 'tag'];
    const mutation = fc.record({
      at: fc.nat(),
      kind: fc.constantFrom('set', 'delete', 'cut', 'swap', 'duplicate'),
      path: fc.constantFrom(...paths),
      value: fc.jsonValue(),
      cut: fc.nat(),
    });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...bases), fc.array(mutation, { minLength: 1, maxLength: 6 }), async (base, mutations) => {
        const lines = [...base];
        for (const m of mutations) {
          const k = m.at % lines.length;
          const text = lines[k] ?? '';
          if (m.kind === 'cut') lines[k] = text.slice(0, m.cut % (text.length + 1));
          else if (m.kind === 'swap') [lines[k], lines[(k + 1) % lines.length]] = [lines[(k + 1) % lines.length] ?? '', text];
          else if (m.kind === 'duplicate') lines.splice(k, 0, text);
          else {
            let obj: Record<string, unknown>;
            try {
              obj = JSON.parse(text) as Record<string, unknown>;
            } catch {
              continue; // already cut: nothing to set
            }
            const keys = m.path.split('.');
            let target: unknown = obj;
            for (const key of keys.slice(0, -1)) target = typeof target === 'object' && target !== null ? (target as Record<string, unknown>)[key] : undefined;
            if (typeof target === 'object' && target !== null) {
              const last = keys.at(-1) ?? '';
              if (m.kind === 'delete') delete (target as Record<string, unknown>)[last];
              else (target as Record<string, unknown>)[last] = m.value;
            }
            lines[k] = JSON.stringify(obj);
          }
        }
        const items = await run(lines, 'fuzz');
        wellFormed(items, lines.length);
      }),
      { numRuns: 300 },
    );
  });
});
