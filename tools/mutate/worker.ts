/**
 * One conformance campaign in a worker process: `figure2 conform --fail-fast --json` of a copy of
 * the repository, run by node with tsx from that copy (so the mutated sources are the ones
 * imported), its JSON result read back through a Zod schema — the child's stdout is a gateway.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { z } from 'zod';

export interface CampaignRequest {
  /** The copy of the repository to run in. */
  readonly dir: string;
  readonly seed: number;
  readonly runs: number;
  readonly nodes: number;
  /** The child is killed after this long (a mutant may loop). */
  readonly timeoutSeconds: number;
}

export interface CampaignFailure {
  readonly seed: number;
  readonly rule: string;
  readonly message: string;
  /** Length of the shrunk command list. */
  readonly shrunk: number;
  readonly replay: string;
}

export type CampaignOutcome =
  | { readonly kind: 'passed'; readonly runs: number; readonly seconds: number; readonly wallSeconds: number }
  | { readonly kind: 'failed'; readonly runs: number; readonly seconds: number; readonly wallSeconds: number; readonly failure: CampaignFailure }
  | { readonly kind: 'timeout'; readonly wallSeconds: number }
  | { readonly kind: 'error'; readonly message: string; readonly wallSeconds: number };

/** The part of `figure2 conform --json` (ConformanceResult) that mutation testing reads. */
const ConformJson = z.object({
  ok: z.boolean(),
  runs: z.number().int().min(0),
  seconds: z.number().min(0),
  failures: z.array(
    z.object({
      seed: z.number().int(),
      replay: z.string(),
      commands: z.array(z.string()),
      violation: z.object({ rule: z.string(), message: z.string() }),
    }),
  ),
});

/** Arguments of the child: node, with tsx, running the copy's CLI. */
export function conformArgv(request: Omit<CampaignRequest, 'dir' | 'timeoutSeconds'>, traceDir: string): string[] {
  return [
    '--import',
    'tsx',
    'tools/cli.ts',
    'conform',
    '--seed',
    String(request.seed),
    '--runs',
    String(request.runs),
    '--nodes',
    String(request.nodes),
    '--fail-fast',
    '--json',
    '--trace-dir',
    traceDir,
  ];
}

/** Reads the child's exit code and stdout into an outcome (pure, for tests). */
export function readOutcome(code: number | null, stdout: string, stderr: string, wallSeconds: number): CampaignOutcome {
  if (code !== 0 && code !== 1) {
    const last = stderr.trim().split('\n').slice(-3).join(' | ');
    return { kind: 'error', message: `conform exited with ${code ?? 'a signal'}: ${last || '(no output)'}`, wallSeconds };
  }
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    return { kind: 'error', message: `conform printed no JSON result (exit ${code}): ${stdout.slice(0, 200)}`, wallSeconds };
  }
  const parsed = ConformJson.safeParse(json);
  if (!parsed.success) return { kind: 'error', message: `conform's JSON result is not as expected: ${parsed.error.issues[0]?.message ?? ''}`, wallSeconds };
  const result = parsed.data;
  const first = result.failures[0];
  if (result.ok || first === undefined) {
    if (code !== 0) return { kind: 'error', message: `conform exited with ${code} but reported no failure`, wallSeconds };
    return { kind: 'passed', runs: result.runs, seconds: result.seconds, wallSeconds };
  }
  return {
    kind: 'failed',
    runs: result.runs,
    seconds: result.seconds,
    wallSeconds,
    failure: { seed: first.seed, rule: first.violation.rule, message: first.violation.message, shrunk: first.commands.length, replay: first.replay },
  };
}

/** Runs the campaign in a child process of the copy `request.dir`. Never rejects. */
export function runCampaign(request: CampaignRequest): Promise<CampaignOutcome> {
  const started = performance.now();
  const wall = (): number => (performance.now() - started) / 1000;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, conformArgv(request, join(request.dir, 'mutate-traces')), {
      cwd: request.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL'); // our own child, by its handle
    }, request.timeoutSeconds * 1000);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ kind: 'error', message: `cannot start conform: ${err.message}`, wallSeconds: wall() });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(timedOut ? { kind: 'timeout', wallSeconds: wall() } : readOutcome(code, stdout, stderr, wall()));
    });
  });
}
