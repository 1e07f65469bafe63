/**
 * `figure2 check`, in-process with an in-memory io: exit codes (0 clean, 1 violations, 2 bad
 * input or flags, 3 an undecided Jepsen history), the text and --json reports, --junit, --merge,
 * --max-violations, the importers, and bad input reported as `FILE:LINE: PATH: MESSAGE`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RULE_IDS } from '../../spec/rules.ts';
import type { CheckReport } from '../../traces/checker/types.ts';
import { buildProgram, runCli } from '../../tools/cli.ts';
import { registerCheck } from '../../tools/commands/check.ts';
import { memoryIo, UsageError, type MemoryIo } from '../../tools/io.ts';
import { CORPUS, CORPUS_MISSING, corpusPresent } from '../support/corpus.ts';

const SAMPLES = 'traces/samples';
const VALID = `${SAMPLES}/valid/sim-network-faults.ndjson`;
const AE3 = `${SAMPLES}/violations/AE-3-truncate-without-conflict.ndjson`;
const JEPSEN = `${CORPUS}/jepsen-histories`;
const ETCD = `${CORPUS}/etcd-raft-traces`;

/** Whether tools/cli.ts registers `check` yet; until it does, the same program is built here with it. */
const registered = buildProgram(memoryIo(), () => {}).commands.some((c) => c.name() === 'check');

async function run(argv: readonly string[], io: MemoryIo = memoryIo()): Promise<{ code: number; out: string; err: string; io: MemoryIo }> {
  let code: number;
  if (registered) {
    code = await runCli(['check', ...argv], io);
  } else {
    code = 0;
    const setExit = (c: number): void => {
      code = c;
    };
    const program = buildProgram(io, setExit);
    registerCheck(program, io, setExit);
    try {
      await program.parseAsync(['check', ...argv], { from: 'user' });
    } catch (err) {
      if (!(err instanceof UsageError) && !(err instanceof Error && 'exitCode' in err)) throw err;
      io.stderr(`figure2: ${err.message}\n`);
      code = 2;
    }
  }
  return { code, out: io.out(), err: io.err(), io };
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

/** A v1 trace from events (one JSON object per line). */
function ndjson(...events: readonly object[]): string {
  return events.map((e) => JSON.stringify(e)).join('\n') + '\n';
}

const header = { ev: 'header', format: 'raft-trace', version: 1, cluster: ['n1', 'n2', 'n3'] };

describe('figure2 check: exit codes and the text report', () => {
  it('exits 0 on a valid trace and prints the summary, the coverage table and the CL-LIN verdict', async () => {
    const { code, out, err } = await run([VALID]);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/^1784 events, 3 nodes, no violations in [\d.]+ s$/m);
    for (const id of RULE_IDS) expect(out).toMatch(new RegExp(`^${id} `, 'm'));
    expect(out).toMatch(/^linearizability \(CL-LIN\): linearizable$/m);
  });

  it('exits 1 on a violation and names the rule, the line, the node, the diff and the context', async () => {
    const { code, out } = await run([AE3]);
    expect(code).toBe(1);
    expect(out).toContain(`1. AE-3 violated at ${AE3}:27 (node n2)`);
    expect(out).toMatch(/^ {3}rule: If an existing entry conflicts/m);
    expect(out).toContain('expected (-) vs actual (+):');
    expect(out).toContain(`   > ${AE3}:27  {"ev":"truncate","node":"n2","from":1}`);
    expect(out).toMatch(/^29 events, 3 nodes, 1 violation \(rule AE-3\) in [\d.]+ s$/m);
    expect(out).toMatch(/^AE-3\s+1\s+1\s+VIOLATED$/m);
  });

  it('exits 1 on a history that is not linearizable', async () => {
    const { code, out } = await run([`${SAMPLES}/violations/CL-LIN-stale-read.ndjson`]);
    expect(code).toBe(1);
    expect(out).toContain('linearizability (CL-LIN): NOT linearizable (key "x")');
    expect(out).toMatch(/1 violation \(rule CL-LIN\)/);
  });

  it('reads several files as one trace, in the order given', async () => {
    const a = ndjson(header, { ev: 'role', node: 'n1', role: 'candidate', term: 1 }, { ev: 'role', node: 'n1', role: 'leader', term: 1 });
    const b = ndjson({ ev: 'role', node: 'n2', role: 'candidate', term: 1 }, { ev: 'role', node: 'n2', role: 'leader', term: 1 });
    const { code, out } = await run(['a.ndjson', 'b.ndjson'], memoryIo({ 'a.ndjson': a, 'b.ndjson': b }));
    expect(code).toBe(1);
    expect(out).toContain('1. S-ES violated at b.ndjson:2 (node n2)');
  });
});

describe('figure2 check --json', () => {
  it('prints the CheckReport with its fields in order', async () => {
    const { code, out } = await run(['--json', AE3]);
    expect(code).toBe(1);
    const report = JSON.parse(out) as CheckReport;
    expect(Object.keys(report)).toEqual(['files', 'events', 'nodes', 'violations', 'truncated', 'coverage', 'linearizability', 'seconds']);
    expect(report.files).toEqual([AE3]);
    expect(report.nodes).toEqual(['n1', 'n2', 'n3']);
    expect(report.violations.map((v) => [v.rule, v.at.line, v.node])).toEqual([['AE-3', 27, 'n2']]);
    expect(report.violations[0]?.context.at(-1)).toEqual({ file: AE3, line: 27, event: { ev: 'truncate', node: 'n2', from: 1 } });
    expect(report.coverage.map((c) => c.rule)).toEqual([...RULE_IDS]);
    expect(report.linearizability.verdict).toBe('no-history');
    expect(typeof report.seconds).toBe('number');
  });

  it('prints input errors as JSON on stdout too', async () => {
    const { code, out, err } = await run(['--json', 'bad.ndjson'], memoryIo({ 'bad.ndjson': '{"ev":\n' }));
    expect(code).toBe(2);
    expect(JSON.parse(out)).toEqual({ inputErrors: [{ file: 'bad.ndjson', line: 1, path: '$', message: expect.stringMatching(/^not valid JSON/) as unknown }] });
    expect(err).toMatch(/^bad\.ndjson:1: \$: not valid JSON/);
  });
});

describe('figure2 check --junit', () => {
  it('writes JUnit XML with one test case per rule and a failure for the violated one', async () => {
    const { code, out, io } = await run(['--junit', 'report.xml', AE3]);
    expect(code).toBe(1);
    expect(out).toContain('JUnit report: report.xml');
    const xml = io.written.get('report.xml') ?? '';
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')).toBe(true);
    expect(xml.match(/<testcase classname="figure2\.rules" /g)).toHaveLength(RULE_IDS.length);
    expect(xml).toMatch(/<testcase classname="figure2\.rules" name="AE-3: If an existing entry[^"]*" time="0">\n {6}<failure message="1 violation, first at [^"]*AE-3-truncate-without-conflict\.ndjson:27" type="AE-3">/);
    expect(xml).toMatch(/name="P-2: [^"]*" time="0">\n {6}<skipped message="not checkable: needs: persist\+crash\+init"\/>/);
    // Balanced: every opened element is closed (the full well-formedness test is report.test.ts's).
    const opened = (xml.match(/<(testsuites|testsuite|testcase|failure|properties)[ >]/g) ?? []).length;
    const selfClosed = (xml.match(/<testcase [^>]*\/>/g) ?? []).length;
    const closed = (xml.match(/<\/(testsuites|testsuite|testcase|failure|properties)>/g) ?? []).length;
    expect(opened - selfClosed).toBe(closed);
  });

  it('with --json, keeps stdout pure JSON', async () => {
    const { out, io } = await run(['--json', '--junit', 'r.xml', VALID]);
    expect(() => JSON.parse(out) as unknown).not.toThrow();
    expect(io.written.get('r.xml')).toContain('<testsuites');
  });
});

describe('figure2 check --max-violations', () => {
  const many = ndjson(
    header,
    { ev: 'role', node: 'n1', role: 'follower', term: 3 },
    { ev: 'role', node: 'n1', role: 'follower', term: 2 },
    { ev: 'role', node: 'n1', role: 'follower', term: 1 },
    { ev: 'role', node: 'n1', role: 'follower', term: 0 },
  );

  it('lists at most N violations, counts them all, and still exits 1', async () => {
    const { code, out } = await run(['--max-violations', '1', '--json', 'm.ndjson'], memoryIo({ 'm.ndjson': many }));
    expect(code).toBe(1);
    const report = JSON.parse(out) as CheckReport;
    expect(report.violations).toHaveLength(1);
    expect(report.truncated).toBe(true);
    expect(report.coverage.find((c) => c.rule === 'M-TERM')?.violated).toBe(3);
    const text = (await run(['--max-violations', '2', 'm.ndjson'], memoryIo({ 'm.ndjson': many }))).out;
    expect(text).toContain('(--max-violations: the first 2 violations of 3 shown');
    expect(text).toMatch(/3 violations \(rule M-TERM\)/);
  });

  it('rejects a count that is not a positive integer', async () => {
    for (const bad of ['0', '-1', 'x', '1.5']) {
      const { code, err } = await run(['--max-violations', bad, VALID]);
      expect(code, bad).toBe(2);
      expect(lines(err), bad).toHaveLength(1);
    }
  });
});

describe('figure2 check --merge', () => {
  const msg = { type: 'RequestVote', term: 1, candidateId: 'n1', lastLogIndex: 0, lastLogTerm: 0 };
  const n1 = ndjson(
    header,
    { ev: 'timeout', node: 'n1', kind: 'election', ts: 1 },
    { ev: 'role', node: 'n1', role: 'candidate', term: 1, ts: 1 },
    { ev: 'persist', node: 'n1', term: 1, votedFor: 'n1', lastIndex: 0, ts: 1 },
    { ev: 'send', node: 'n1', to: 'n2', msg, ts: 1 },
    { ev: 'send', node: 'n1', to: 'n3', msg, ts: 1 },
    { ev: 'recv', node: 'n1', from: 'n2', msg: { type: 'RequestVoteResponse', term: 1, voteGranted: true }, ts: 3 },
    { ev: 'role', node: 'n1', role: 'leader', term: 1, ts: 3 },
  );
  const n2 = ndjson(
    header,
    { ev: 'recv', node: 'n2', from: 'n1', msg, ts: 2 },
    { ev: 'role', node: 'n2', role: 'follower', term: 1, ts: 2 },
    { ev: 'persist', node: 'n2', term: 1, votedFor: 'n1', lastIndex: 0, ts: 2 },
    { ev: 'send', node: 'n2', to: 'n1', msg: { type: 'RequestVoteResponse', term: 1, voteGranted: true }, ts: 2 },
  );

  it('merges per-node files by ts and checks them as one trace', async () => {
    // n2's file first: without the merge, n2 would receive a RequestVote nobody sent yet.
    const io = memoryIo({ 'n2.ndjson': n2, 'n1.ndjson': n1 });
    const { code, out, err } = await run(['--merge', '--json', 'n2.ndjson', 'n1.ndjson'], io);
    expect(err).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(out) as CheckReport;
    expect(report.events).toBe(13);
    expect([...report.files].sort()).toEqual(['n1.ndjson', 'n2.ndjson']);
    expect(report.coverage.find((c) => c.rule === 'C-2')?.checked).toBe(1);
    expect(report.coverage.find((c) => c.rule === 'RV-1')?.checked).toBe(1);
  });

  it('locates violations in the files they come from', async () => {
    const bad = n1.replace('"role":"leader","term":1,"ts":3', '"role":"leader","term":1,"ts":3}\n{"ev":"role","node":"n1","role":"follower","term":0,"ts":4');
    const { code, out } = await run(['--merge', 'n2.ndjson', 'n1.ndjson'], memoryIo({ 'n2.ndjson': n2, 'n1.ndjson': bad }));
    expect(code).toBe(1);
    expect(out).toContain('M-TERM violated at n1.ndjson:9 (node n1)');
    expect(out).toContain('     n1.ndjson:8  {"ev":"role","node":"n1","role":"leader","term":1,"ts":3}');
    expect(out).toContain('   > n1.ndjson:9  {"ev":"role","node":"n1","role":"follower","term":0,"ts":4}');
  });

  it('reports an event without ts, or ts going backwards, as FILE:LINE input errors (exit 2)', async () => {
    const noTs = n2.replace(',"ts":2}\n{"ev":"send"', '}\n{"ev":"send"');
    const backwards = n1.replace('"role":"leader","term":1,"ts":3', '"role":"leader","term":1,"ts":0');
    const { code, err } = await run(['--merge', 'n2.ndjson', 'n1.ndjson'], memoryIo({ 'n2.ndjson': noTs, 'n1.ndjson': backwards }));
    expect(code).toBe(2);
    expect(err).toContain("n2.ndjson:4: $.ts: missing ts: --merge orders the files' events by ts, so every event but the header needs one\n");
    expect(err).toContain('n1.ndjson:8: $.ts: ts 0 is before ts 3 of line 7: --merge needs each file in ts order\n');
  });

  it('names a file it cannot read: one line, exit 2', async () => {
    const { code, err } = await run(['--merge', 'n1.ndjson', 'missing.ndjson'], memoryIo({ 'n1.ndjson': n1 }));
    expect(code).toBe(2);
    expect(lines(err)).toHaveLength(1);
    expect(err).toMatch(/cannot read missing\.ndjson: ENOENT/);
  });

  it('needs several files', async () => {
    const { code, err } = await run(['--merge', VALID]);
    expect(code).toBe(2);
    expect(err).toMatch(/--merge merges several per-node files/);
  });
});

describe('figure2 check: bad input', () => {
  const valid = ndjson(header, { ev: 'role', node: 'n1', role: 'candidate', term: 1 });

  it('invalid JSON: FILE:LINE: PATH: MESSAGE, exit 2', async () => {
    const { code, err, out } = await run(['t.ndjson'], memoryIo({ 't.ndjson': `${valid}{"ev": "role",,}\n` }));
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(lines(err)[0]).toMatch(/^t\.ndjson:3: \$: not valid JSON: /);
    expect(err).toMatch(/nothing was checked\n$/);
  });

  it('a truncated last line', async () => {
    const { code, err } = await run(['t.ndjson'], memoryIo({ 't.ndjson': `${valid}{"ev":"role","node":"n1","ro` }));
    expect(code).toBe(2);
    expect(lines(err)[0]).toMatch(/^t\.ndjson:3: \$: not valid JSON: /);
  });

  it('an unknown event, and a field of the wrong type', async () => {
    const text = `${valid}{"ev":"elect","node":"n1"}\n{"ev":"role","node":"n1","role":"leader","term":-1}\n`;
    const { code, err } = await run(['t.ndjson'], memoryIo({ 't.ndjson': text }));
    expect(code).toBe(2);
    expect(lines(err).slice(0, 2)).toEqual([
      expect.stringMatching(/^t\.ndjson:3: \$\.ev: unknown event type "elect"/) as unknown,
      't.ndjson:4: $.term: expected an integer ≥ 0, got -1',
    ]);
  });

  it('a file that cannot be read: one line, exit 2', async () => {
    const { code, err } = await run(['no-such-file.ndjson']);
    expect(code).toBe(2);
    expect(lines(err)).toHaveLength(1);
    expect(err).toMatch(/cannot read no-such-file\.ndjson: ENOENT/);
  });

  it('bad flags: one line, exit 2', async () => {
    for (const argv of [['--format', 'xml', VALID], ['--model', 'queue', VALID], ['--model', 'register', VALID], ['--budget', '0', VALID]]) {
      const { code, err } = await run(argv);
      expect(code, argv.join(' ')).toBe(2);
      expect(lines(err), argv.join(' ')).toHaveLength(1);
    }
  });
});

describe('figure2 check --format etcd', () => {
  it('imports etcd-io/raft trace events and checks them', async () => {
    const { code, out } = await run(['--format', 'etcd', '--json', `${ETCD}/campaign.ndjson`]);
    // Whether etcd's traces pass is the checker's matter (test/traces/checker.test.ts); here: they are read and checked.
    expect([0, 1]).toContain(code);
    const report = JSON.parse(out) as CheckReport;
    expect(report.events).toBeGreaterThan(10);
    expect(report.nodes.length).toBeGreaterThan(1);
  });

  it('reports a record that is not an etcd trace event as an input error', async () => {
    const { code, err } = await run(['--format', 'etcd', 'e.ndjson'], memoryIo({ 'e.ndjson': '{"tag":"trace","event":{"name":"Nope"}}\n' }));
    expect(code).toBe(2);
    expect(lines(err)[0]).toMatch(/^e\.ndjson:1: \$/);
  });
});

describe('figure2 check --format jepsen', () => {
  it('finds the corpus', () => {
    expect(corpusPresent(), CORPUS_MISSING).toBe(true);
  });
  const verdicts = new Map(
    (corpusPresent() ? readFileSync(`${JEPSEN}/VERDICTS.txt`, 'utf8') : '')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((p): p is [string, string] => p.length === 2),
  );

  it('exits 0 on a linearizable history and 1 on one that is not, as VERDICTS.txt says', async () => {
    for (const name of ['etcd/etcd_000.log', 'etcd/etcd_002.log']) {
      const { code, out } = await run(['--format', 'jepsen', `${JEPSEN}/${name}`]);
      expect(code, name).toBe(verdicts.get(name) === 'linearizable' ? 0 : 1);
      expect(out).toMatch(verdicts.get(name) === 'linearizable' ? /CL-LIN\): linearizable/ : /CL-LIN\): NOT linearizable/);
      // No coverage table: a Jepsen history answers CL-LIN only.
      expect(out).not.toMatch(/^RV-1 /m);
    }
  });

  it('exits 3 when the search budget runs out before a verdict', async () => {
    const { code, out } = await run(['--format', 'jepsen', '--budget', '100', `${JEPSEN}/kv/c50-ok.txt`]);
    expect(code).toBe(3);
    expect(out).toContain('linearizability (CL-LIN): undecided');
  });

  it('--json gives a CheckReport with CL-LIN checked and every other rule not checkable', async () => {
    const { code, out } = await run(['--format', 'jepsen', '--json', `${JEPSEN}/kv/c01-bad.txt`]);
    expect(code).toBe(1);
    const report = JSON.parse(out) as CheckReport;
    expect(report.linearizability.verdict).toBe('not-linearizable');
    expect(report.coverage.filter((c) => c.checkable).map((c) => c.rule)).toEqual(['CL-LIN']);
  });

  it('rejects what a Jepsen check cannot do, and bad histories', async () => {
    const h = `${JEPSEN}/etcd/etcd_002.log`;
    for (const argv of [['--merge', h, h], [h, h], ['--model', 'kv', h]]) {
      const { code, err } = await run(['--format', 'jepsen', ...argv]);
      expect(code, argv.join(' ')).toBe(2);
      expect(lines(err), argv.join(' ')).toHaveLength(1);
    }
    const { code, err } = await run(['--format', 'jepsen', 'h.log'], memoryIo({ 'h.log': 'hello\n' }));
    expect(code).toBe(2);
    expect(lines(err)[0]).toMatch(/^h\.log:1: \$: not a Jepsen history/);
  });
});
