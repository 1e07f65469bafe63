/**
 * A local cluster of real node processes (`figure2 node`, one OS process each) on loopback: what
 * `figure2 cluster` runs, and what the chaos test and the cluster benchmark drive. It generates the
 * cluster secret, picks ports, starts, kills (SIGKILL: no goodbye), restarts and stops nodes, and
 * reads their `/status`.
 *
 * Each node may see its peers at addresses of their own (`peerAddressFor`), which is how the chaos
 * test puts a fault-injecting proxy on every directed link.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, closeSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Address {
  readonly host: string;
  readonly port: number;
}

export interface LocalClusterOptions {
  readonly nodes: number;
  readonly dataDir: string;
  /** Peers listen on basePort + i, clients on basePort + 1000 + i (i = 1…N); 0: free ports. */
  readonly basePort?: number | undefined;
  /** Each node appends its v1 trace to `<dataDir>/<id>.trace.ndjson`. */
  readonly trace?: boolean | undefined;
  readonly logLevel?: string | undefined;
  readonly tickMs?: number | undefined;
  readonly snapshotEntries?: number | undefined;
  /** Where node `from` dials node `to` (default: `to`'s own peer address). */
  readonly peerAddressFor?: ((from: string, to: string, real: Address) => Address) | undefined;
  /** Told when a node process exits (code or signal), expectedly or not. */
  readonly onExit?: ((id: string, how: string) => void) | undefined;
}

export interface NodeStatusView {
  readonly id: string;
  readonly role: string;
  readonly currentTerm: number;
  readonly leader: string | null;
  readonly commitIndex: number;
  readonly lastApplied: number;
  readonly lastIndex: number;
}

const BIN = resolve(fileURLToPath(new URL('../../bin/figure2.js', import.meta.url)));

/** A port nothing listens on right now (bind to 0, read it, close). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** Writes `<dir>/cluster.secret` (32 random bytes, hex, mode 0600) unless it exists; returns its path. */
export function ensureSecret(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'cluster.secret');
  if (!existsSync(path)) writeFileSync(path, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  return path;
}

export class LocalCluster {
  readonly ids: readonly string[];
  readonly secretFile: string;
  private readonly children = new Map<string, ChildProcess>();
  private readonly exited = new Map<string, Promise<void>>();

  private constructor(
    private readonly options: LocalClusterOptions,
    readonly peerAddresses: Readonly<Record<string, Address>>,
    readonly clientAddresses: Readonly<Record<string, Address>>,
  ) {
    this.ids = Object.keys(peerAddresses);
    this.secretFile = ensureSecret(options.dataDir);
  }

  /** Picks the addresses and starts every node. */
  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    const peers: Record<string, Address> = {};
    const clients: Record<string, Address> = {};
    // freePort closes its port at once, so the OS may hand the same one out again: keep them distinct.
    const picked = new Set<number>();
    const distinctFreePort = async (): Promise<number> => {
      for (let attempt = 0; attempt < 100; attempt++) {
        const port = await freePort();
        if (!picked.has(port)) {
          picked.add(port);
          return port;
        }
      }
      throw new Error('LocalCluster.start: no distinct free port found in 100 attempts');
    };
    for (let i = 1; i <= options.nodes; i++) {
      const base = options.basePort ?? 0;
      peers[`n${i}`] = { host: '127.0.0.1', port: base === 0 ? await distinctFreePort() : base + i };
      clients[`n${i}`] = { host: '127.0.0.1', port: base === 0 ? await distinctFreePort() : base + 1000 + i };
    }
    const cluster = new LocalCluster(options, peers, clients);
    for (const id of cluster.ids) cluster.spawnNode(id);
    return cluster;
  }

  clientUrl(id: string): string {
    const a = this.clientAddresses[id] as Address;
    return `http://${a.host}:${a.port}`;
  }

  pid(id: string): number | undefined {
    return this.children.get(id)?.pid;
  }

  isUp(id: string): boolean {
    return this.children.has(id);
  }

  tracePath(id: string): string {
    return join(this.options.dataDir, `${id}.trace.ndjson`);
  }

  /** The command line that starts node `id` (printed by `figure2 cluster`, run by `restart`). */
  argv(id: string): string[] {
    const peerList = this.ids
      .map((peer) => {
        const real = this.peerAddresses[peer] as Address;
        const seen = peer === id || this.options.peerAddressFor === undefined ? real : this.options.peerAddressFor(id, peer, real);
        return `${peer}=${seen.host}:${seen.port}`;
      })
      .join(',');
    const client = this.clientAddresses[id] as Address;
    return [
      'node',
      '--id', id,
      '--peers', peerList,
      '--data', join(this.options.dataDir, id),
      '--client', `${client.host}:${client.port}`,
      '--client-urls', this.ids.map((peer) => `${peer}=${this.clientUrl(peer)}`).join(','),
      '--secret-file', this.secretFile,
      '--log-level', this.options.logLevel ?? 'warn',
      ...(this.options.trace === true ? ['--trace', this.tracePath(id)] : []),
      ...(this.options.tickMs === undefined ? [] : ['--tick-ms', String(this.options.tickMs)]),
      ...(this.options.snapshotEntries === undefined ? [] : ['--snapshot-entries', String(this.options.snapshotEntries)]),
    ];
  }

  private spawnNode(id: string): void {
    if (this.children.has(id)) throw new Error(`${id} is already running`);
    const log = openSync(join(this.options.dataDir, `${id}.log`), 'a');
    const child = spawn(process.execPath, [BIN, ...this.argv(id)], { stdio: ['ignore', log, log] });
    closeSync(log);
    this.children.set(id, child);
    this.exited.set(
      id,
      new Promise((done) =>
        child.once('exit', (code, signal) => {
          if (this.children.get(id) === child) this.children.delete(id);
          this.options.onExit?.(id, signal === null ? `exit ${code ?? '?'}` : signal);
          done();
        }),
      ),
    );
  }

  /** Kills node `id` (SIGKILL by default: no shutdown at all) and waits until it is gone. */
  async kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.children.get(id);
    if (child === undefined) return;
    child.kill(signal);
    await this.exited.get(id);
  }

  /** Starts node `id` again from its data directory. */
  restart(id: string): void {
    this.spawnNode(id);
  }

  /** SIGTERM to every node (graceful shutdown), SIGKILL to any still running after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    const running = [...this.children.keys()];
    for (const id of running) this.children.get(id)?.kill('SIGTERM');
    const all = Promise.all(running.map((id) => this.exited.get(id)));
    const timer = new Promise<'late'>((done) => setTimeout(() => done('late'), graceMs).unref());
    if ((await Promise.race([all, timer])) === 'late') {
      for (const id of running) this.children.get(id)?.kill('SIGKILL');
      await all;
    }
  }

  /** `/status` of node `id`, or undefined when it does not answer within `timeoutMs`. */
  async status(id: string, timeoutMs = 1000): Promise<NodeStatusView | undefined> {
    if (!this.isUp(id)) return undefined;
    try {
      const res = await fetch(`${this.clientUrl(id)}/status`, { signal: AbortSignal.timeout(timeoutMs) });
      return res.ok ? ((await res.json()) as NodeStatusView) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The node that says it leads in the highest term, if any answers so. */
  async leader(): Promise<NodeStatusView | undefined> {
    const all = await Promise.all(this.ids.map((id) => this.status(id)));
    return all.filter((s): s is NodeStatusView => s?.role === 'leader').sort((a, b) => b.currentTerm - a.currentTerm)[0];
  }

  /** Waits (polling, bounded) until a leader is known; undefined on timeout. */
  async waitForLeader(timeoutMs = 10_000): Promise<NodeStatusView | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const leader = await this.leader();
      if (leader !== undefined) return leader;
      await new Promise((done) => setTimeout(done, 100));
    }
    return undefined;
  }
}
