/**
 * The figure2 CLI, run in-process through runCli with an in-memory io: every command's happy
 * path, and every way of misusing it ending in one line on stderr and exit 2.
 */
import { describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { RULE_IDS, RULES } from '../../spec/rules.ts';
import { runCli } from '../../tools/cli.ts';
import { memoryIo, type MemoryIo } from '../../tools/io.ts';

const FIXTURES = 'test/fixtures';

async function run(argv: string[], io: MemoryIo = memoryIo()): Promise<{ code: number; out: string; err: string; io: MemoryIo }> {
  const code = await runCli(argv, io);
  return { code, out: io.out(), err: io.err(), io };
}

/** A usage or input error: exit 2, exactly one line on stderr, no stack frames. */
function expectOneLineError(result: { code: number; err: string }, pattern: RegExp): void {
  expect(result.code).toBe(2);
  expect(result.err.endsWith('\n')).toBe(true);
  expect(result.err.trimEnd().split('\n')).toHaveLength(1);
  expect(result.err).not.toMatch(/\n\s+at /);
  expect(result.err).toMatch(pattern);
}

describe('figure2 rules', () => {
  it('prints the catalog grouped by group, with every rule ID and its needs', async () => {
    const { code, out, err } = await run(['rules']);
    expect(code).toBe(0);
    expect(err).toBe('');
    for (const id of RULE_IDS) expect(out).toMatch(new RegExp(`^  ${id} `, 'm'));
    expect(out).toMatch(/^RequestVote receiver$/m);
    expect(out).toMatch(/^Membership changes \(§6\)$/m);
    // RV-2's needs have two alternatives: both are shown.
    expect(out).toContain('recv+send+append');
    expect(out).toContain('or recv+send+init+state');
  });

  it('--json prints every rule with every field', async () => {
    const { code, out } = await run(['rules', '--json']);
    expect(code).toBe(0);
    const rules = JSON.parse(out) as { id: string; group: string; section: string; statement: string; needs: string[][] }[];
    expect(rules.map((r) => r.id)).toEqual([...RULE_IDS]);
    expect(rules).toEqual(JSON.parse(JSON.stringify(RULES)));
    expect(Object.keys(rules[0] ?? {}).sort()).toEqual(['group', 'id', 'needs', 'section', 'statement']);
  });
});

describe('figure2 schema', () => {
  it('schema trace prints a JSON Schema naming trace format v1, which accepts the spec example', async () => {
    const { code, out, err } = await run(['schema', 'trace']);
    expect(code).toBe(0);
    expect(err).toBe('');
    const schema = JSON.parse(out) as Record<string, unknown>;
    expect(schema['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema['$id']).toMatch(/trace-format:v1/);
    expect(String(schema['title'])).toMatch(/trace format v1/);
    expect(typeof schema['description']).toBe('string');

    // The generated schema agrees with the Zod schema on real lines (an independent validator).
    const validate = new Ajv2020({ strict: false }).compile(schema);
    const lines = (await import('node:fs')).readFileSync(`${FIXTURES}/valid.ndjson`, 'utf8').split('\n').filter((l) => l.trim() !== '');
    for (const line of lines) expect(validate(JSON.parse(line)), line).toBe(true);
    expect(validate({ ev: 'role', node: 'n1', role: 'leader', term: -1 })).toBe(false);
    expect(validate({ ev: 'nope' })).toBe(false);
  });

  it('schema rpc prints the message schema', async () => {
    const { code, out } = await run(['schema', 'rpc']);
    expect(code).toBe(0);
    const schema = JSON.parse(out) as Record<string, unknown>;
    expect(schema['$schema']).toBeDefined();
    expect(schema['$id']).toMatch(/message/);
    expect(out).toContain('AppendEntriesResponse');
    expect(out).not.toContain('"header"');
  });

  it('--out writes the file and confirms on stdout', async () => {
    const { code, out, io } = await run(['schema', 'trace', '--out', 'trace.schema.json']);
    expect(code).toBe(0);
    expect(out).toMatch(/^wrote trace\.schema\.json \(\d+ bytes\)\n$/);
    const written = io.written.get('trace.schema.json');
    expect(JSON.parse(written ?? '')).toHaveProperty('$schema');
  });

  it('an unknown target exits 2 naming the valid targets', async () => {
    expectOneLineError(await run(['schema', 'wal']), /'wal'.*trace, rpc/);
  });

  it('a write failure is one line, exit 2', async () => {
    const io = memoryIo();
    io.writeFile = async () => {
      throw Object.assign(new Error("EACCES: permission denied, open '/x.json'"), { code: 'EACCES' });
    };
    expectOneLineError(await run(['schema', 'trace', '--out', '/x.json'], io), /^figure2: cannot write \/x\.json: EACCES/);
  });
});

describe('figure2 validate', () => {
  it('accepts a valid trace: exit 0, a one-line summary with counts per kind', async () => {
    const { code, out, err } = await run(['validate', `${FIXTURES}/valid.ndjson`]);
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(out).toBe(
      `${FIXTURES}/valid.ndjson: ok, 12 valid events (header 1, init 1, timeout 1, role 2, send 2, recv 2, append 1, persist 2)\n`,
    );
  });

  it('names file, line 7 and the JSON path of a bad field; exit 2', async () => {
    const { code, out, err } = await run(['validate', `${FIXTURES}/bad-line7.ndjson`]);
    expect(code).toBe(2);
    expect(err).toBe(`${FIXTURES}/bad-line7.ndjson:7: $.msg.term: expected an integer ≥ 0, got -1\n`);
    expect(out).toMatch(/INVALID, 1 error; 7 valid events/);
  });

  it('reports a line that is not JSON with the parser message', async () => {
    const { code, err } = await run(['validate', `${FIXTURES}/invalid-json.ndjson`]);
    expect(code).toBe(2);
    expect(err).toMatch(/^test\/fixtures\/invalid-json\.ndjson:3: \$: not valid JSON: .+\n$/);
  });

  it('rejects a header that is not the first line', async () => {
    const { code, err } = await run(['validate', `${FIXTURES}/header-not-first.ndjson`]);
    expect(code).toBe(2);
    expect(err).toBe(`${FIXTURES}/header-not-first.ndjson:2: $.ev: a header event is allowed only on the first non-blank line of the trace (line 1)\n`);
  });

  it('a missing file is one line, exit 2', async () => {
    expectOneLineError(await run(['validate', 'no/such/trace.ndjson']), /^cannot read no\/such\/trace\.ndjson: ENOENT/);
  });

  it('reports the first N errors then how many more', async () => {
    const bad = Array.from({ length: 30 }, (_, i) => `{"ev":"commit","node":"n1","commitIndex":${-1 - i}}`).join('\n');
    const io = memoryIo({ 'many.ndjson': `${bad}\n` });
    const { code, err } = await run(['validate', '--max-errors', '5', 'many.ndjson'], io);
    expect(code).toBe(2);
    const lines = err.trimEnd().split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[0]).toBe('many.ndjson:1: $.commitIndex: expected an integer ≥ 0, got -1');
    expect(lines[5]).toBe('many.ndjson: ... and 25 more errors');
  });

  it('defaults to 20 reported errors', async () => {
    const bad = Array.from({ length: 25 }, () => '{"ev":"crash"}').join('\n');
    const { err } = await run(['validate', 'x.ndjson'], memoryIo({ 'x.ndjson': bad }));
    expect(err.trimEnd().split('\n')).toHaveLength(21);
    expect(err).toContain('x.ndjson:20: $.node: missing required field (expected a string)');
    expect(err).toContain('... and 5 more errors');
  });

  it('--max-line-bytes rejects longer lines without parsing them', async () => {
    const io = memoryIo({ 't.ndjson': `{"ev":"crash","node":"${'n'.repeat(100)}"}\n{"ev":"crash","node":"n1"}\n` });
    const { code, err, out } = await run(['validate', '--max-line-bytes', '64', 't.ndjson'], io);
    expect(code).toBe(2);
    expect(err).toBe('t.ndjson:1: $: line is longer than 64 bytes (--max-line-bytes); not parsed\n');
    expect(out).toContain('1 valid event (crash 1)');
  });

  it('--json prints {files:[{file, events, byKind, errors}], ok} and nothing on stderr', async () => {
    const { code, out, err } = await run(['validate', '--json', `${FIXTURES}/valid.ndjson`, `${FIXTURES}/bad-line7.ndjson`]);
    expect(code).toBe(2);
    expect(err).toBe('');
    const report = JSON.parse(out) as { ok: boolean; files: { file: string; events: number; byKind: Record<string, number>; errors: unknown[]; errorCount: number }[] };
    expect(report.ok).toBe(false);
    expect(report.files).toHaveLength(2);
    expect(report.files[0]).toEqual({
      file: `${FIXTURES}/valid.ndjson`,
      events: 12,
      byKind: { header: 1, init: 1, timeout: 1, role: 2, send: 2, recv: 2, append: 1, persist: 2 },
      errors: [],
      errorCount: 0,
    });
    expect(report.files[1]?.errors).toEqual([{ line: 7, path: '$.msg.term', message: 'expected an integer ≥ 0, got -1' }]);
  });

  it('--json of valid files says ok and exits 0', async () => {
    const { code, out } = await run(['validate', '--json', `${FIXTURES}/valid.ndjson`]);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ ok: true, files: [{ events: 12, errors: [] }] });
  });

  it('--json reports an unreadable file as readError', async () => {
    const { code, out } = await run(['validate', '--json', 'missing.ndjson']);
    expect(code).toBe(2);
    const report = JSON.parse(out) as { ok: boolean; files: { readError?: string }[] };
    expect(report.ok).toBe(false);
    expect(report.files[0]?.readError).toMatch(/^cannot read missing\.ndjson: ENOENT/);
  });

  it('a bad --max-errors value is a usage error', async () => {
    expectOneLineError(await run(['validate', '--max-errors', 'lots', 'x.ndjson']), /--max-errors takes an integer ≥ 0, got "lots"/);
  });
});

describe('figure2 chart', () => {
  it('prints the server statechart as Mermaid by default', async () => {
    const { code, out, err } = await run(['chart']);
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(out.startsWith('stateDiagram-v2\n')).toBe(true);
    for (const role of ['follower', 'candidate', 'leader']) expect(out).toContain(role);
  });

  it('--format dot and --format json', async () => {
    const dot = await run(['chart', '--format', 'dot']);
    expect(dot.code).toBe(0);
    expect(dot.out).toMatch(/^\/\/ generated by figure2 chart.*\ndigraph "server" \{/);
    const json = await run(['chart', '--format', 'json']);
    expect(json.code).toBe(0);
    const graph = JSON.parse(json.out) as { states: { id: string }[]; transitions: unknown[] };
    expect(graph.states.map((s) => s.id)).toContain('server.up.leader');
    expect(graph.transitions.length).toBeGreaterThan(10);
  });

  it('--out writes the chart', async () => {
    const { code, io } = await run(['chart', '--format', 'mermaid', '--out', 'chart.mmd']);
    expect(code).toBe(0);
    expect(io.written.get('chart.mmd')).toMatch(/^stateDiagram-v2/);
  });

  it('an unknown format exits 2 naming the valid ones', async () => {
    expectOneLineError(await run(['chart', '--format', 'svg']), /'svg'.*mermaid, dot, json/);
  });
});

describe('usage errors', () => {
  it('an unknown command: one line, exit 2, lists the commands', async () => {
    const result = await run(['frobnicate']);
    expectOneLineError(result, /^figure2: unknown command 'frobnicate' \(commands: rules, schema, validate, chart, explore, simulate, check, conform, record, node, cluster, wal, mutate\); see 'figure2 --help'$/m);
    expect(result.out).toBe('');
  });

  it('help for an unknown command: one line, exit 2', async () => {
    expectOneLineError(await run(['help', 'frobnicate']), /^figure2: unknown command 'frobnicate'/);
    const help = await run(['help', 'validate']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: figure2 validate');
  });

  it('a misspelt command gets a suggestion', async () => {
    expectOneLineError(await run(['valdiate', 'x']), /unknown command 'valdiate'.*Did you mean validate\?/);
  });

  it('a bad flag: one line, exit 2, points at the command help', async () => {
    expectOneLineError(await run(['rules', '--jsno']), /^figure2: unknown option '--jsno' \(Did you mean --json\?\); see 'figure2 rules --help'$/m);
  });

  it('a missing argument: one line, exit 2', async () => {
    expectOneLineError(await run(['validate']), /missing required argument 'file'/);
    expectOneLineError(await run(['schema']), /missing required argument 'target'/);
  });

  it('extra arguments: one line, exit 2', async () => {
    expectOneLineError(await run(['rules', 'extra']), /too many arguments/);
  });

  it('no command at all: one line, exit 2', async () => {
    expectOneLineError(await run([]), /^figure2: no command given/);
  });

  it('--help works on the program and on every command, exit 0', async () => {
    const top = await run(['--help']);
    expect(top.code).toBe(0);
    for (const name of ['rules', 'schema', 'validate', 'chart']) expect(top.out).toContain(name);
    for (const [name, flag] of [['rules', '--json'], ['schema', '--out'], ['validate', '--max-line-bytes'], ['chart', '--format']] as const) {
      const help = await run([name, '--help']);
      expect(help.code, name).toBe(0);
      expect(help.out).toContain(`Usage: figure2 ${name}`);
      expect(help.out).toContain(flag);
      expect(help.err).toBe('');
    }
  });

  it('--version prints the package version', async () => {
    const { code, out } = await run(['--version']);
    expect(code).toBe(0);
    expect(out).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('an internal error is one line that says it is a bug', async () => {
    // Nothing a user does makes a command fail this way: a stdout that throws stands in for a bug.
    const broken = memoryIo();
    broken.stdout = () => {
      throw new TypeError('stdout exploded\nsecond line');
    };
    const result = await run(['rules'], broken);
    expectOneLineError(result, /^figure2: internal error \(this is a bug in figure2.*\): stdout exploded second line$/m);
  });
});
