/**
 * One PySyncObj node as a child process (driver.py): JSON lines in, JSON lines out. Children never
 * outlive this process: every live one is SIGKILLed on exit, and a driver exits by itself when its
 * stdin closes (the parent is gone) or its parent dies (PR_SET_PDEATHSIG, see driver.py).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Message } from '../../../spec/schemas/messages.ts';

export const PYTHON = '/usr/bin/python3';
export const DRIVER_PATH = fileURLToPath(new URL('./driver.py', import.meta.url));

/** What driver.py prints (see its docstring). */
export type DriverLine =
  | { readonly t: 'ev'; readonly ev: { readonly ev: string } & Record<string, unknown> }
  | { readonly t: 'send'; readonly to: string; readonly id: string; readonly kind: string; readonly msg: Message | null; readonly blob: string }
  | { readonly t: 'recv'; readonly from: string; readonly id: string }
  | { readonly t: 'result'; readonly opId: number; readonly res: unknown; readonly err: number | null }
  | { readonly t: 'compacted'; readonly ok: boolean }
  | { readonly t: 'fatal'; readonly error: string };

export interface DriverConfig {
  readonly id: string;
  readonly incarnation: number;
  readonly peers: readonly string[];
  readonly journal: string;
  readonly dump?: string | undefined;
  readonly electionMinS: number;
  readonly electionMaxS: number;
  readonly heartbeatS: number;
  readonly leaderFallbackS: number;
  readonly tickS: number;
}

export interface DriverExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The end of its stderr (a Python traceback, when it died of one). */
  readonly stderr: string;
}

const live = new Set<ChildProcessWithoutNullStreams>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

const STDERR_KEPT = 4096;

export class DriverProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private stderr = '';
  /** Resolves once the process has exited and every line it printed has been handed over. */
  readonly closed: Promise<DriverExit>;
  private alive = true;

  constructor(config: DriverConfig, onLine: (line: DriverLine) => void) {
    installExitHook();
    this.child = spawn(PYTHON, [DRIVER_PATH, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(this.child);
    // A write to a child that just died must not take the harness down.
    this.child.stdin.on('error', () => undefined);
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-STDERR_KEPT);
    });
    const lines = createInterface({ input: this.child.stdout });
    lines.on('line', (text) => {
      if (text.trim() !== '') onLine(JSON.parse(text) as DriverLine);
    });
    this.closed = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        this.alive = false;
        live.delete(this.child);
        resolve({ code, signal, stderr: this.stderr });
      });
    });
  }

  get running(): boolean {
    return this.alive;
  }

  write(line: object): void {
    if (this.alive && this.child.stdin.writable) this.child.stdin.write(JSON.stringify(line) + '\n');
  }

  /** SIGKILL (a crash: nothing flushed, nothing cleaned up); resolves when its output is drained. */
  async kill(): Promise<DriverExit> {
    if (this.alive) this.child.kill('SIGKILL');
    return this.closed;
  }
}
