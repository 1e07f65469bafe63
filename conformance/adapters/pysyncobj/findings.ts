/**
 * The PySyncObj findings of docs/targets/pysyncobj.md as directed scenarios: each drives the real
 * PySyncObj through the cut to the situation a finding needs, then runs the trace checker and the
 * linearizability checker over the whole trace. Real time decides the details, so each scenario is
 * run several times and the report says how often it reproduced.
 *
 *   npx tsx conformance/adapters/pysyncobj/findings.ts <finding|all> [attempts] [--out trace.ndjson] [--fifo|--jitter]
 *
 * --fifo: every link FIFO (a constant delay), as over PySyncObj's TCP transport; --jitter: the
 * routed network's default 1–4 ms delays, which can reorder messages on a link.
 *
 * Findings: term-not-persisted, stale-append, snapshot-commit, compaction-crash, leader-changed.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TraceEvent } from '../../../spec/schemas/trace-events.ts';
import { TraceChecker } from '../../../traces/checker/checker.ts';
import type { LocatedEvent } from '../../../traces/checker/types.ts';
import { checkClientHistory } from '../../../traces/linearizability/index.ts';
import { PySyncObjCluster, probePySyncObj } from '../pysyncobj.ts';

/** A cut with the helpers every scenario needs. */
class Run {
  readonly cut: PySyncObjCluster;
  readonly events: TraceEvent[] = [];

  constructor(seed: number, fifo: boolean, leaderChangedIsFailure: boolean) {
    const options = {
      seed,
      nodes: 3,
      clients: 3,
      keys: 2,
      tickMs: 10,
      electionTimeoutTicks: { min: 15, max: 30 },
      heartbeatIntervalTicks: 3,
      lossProbability: 0,
      duplicateProbability: 0,
      reorderProbability: 0,
      dataDir: mkdtempSync(join(tmpdir(), 'figure2-pysyncobj-finding-')),
    };
    // FIFO links (a constant delay) are what PySyncObj's TCP transport gives it.
    this.cut = new PySyncObjCluster(options, probePySyncObj() ?? 'unknown', { ...(fifo ? { delayMs: { min: 2, max: 2 } } : {}), leaderChangedIsFailure });
  }

  collect(): void {
    this.events.push(...this.cut.collectEvents());
  }

  async until(what: string, done: () => boolean, ticks = 500): Promise<void> {
    for (let i = 0; i < ticks; i++) {
      this.collect();
      if (done()) return;
      await this.cut.advance(1);
    }
    throw new Error(`timed out waiting for ${what}: ${JSON.stringify(this.cut.view().nodes)}`);
  }

  leader(among?: readonly string[]): string | undefined {
    const leaders = this.cut.view().nodes.filter((n) => n.up && n.role === 'leader' && (among === undefined || among.includes(n.id)));
    return leaders.length === 1 ? leaders[0]?.id : undefined;
  }

  ids(): string[] {
    return this.cut.view().nodes.map((n) => n.id);
  }

  appended(node: string, index: number): boolean {
    return this.events.some((e) => e.ev === 'append' && e.node === node && e.entries.some((x) => x.index === index));
  }

  /** Starts the cluster and waits for a leader whose no-op every node has committed. */
  async elected(): Promise<string> {
    await this.cut.start();
    await this.until('a leader, its no-op committed everywhere', () => this.leader() !== undefined && this.cut.view().nodes.every((n) => n.commitIndex >= 1));
    return this.leader() as string;
  }

  async op(client: number, node: string, op: Parameters<PySyncObjCluster['clientOp']>[0]['op']): Promise<void> {
    await this.cut.clientOp({ client, node, op });
    await this.until(`client c${client + 1}'s ${op.kind}`, () => this.cut.view().idleClients.includes(client));
  }

  async stop(): Promise<void> {
    this.collect();
    await this.cut.stop();
    this.collect();
  }
}

interface Verdict {
  readonly linearizable: string;
  readonly lines: readonly string[];
}

function verdict(events: readonly TraceEvent[]): Verdict {
  const located: LocatedEvent[] = events.map((event, i) => ({ file: 'finding', line: i + 1, event }));
  const checker = new TraceChecker();
  for (const l of located) checker.feed(l);
  const violations = checker.finish().violations;
  const lin = checkClientHistory(located.filter((l) => ['invoke', 'ok', 'fail', 'info'].includes(l.event.ev))).result;
  const first = new Map<string, string>();
  for (const v of violations) {
    const key = v.rule === 'P-2' ? `P-2 ${v.message.includes('its log') ? 'log' : 'vote'}` : v.rule;
    if (!first.has(key)) first.set(key, `${v.rule} line ${v.at.line}: ${v.message}`);
  }
  if (lin.verdict === 'not-linearizable') first.set('CL-LIN', `CL-LIN: ${lin.message ?? ''}`);
  return { linearizable: lin.verdict, lines: [...first.values()] };
}

interface Finding {
  readonly name: string;
  readonly fifo: boolean;
  /** The client believes config.py's word on LEADER_CHANGED (a failure). */
  readonly trustDocs?: boolean;
  /** Drives the cluster; returns whether the situation the finding needs came about. */
  readonly drive: (run: Run) => Promise<boolean>;
  /** The rules that show the finding when it reproduces. */
  readonly shows: readonly string[];
  /** A verdict line that proves it (P-2 alone would not: every restart shows it, for the term). */
  readonly proof: RegExp;
}

const FINDINGS: readonly Finding[] = [
  {
    // currentTerm and votedFor live in memory only (syncobj.py:156-157): restarted nodes re-run term 1.
    name: 'term-not-persisted',
    fifo: true,
    shows: ['M-TERM', 'P-2', 'S-ES', 'S-LM', 'S-SMS', 'CL-LIN'],
    proof: /^S-SMS /,
    drive: async (run) => {
      const leader = await run.elected();
      const [a, b] = run.ids().filter((x) => x !== leader) as [string, string];
      await run.cut.crash(a);
      await run.cut.crash(b);
      await run.cut.clientOp({ client: 0, node: leader, op: { kind: 'put', key: 'k', value: 'never-committed' } });
      await run.until(`${leader} appends entry 2`, () => run.appended(leader, 2));
      await run.cut.crash(leader);
      await Promise.all([run.cut.restart(a), run.cut.restart(b)]);
      await run.until('a leader among the restarted nodes', () => run.leader([a, b]) !== undefined);
      const second = run.leader([a, b]) as string;
      if (run.cut.view().nodes.find((n) => n.id === second)?.term !== 1) return false; // a split vote moved past term 1
      await run.op(1, second, { kind: 'put', key: 'other', value: 'x' });
      await run.cut.restart(leader);
      await run.cut.settle(1000);
      await run.op(0, leader, { kind: 'get', key: 'k' });
      await run.op(2, second, { kind: 'get', key: 'k' });
      return true;
    },
  },
  {
    // A stale AppendEntries truncates after prevLogIdx whatever follows (syncobj.py:890-898).
    name: 'stale-append',
    fifo: true,
    shows: ['AE-3', 'S-LC', 'S-SMS', 'CL-LIN'],
    proof: /^S-SMS /,
    drive: async (run) => {
      const leader = await run.elected();
      const [a, b] = run.ids().filter((x) => x !== leader) as [string, string];
      const heartbeat = (): string | undefined => {
        const e = run.events.findLast((x) => x.ev === 'send' && x.node === leader && x.to === a && x.msg.type === 'AppendEntries' && x.msg.prevLogIndex === 1 && x.msg.entries.length === 0);
        return e?.ev === 'send' ? String((e.msg as { id?: unknown }).id) : undefined;
      };
      await run.until(`a heartbeat ${leader}→${a}`, () => heartbeat() !== undefined);
      const stale = heartbeat() as string;
      await run.cut.partition([[leader, a], [b]]);
      await run.op(0, leader, { kind: 'put', key: 'k', value: 'v1' });
      await run.until(`${a} knows entry 2 committed`, () => (run.cut.view().nodes.find((n) => n.id === a)?.commitIndex ?? 0) >= 2);
      await run.cut.partitionOneWay(leader, a);
      run.cut.replay(stale); // a duplicate of the old heartbeat, delivered late
      await run.cut.advance(5);
      await run.cut.partition([[leader], [a, b]]);
      await run.until('a new leader', () => run.leader([a, b]) !== undefined, 600);
      const next = run.leader([a, b]) as string;
      await run.cut.settle(1500);
      await run.op(1, next, { kind: 'get', key: 'k' });
      return true;
    },
  },
  {
    // Every append_entries of the leader's term sets commitIndex = min(commit_index, own last
    // index), the snapshot chunks included, with no log check (syncobj.py:915-922).
    name: 'snapshot-commit',
    // With FIFO links both chunks often reach the node in one read, handled in one tick: about 1
    // attempt in 5 then shows it (--fifo); with the target's default network, nearly every one.
    fifo: false,
    shows: ['S-SMS', 'CL-LIN'],
    proof: /^S-SMS /,
    drive: async (run) => {
      const old = await run.elected();
      const others = run.ids().filter((x) => x !== old);
      await run.cut.partition([[old], others]);
      await run.cut.clientOp({ client: 0, node: old, op: { kind: 'put', key: 'x', value: 'never-committed' } });
      await run.until(`${old} appends entry 2`, () => run.appended(old, 2));
      await run.until('a new leader', () => run.leader(others) !== undefined);
      const leader = run.leader(others) as string;
      for (let i = 0; i < 3; i++) await run.op(1, leader, { kind: 'put', key: 'k', value: `committed-${i}` });
      await run.until(`${leader} applies entry 5`, () => run.events.some((e) => e.ev === 'apply' && e.node === leader && e.index === 5));
      if ((await run.cut.snapshot(leader)) !== true) return false;
      await run.cut.heal();
      await run.cut.settle(800);
      await run.op(2, leader, { kind: 'get', key: 'x' });
      return true;
    },
  },
  {
    // A dump written, the journal not yet compacted (syncobj.py:1298-1301 one tick after 1343):
    // at restart __loadDumpFile finds them mismatched and clears the journal (syncobj.py:1362-1368).
    name: 'compaction-crash',
    fifo: true,
    shows: ['P-2'],
    proof: /^P-2 .*restarted with its log ending at/,
    drive: async (run) => {
      const leader = await run.elected();
      const follower = run.ids().find((x) => x !== leader) as string;
      for (let i = 0; i < 3; i++) await run.op(0, leader, { kind: 'put', key: 'k', value: `v${i}` });
      await run.until('entry 4 committed everywhere', () => run.cut.view().nodes.every((n) => n.commitIndex >= 4));
      await run.cut.clientOp({ client: 1, node: leader, op: { kind: 'put', key: 'k', value: 'acknowledged' } });
      await run.until(`${follower} appends entry 5`, () => run.appended(follower, 5));
      await run.cut.partitionOneWay(leader, follower); // it never learns that entry 5 committed
      await run.cut.advance(3);
      const compacting = run.cut.snapshot(follower);
      await new Promise((resolve) => setTimeout(resolve, 3 + Math.random() * 4));
      await run.cut.crash(follower);
      await compacting;
      await run.cut.heal();
      await run.cut.restart(follower);
      await run.cut.settle(800);
      return true;
    },
  },
  {
    // LEADER_CHANGED is raised for forwarded commands whose reply is pending (syncobj.py:1119-1122);
    // config.py:8 documents it as "leader has changed without command commit".
    name: 'leader-changed',
    fifo: true,
    // The client takes LEADER_CHANGED for a failure, as documented: its history is then not
    // linearizable — the write it was told failed is read back.
    trustDocs: true,
    shows: ['CL-LIN'],
    proof: /^CL-LIN/,
    drive: async (run) => {
      const leader = await run.elected();
      const [follower, other] = run.ids().filter((x) => x !== leader) as [string, string];
      await run.cut.partitionOneWay(leader, follower);
      await run.op(0, follower, { kind: 'put', key: 'k', value: 'v1' });
      await run.cut.settle(1000);
      await run.op(1, other, { kind: 'get', key: 'k' });
      return true;
    },
  },
];

/** LEADER_CHANGED outcomes whose command was applied anyway (not a rule of the catalog: an API finding). */
function leaderChangedApplied(events: readonly TraceEvent[]): string[] {
  const applied = new Set(events.flatMap((e) => (e.ev === 'apply' && e.digest !== undefined ? [e.digest] : [])));
  const reported = (e: TraceEvent): boolean => (e.ev === 'info' || e.ev === 'fail') && (e.error ?? '').startsWith('LEADER_CHANGED');
  return events.flatMap((e) => (reported(e) && (e.ev === 'info' || e.ev === 'fail') && applied.has(`${String(e.client)}#${String(e.opId)}`) ? [`${String(e.client)}#${String(e.opId)}`] : []));
}

async function attempt(f: Finding, seed: number, fifo: boolean): Promise<{ reproduced: boolean; events: TraceEvent[]; lines: readonly string[] }> {
  const run = new Run(seed, fifo, f.trustDocs === true);
  let arrived = false;
  let failure = '';
  try {
    arrived = await f.drive(run);
  } catch (err) {
    failure = err instanceof Error ? err.message : String(err);
  }
  await run.stop();
  const v = verdict(run.events);
  const lc = leaderChangedApplied(run.events);
  const lines = [...v.lines, ...lc.map((d) => `LEADER_CHANGED-applied: ${d} ended LEADER_CHANGED, yet was applied`), ...(failure === '' ? [] : [`(scenario: ${failure})`])];
  return { reproduced: arrived && lines.some((l) => f.proof.test(l)), events: run.events, lines };
}

async function main(argv: readonly string[]): Promise<void> {
  const [which = 'all', attemptsText = '3'] = argv.filter((a) => !a.startsWith('--'));
  const outAt = argv.indexOf('--out');
  const out = outAt >= 0 ? argv[outAt + 1] : undefined;
  const chosen = FINDINGS.filter((f) => which === 'all' || f.name === which);
  if (chosen.length === 0) throw new Error(`no finding ${which} (known: ${FINDINGS.map((f) => f.name).join(', ')})`);
  for (const f of chosen) {
    let hits = 0;
    const attempts = Number(attemptsText);
    for (let i = 0; i < attempts; i++) {
      const fifo = argv.includes('--fifo') ? true : argv.includes('--jitter') ? false : f.fifo;
      const r = await attempt(f, 1000 + i, fifo);
      console.log(`${f.name} #${i + 1}: ${r.reproduced ? 'reproduced' : 'not reproduced'}`);
      for (const line of r.lines) console.log(`    ${line.slice(0, 300)}`);
      if (r.reproduced && hits++ === 0 && out !== undefined) writeFileSync(out, r.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    }
    console.log(`${f.name}: reproduced ${hits} of ${attempts} (shows ${f.shows.join(', ')})\n`);
  }
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').slice(-1)[0] ?? '\u0000')) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  });
}
