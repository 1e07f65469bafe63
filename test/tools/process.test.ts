/**
 * The CLI as a real process: exit codes reach the shell, errors are one line with no stack
 * trace, and the package bin shim (bin/figure2.js) starts the TypeScript CLI through tsx.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const BAD = 'test/fixtures/bad-line7.ndjson';
const VALID = 'test/fixtures/valid.ndjson';
const TSX = join(ROOT, 'node_modules/.bin/tsx');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(file: string, args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(file, args, { cwd: ROOT, env: { ...process.env, FIGURE2_DEBUG: '' } }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      done({ code, stdout, stderr });
    });
  });
}

function expectOneLineNoStack(stderr: string): void {
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toMatch(/Error:|node:internal/);
}

describe('tools/cli.ts as a process', () => {
  it('validate on a bad trace: exit 2, one line on stderr naming line 7, no stack trace', async () => {
    const run = await exec(TSX, ['tools/cli.ts', 'validate', BAD]);
    expect(run.code).toBe(2);
    expectOneLineNoStack(run.stderr);
    expect(run.stderr).toBe(`${BAD}:7: $.msg.term: expected an integer ≥ 0, got -1\n`);
    expect(run.stdout).toMatch(/INVALID, 1 error/);
  });

  it('through npx tsx: the same, apart from npm\'s own warnings', async () => {
    const run = await exec('npx', ['tsx', 'tools/cli.ts', 'validate', BAD]);
    expect(run.code).toBe(2);
    // npm may print configuration warnings of its own ("npm warn …") before the CLI runs.
    const ours = run.stderr.split('\n').filter((l) => !l.startsWith('npm ')).join('\n');
    expectOneLineNoStack(ours);
    expect(ours).toContain(`${BAD}:7: $.msg.term`);
  });

  it('a valid trace exits 0 with its summary flushed to stdout', async () => {
    const run = await exec(TSX, ['tools/cli.ts', 'validate', VALID]);
    expect(run).toEqual({ code: 0, stdout: `${VALID}: ok, 12 valid events (header 1, init 1, timeout 1, role 2, send 2, recv 2, append 1, persist 2)\n`, stderr: '' });
  });

  it("validate - reads the trace from standard input", async () => {
    const child = spawn(TSX, ['tools/cli.ts', 'validate', '-'], { cwd: ROOT });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stdin.end(readFileSync(join(ROOT, VALID)));
    const code = await new Promise<number | null>((done) => child.on('close', done));
    expect(code).toBe(0);
    expect(stdout).toMatch(/^-: ok, 12 valid events/);
  });

  it('usage errors exit 2 with one line', async () => {
    const run = await exec(TSX, ['tools/cli.ts', 'frobnicate']);
    expect(run.code).toBe(2);
    expectOneLineNoStack(run.stderr);
    expect(run.stderr).toMatch(/^figure2: unknown command 'frobnicate'/);
  });
});

describe('bin/figure2.js', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'figure2-bin-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('validate on a bad trace: exit 2, one line on stderr, no stack trace', async () => {
    const run = await exec(process.execPath, ['bin/figure2.js', 'validate', BAD]);
    expect(run.code).toBe(2);
    expectOneLineNoStack(run.stderr);
    expect(run.stderr).toBe(`${BAD}:7: $.msg.term: expected an integer ≥ 0, got -1\n`);
  });

  it('works when started through a symlink, as an installed package bin is', async () => {
    const link = join(tmp, 'figure2');
    symlinkSync(join(ROOT, 'bin/figure2.js'), link);
    const run = await exec(link, ['rules', '--json']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect((JSON.parse(run.stdout) as unknown[]).length).toBeGreaterThan(30);
  });

  it('a missing file: exit 2, one line', async () => {
    const run = await exec(process.execPath, ['bin/figure2.js', 'validate', 'no-such.ndjson']);
    expect(run.code).toBe(2);
    expectOneLineNoStack(run.stderr);
    expect(run.stderr).toMatch(/^cannot read no-such\.ndjson: ENOENT/);
  });
});
