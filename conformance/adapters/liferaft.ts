/**
 * The @markwylde/liferaft target: a cluster of liferaft nodes, each in its own process
 * (liferaft/node-main.ts), behind the cluster-under-test interface (cut.ts).
 *
 * - Network: every packet goes through a RoutedNetwork (seeded delays, loss, duplication,
 *   reordering, partitions, one-way cuts; the suite's deliver/drop/duplicate/reorder commands act
 *   on it). liferaft's request/callback transport is kept: a reply travels back as its own message.
 * - Crash: SIGKILL of the node's process; restart: a new process on the same LevelDB directory.
 * - Clients: `raft.command({ id, op })` on the chosen node; NOTLEADER is followed to the leader
 *   liferaft names (a few times), then the operation fails; an accepted command is answered when
 *   the accepting node applies it (its `commit` event), or ends `info` on timeout or crash. Reads go
 *   through the log too: liferaft has no read protocol.
 * - Time is real: one tick is `tickMs` of wall clock; liferaft runs its own timers.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodeId } from '../../spec/schemas/primitives.ts';
import type { TraceEvent } from '../../spec/schemas/trace-events.ts';
import { CutFailure, type ClientOpRequest, type ClusterUnderTest, type ClusterView, type NetworkControl, type NodeView } from '../cut.ts';
import { RealtimeClients, outcomeOf, type OpenOperation } from '../realtime/clients.ts';
import { RoutedNetwork, type Routed } from '../realtime/routed-network.ts';
import type { ConformanceTarget, TargetRunOptions } from '../realtime/target.ts';
import type { ChildConfig, ChildStatus, FromChild, ToChild, WireKind } from './liferaft/protocol.ts';

const NODE_MAIN = fileURLToPath(new URL('./liferaft/node-main.ts', import.meta.url));
/** How often a client follows NOTLEADER to the node liferaft names before the operation fails. */
const REDIRECTS_MAX = 3;
/** A client gives up (outcome unknown) after this many ticks. */
const CLIENT_TIMEOUT_TICKS = 60;
/** How long a process may take to boot or to die. */
const PROCESS_DEADLINE_MS = 15_000;

interface Wire {
  readonly kind: WireKind;
  readonly reqId: number;
  readonly packet: unknown;
  readonly label: string;
  readonly traceId: string | undefined;
}

interface Host {
  readonly id: NodeId;
  child: ChildProcess | undefined;
  status: ChildStatus;
  /** Incremented at every start: request ids are per incarnation, so a reply to an earlier one is lost. */
  incarnation: number;
  /** The process's last lines on stderr (for errors). */
  stderr: string;
}

interface Pending {
  readonly operation: OpenOperation;
  readonly commandId: string;
  redirects: number;
}

const DOWN_STATUS: ChildStatus = { role: 'follower', term: 0, commitIndex: 0, lastIndex: 0, highestStored: 0, storeOpsPending: 0 };

export class LiferaftCluster implements ClusterUnderTest {
  readonly name = 'liferaft';
  readonly network: NetworkControl;
  private readonly routed: RoutedNetwork<Wire>;
  private readonly hosts: Host[];
  private readonly events: TraceEvent[] = [];
  private cursor = 0;
  private readonly clients: RealtimeClients;
  private readonly pending = new Map<number, Pending>();
  private nextRef = 0;
  private nextProposal = 0;
  private startedAt = 0;
  /** Errors the target reported from its own code (unhandled rejections, …). */
  readonly targetErrors: string[] = [];
  private stopped = false;
  private readonly onExit = (): void => this.killAll();

  constructor(private readonly options: TargetRunOptions) {
    const ids = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
    this.hosts = ids.map((id) => ({ id, child: undefined, status: DOWN_STATUS, incarnation: 0, stderr: '' }));
    this.clients = new RealtimeClients(options.clients, (e) => this.record(e));
    this.routed = new RoutedNetwork(
      {
        seed: options.seed,
        delayMs: { min: 1, max: Math.max(1, Math.round(options.tickMs / 2)) },
        lossProbability: options.lossProbability,
        duplicateProbability: options.duplicateProbability,
        reorderProbability: options.reorderProbability,
        reorderDelayMsMax: options.tickMs * 4,
      },
      {
        deliver: (m) => this.deliver(m),
        describe: (w) => w.label,
      },
    );
    this.network = this.routed.control;
  }

  async start(): Promise<void> {
    this.startedAt = performance.now();
    mkdirSync(this.options.dataDir, { recursive: true });
    process.once('exit', this.onExit);
    this.record({ ev: 'header', format: 'raft-trace', version: 1, cluster: this.hosts.map((h) => h.id), source: 'figure2 liferaft adapter (@markwylde/liferaft)' });
    await Promise.all(this.hosts.map((h) => this.spawn(h)));
    for (const h of this.hosts) this.go(h);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.routed.close();
    this.clients.abandonAll('the cluster stopped');
    await Promise.all(this.hosts.map((h) => this.kill(h)));
    process.removeListener('exit', this.onExit);
    rmSync(this.options.dataDir, { recursive: true, force: true });
  }

  async crash(node: NodeId): Promise<void> {
    const host = this.host(node);
    if (host.child === undefined) return;
    this.routed.setDown(node, true);
    await this.kill(host);
    this.record({ ev: 'crash', node });
    this.abandonAt(node, `${node} crashed`);
  }

  async restart(node: NodeId): Promise<void> {
    const host = this.host(node);
    if (host.child !== undefined) return;
    await this.spawn(host);
    this.routed.setDown(node, false);
    this.go(host);
  }

  private go(host: Host): void {
    const message: ToChild = { t: 'go' };
    if (host.child?.connected === true) host.child.send(message);
  }

  async partition(groups: readonly (readonly NodeId[])[]): Promise<void> {
    this.routed.partition(groups);
  }

  async partitionOneWay(from: NodeId, to: NodeId): Promise<void> {
    this.routed.cutLink(from, to);
  }

  async heal(): Promise<void> {
    this.routed.heal();
  }

  async clientOp(request: ClientOpRequest): Promise<number> {
    const operation = this.clients.begin(request.client, request.op, request.node);
    const commandId = `${operation.clientId}#${operation.opId}.${++this.nextProposal}`;
    this.propose({ operation, commandId, redirects: 0 }, request.node);
    return operation.opId;
  }

  async advance(ticks: number): Promise<void> {
    await sleep(ticks * this.options.tickMs);
    this.clients.expire(CLIENT_TIMEOUT_TICKS * this.options.tickMs);
    this.assertNoHoles();
  }

  async settle(maxTicks: number): Promise<number> {
    this.routed.heal();
    for (const h of this.hosts) if (h.child === undefined) await this.restart(h.id);
    for (let tick = 0; tick < maxTicks; tick++) {
      if (this.converged()) return tick;
      await this.advance(1);
    }
    throw new CutFailure('liveness', `the healed liferaft cluster did not converge within ${maxTicks} ticks (${this.describe()})`);
  }

  collectEvents(): TraceEvent[] {
    const out = this.events.slice(this.cursor);
    this.cursor = this.events.length;
    return out;
  }

  allEvents(): readonly TraceEvent[] {
    return this.events;
  }

  view(): ClusterView {
    const nodes: NodeView[] = this.hosts.map((h) => ({
      id: h.id,
      up: h.child !== undefined,
      role: h.child === undefined ? 'down' : h.status.role === 'stopped' ? 'down' : h.status.role,
      term: h.status.term,
      commitIndex: h.status.commitIndex,
    }));
    return {
      nodes,
      clients: this.clients.count,
      idleClients: this.clients.idle(),
      inFlight: this.routed.pending().length,
      now: Math.floor((performance.now() - this.startedAt) / this.options.tickMs),
    };
  }

  /** Counters for the report. */
  stats(): { readonly network: RoutedNetwork<Wire>['counts']; readonly targetErrors: number } {
    return { network: this.routed.counts, targetErrors: this.targetErrors.length };
  }

  // -------------------------------------------------------------------------------------------

  private host(id: NodeId): Host {
    const h = this.hosts.find((x) => x.id === id);
    if (h === undefined) throw new CutFailure('assertion', `no node ${id}`);
    return h;
  }

  private record(event: TraceEvent): void {
    this.events.push({ ...event, ts: Math.round((performance.now() - this.startedAt) * 1000) / 1000 });
  }

  private spawn(host: Host): Promise<void> {
    host.incarnation++;
    const config: ChildConfig = {
      id: host.id,
      incarnation: host.incarnation,
      peers: this.hosts.map((h) => h.id),
      path: join(this.options.dataDir, host.id),
      heartbeatMs: this.options.heartbeatIntervalTicks * this.options.tickMs,
      electionMinMs: this.options.electionTimeoutTicks.min * this.options.tickMs,
      electionMaxMs: this.options.electionTimeoutTicks.max * this.options.tickMs,
    };
    const child = fork(NODE_MAIN, [JSON.stringify(config)], {
      execArgv: ['--import', 'tsx'],
      serialization: 'json',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    host.child = child;
    host.status = DOWN_STATUS;
    host.stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (host.stderr = (host.stderr + chunk.toString()).slice(-2000)));
    return new Promise((resolve, reject) => {
      const deadline = setTimeout(() => reject(new CutFailure('assertion', `liferaft node ${host.id} did not start within ${PROCESS_DEADLINE_MS} ms${this.stderrOf(host)}`)), PROCESS_DEADLINE_MS);
      child.on('message', (message: FromChild) => {
        if (host.child !== child) return;
        if (message.t === 'ready') {
          clearTimeout(deadline);
          resolve();
        } else this.onChild(host, message);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(deadline);
        if (host.child !== child) return;
        // The node died on its own (not killed by us): that is a crash of the target.
        host.child = undefined;
        this.routed.setDown(host.id, true);
        if (!this.stopped) {
          this.targetErrors.push(`${host.id} exited by itself (code ${String(code)}, signal ${String(signal)})${this.stderrOf(host)}`);
          this.record({ ev: 'crash', node: host.id });
          this.abandonAt(host.id, `${host.id} exited`);
        }
        reject(new CutFailure('assertion', `liferaft node ${host.id} exited while starting (code ${String(code)})${this.stderrOf(host)}`));
      });
    });
  }

  private stderrOf(host: Host): string {
    const tail = host.stderr.trim().split('\n').slice(-3).join(' | ');
    return tail === '' ? '' : `: ${tail}`;
  }

  /** SIGKILL, then wait until the process is gone and its last IPC messages are in. */
  private async kill(host: Host): Promise<void> {
    const child = host.child;
    if (child === undefined) return;
    host.child = undefined;
    host.status = DOWN_STATUS;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, PROCESS_DEADLINE_MS);
      child.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGKILL');
    });
  }

  private killAll(): void {
    for (const h of this.hosts) h.child?.kill('SIGKILL');
  }

  private onChild(host: Host, message: FromChild): void {
    switch (message.t) {
      case 'event':
        this.record(message.event);
        break;
      case 'status':
        host.status = message.status;
        break;
      case 'send':
        this.routed.send(host.id, message.to, { kind: message.kind, reqId: message.reqId, packet: message.packet, label: message.label, traceId: message.traceId });
        break;
      case 'accepted':
        break;
      case 'refused':
        this.onRefused(message.ref, message.error, message.leader);
        break;
      case 'applied':
        this.onApplied(host.id, message.commandId, message.result);
        break;
      case 'target-error':
        this.targetErrors.push(`${host.id}: ${message.message}`);
        break;
      case 'ready':
        break;
    }
  }

  private deliver(m: Routed<Wire>): void {
    const to = this.host(m.to);
    const child = to.child;
    if (child === undefined || !child.connected) return;
    // A reply to an earlier incarnation finds no callback in the child (request ids are per incarnation).
    const message: ToChild = { t: 'deliver', from: m.from, kind: m.payload.kind, reqId: m.payload.reqId, packet: m.payload.packet, traceId: m.payload.traceId };
    child.send(message);
  }

  private propose(p: Pending, node: NodeId): void {
    const host = this.host(node);
    p.operation.node = node;
    const child = host.child;
    if (child === undefined || !child.connected) {
      // Connection refused: the command never reached a node.
      this.clients.finish(p.operation, { kind: 'fail', error: `${node} is down` });
      return;
    }
    const ref = ++this.nextRef;
    this.pending.set(ref, p);
    const message: ToChild = { t: 'command', ref, command: { id: p.commandId, op: p.operation.op } };
    child.send(message);
  }

  private onRefused(ref: number, error: string, leader: string): void {
    const p = this.pending.get(ref);
    this.pending.delete(ref);
    if (p === undefined) return;
    const known = this.hosts.some((h) => h.id === leader);
    if (error === 'NOTLEADER' && known && leader !== p.operation.node && p.redirects < REDIRECTS_MAX) {
      p.redirects++;
      this.propose(p, leader);
      return;
    }
    // NOTLEADER means the command was not stored; any other error may have come after storing it.
    this.clients.finish(p.operation, error === 'NOTLEADER' ? { kind: 'fail', error: `not leader${leader === '' ? '' : ` (leader ${leader})`}` } : { kind: 'info', error });
  }

  /** The node that accepted a command answers when it applies it (L-2). */
  private onApplied(node: NodeId, commandId: string, result: Parameters<typeof outcomeOf>[0]): void {
    for (const [ref, p] of this.pending) {
      if (p.commandId !== commandId || p.operation.node !== node) continue;
      this.pending.delete(ref);
      this.clients.finish(p.operation, outcomeOf(result));
    }
  }

  private abandonAt(node: NodeId, why: string): void {
    for (const [ref, p] of this.pending) {
      if (p.operation.node !== node) continue;
      this.pending.delete(ref);
      this.clients.finish(p.operation, { kind: 'info', error: why });
    }
  }

  /**
   * A hole in a node's stored log (index i+1 stored, i not) once no store operation is pending is
   * corruption the trace cannot show (it shows the contiguous prefix): report it as what it breaks.
   */
  private assertNoHoles(): void {
    for (const h of this.hosts) {
      const s = h.status;
      if (h.child === undefined || s.storeOpsPending > 0 || s.highestStored <= s.lastIndex) continue;
      throw new CutFailure('S-LM', `${h.id}'s LevelDB log has a hole: entries up to ${s.highestStored} are stored but ${s.lastIndex + 1} is missing, so its log no longer matches the leader's up to its last entry`);
    }
  }

  private converged(): boolean {
    if (this.hosts.some((h) => h.child === undefined)) return false;
    const leaders = this.hosts.filter((h) => h.status.role === 'leader');
    const leader = leaders[0];
    if (leaders.length !== 1 || leader === undefined) return false;
    return this.hosts.every((h) => h.status.term === leader.status.term && h.status.lastIndex === leader.status.lastIndex);
  }

  private describe(): string {
    return this.hosts.map((h) => `${h.id} ${h.child === undefined ? 'down' : `${h.status.role} t${h.status.term} last ${h.status.lastIndex} commit ${h.status.commitIndex}`}`).join(', ');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function liferaftVersion(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return (require('@markwylde/liferaft/package.json') as { version: string }).version;
  } catch {
    return undefined;
  }
}

export const LIFERAFT_TARGET: ConformanceTarget = {
  id: 'liferaft',
  name: `@markwylde/liferaft ${liferaftVersion() ?? '(not installed)'}`,
  unavailable: () => {
    if (liferaftVersion() === undefined) return '@markwylde/liferaft is not installed: run npm ci in the figure2 folder (it is a dependency)';
    try {
      createRequire(import.meta.url)('leveldown');
    } catch (err) {
      return `leveldown (liferaft's storage) does not load here: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
    }
    return existsSync(NODE_MAIN) ? undefined : `the liferaft node program is missing (${NODE_MAIN})`;
  },
  create: (options) => new LiferaftCluster(options),
  defaults: { tickMs: 10, runs: 20, commandsMax: 30, livenessTicks: 500, shrinkSeconds: 60 },
  unsupported: ['snapshot'],
};
