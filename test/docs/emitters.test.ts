/**
 * The guide's emitters (docs/make-your-raft-checkable.md, examples/emitters/) write traces that
 * figure2 accepts: each scripted run, written one file per node, passes `figure2 validate` and
 * the JSON Schema of `figure2 schema trace`, and `figure2 check --merge` finds no violation while
 * checking the rules the run exercises; with `--bug double-vote` it exits 1 naming RV-2 and
 * M-VOTE on n3's second vote.
 *
 * Python and Rust run here (python3 and rustc are on every machine of this kind, CI's included);
 * the Go emitter writes the same events and was verified by hand with Go 1.19 (see the guide).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckReport } from '../../traces/checker/types.ts';
import { runCli } from '../../tools/cli.ts';
import { memoryIo } from '../../tools/io.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const EMITTERS = join(ROOT, 'examples/emitters');
const FILES = ['clients.ndjson', 'n1.ndjson', 'n2.ndjson', 'n3.ndjson'];

/** An executable on PATH, else the first fallback that exists (CI's PATH may lack ~/.cargo/bin). */
function findTool(name: string, fallbacks: readonly string[]): string {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, name))) return join(dir, name);
  }
  return fallbacks.find((f) => existsSync(f)) ?? name;
}

const PYTHON = findTool('python3', ['/usr/bin/python3']);
const RUSTC = findTool('rustc', [join(homedir(), '.cargo/bin/rustc'), '/usr/local/cargo/bin/rustc']);

/** The rules the scripted run exercises: each must be checked at least once, and hold. */
const EXERCISED = [
  'RV-1', 'RV-2', 'AE-1', 'AE-2', 'AE-4', 'AE-5', 'ALL-1', 'ALL-2', 'F-2', 'C-1', 'C-2', 'C-3', 'C-4',
  'L-2', 'L-4', 'P-1', 'S-ES', 'S-LM', 'S-SMS', 'M-TERM', 'M-VOTE', 'M-COMMIT', 'CL-LIN',
];

const LANGUAGES = ['python', 'rust'] as const;
type Language = (typeof LANGUAGES)[number];

let tmp = '';
/** Where each language's runs went: `${tmp}/${lang}-ok` and `${tmp}/${lang}-bug`. */
const out = (lang: Language, variant: 'ok' | 'bug'): string => join(tmp, `${lang}-${variant}`);
const files = (dir: string): string[] => FILES.map((f) => join(dir, f));

async function cli(argv: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIo();
  const code = await runCli(argv, io);
  return { code, out: io.out(), err: io.err() };
}

/** The JSON Schema that `figure2 schema trace` prints, compiled with ajv (an independent validator), once. */
let compiled: ValidateFunction | undefined;
async function schemaValidator(): Promise<ValidateFunction> {
  if (compiled === undefined) {
    const schema = await cli(['schema', 'trace']);
    expect(schema.code).toBe(0);
    compiled = new Ajv2020({ strict: false }).compile(JSON.parse(schema.out) as object);
  }
  return compiled;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'figure2-emitters-'));
  // One compile (unoptimized: a fraction of a second), then both runs of each language.
  const rustBinary = join(tmp, 'raft_trace');
  await run(RUSTC, ['--edition', '2021', '-o', rustBinary, join(EMITTERS, 'rust/raft_trace.rs')], { timeout: 60_000 });
  const command: Record<Language, readonly [string, ...string[]]> = {
    python: [PYTHON, join(EMITTERS, 'python/raft_trace.py')],
    rust: [rustBinary],
  };
  for (const lang of LANGUAGES) {
    const [exe, ...args] = command[lang];
    await run(exe, [...args, '--out', out(lang, 'ok')], { timeout: 30_000 });
    await run(exe, [...args, '--out', out(lang, 'bug'), '--bug', 'double-vote'], { timeout: 30_000 });
  }
}, 120_000);

afterAll(async () => {
  if (tmp !== '') await rm(tmp, { recursive: true, force: true });
});

describe.each(LANGUAGES)('the %s emitter', (lang) => {
  it('writes one file per node plus the client history, each starting with the same header', async () => {
    expect((await readdir(out(lang, 'ok'))).sort()).toEqual(FILES);
    for (const file of files(out(lang, 'ok'))) {
      const first = JSON.parse((await readFile(file, 'utf8')).split('\n')[0] ?? '') as unknown;
      expect(first).toEqual({ ev: 'header', format: 'raft-trace', version: 1, cluster: ['n1', 'n2', 'n3'] });
    }
  });

  it('passes figure2 validate and the JSON Schema of figure2 schema trace', async () => {
    const validated = await cli(['validate', ...files(out(lang, 'ok')), ...files(out(lang, 'bug'))]);
    expect(validated.err).toBe('');
    expect(validated.code).toBe(0);

    const validate = await schemaValidator();
    for (const file of files(out(lang, 'ok'))) {
      const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
      for (const line of lines) expect(validate(JSON.parse(line)), `${file}: ${line}`).toBe(true);
    }
  });

  it('check --merge: no violation, and every rule the run exercises checked', async () => {
    const { code, out: json, err } = await cli(['check', '--merge', '--json', ...files(out(lang, 'ok'))]);
    expect(err).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(json) as CheckReport;
    expect(report.violations).toEqual([]);
    expect(report.nodes).toEqual(['n1', 'n2', 'n3']);
    expect(report.events).toBe(84);
    const checked = report.coverage.filter((c) => c.checked > 0).map((c) => c.rule);
    expect(checked).toEqual(expect.arrayContaining(EXERCISED));
    expect(report.linearizability.verdict).toBe('linearizable');
  });

  it('check --merge on the --bug double-vote run: exit 1, RV-2 and M-VOTE at n3', async () => {
    const dir = out(lang, 'bug');
    const { code, out: text } = await cli(['check', '--merge', ...files(dir)]);
    expect(code).toBe(1);
    expect(text).toContain(`M-VOTE violated at ${join(dir, 'n3.ndjson')}:8 (node n3)`);
    expect(text).toContain(`RV-2 violated at ${join(dir, 'n3.ndjson')}:9 (node n3)`);
    expect(text).toContain('n3 granted its vote in term 1 to n2, which Figure 2 forbids: it had already voted for n1 in term 1');
    expect(text).toMatch(/^85 events, 3 nodes, 2 violations \(rules RV-2, M-VOTE\) in [\d.]+ s$/m);
  });
});

describe('the emitters agree', () => {
  it('Python and Rust write the same events, line for line', async () => {
    for (const variant of ['ok', 'bug'] as const) {
      for (const file of FILES) {
        const parse = async (lang: Language): Promise<unknown[]> =>
          (await readFile(join(out(lang, variant), file), 'utf8')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown);
        expect(await parse('rust'), `${variant}/${file}`).toEqual(await parse('python'));
      }
    }
  });

  it('the Tracer code quoted in the guide and the README is the emitters’ own, verbatim', () => {
    const sources: Record<string, string> = {
      python: readFileSync(join(EMITTERS, 'python/raft_trace.py'), 'utf8'),
      go: readFileSync(join(EMITTERS, 'go/raft_trace.go'), 'utf8'),
      rust: readFileSync(join(EMITTERS, 'rust/raft_trace.rs'), 'utf8'),
    };
    let quoted = 0;
    for (const doc of ['docs/make-your-raft-checkable.md', 'README.md']) {
      const text = readFileSync(join(ROOT, doc), 'utf8');
      for (const [, lang = '', body = ''] of text.matchAll(/^```(python|go|rust)\n([\s\S]*?)^```$/gm)) {
        if (!/class Tracer|type Tracer struct|pub struct Tracer/.test(body)) continue; // usage sketches, not quotes
        expect(sources[lang], `${doc}: a ${lang} block quoting the Tracer differs from examples/emitters/`).toContain(body);
        quoted++;
      }
    }
    expect(quoted).toBeGreaterThan(0); // the guide quotes at least the Python Tracer
  });
});
