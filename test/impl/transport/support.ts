/**
 * Helpers for the transport and proxy tests: a logger that records, bounded waits, free loopback
 * ports, raw authenticated connections, and a small cluster of PeerTransports.
 */
import { createServer, connect, type AddressInfo } from 'node:net';
import type { Envelope } from '../../../impl/core/types.ts';
import { FramedConnection } from '../../../impl/transport/connection.ts';
import { dialHandshake, HANDSHAKE_MAX_FRAME_BYTES } from '../../../impl/transport/handshake.ts';
import type { Logger } from '../../../impl/transport/logger.ts';
import { PeerTransport, type PeerTransportOptions } from '../../../impl/transport/peer-transport.ts';

export const SECRET = Buffer.from('test-cluster-secret-0123456789abcdef');

export type Level = 'debug' | 'info' | 'warn' | 'error';
export interface LogLine {
  readonly level: Level;
  readonly obj: object;
  readonly msg: string;
}

export interface RecordingLogger extends Logger {
  readonly lines: LogLine[];
  /** Lines at `level` whose message matches `pattern`. */
  matching(level: Level, pattern: RegExp): LogLine[];
}

export function recordingLogger(): RecordingLogger {
  const lines: LogLine[] = [];
  const at =
    (level: Level) =>
    (obj: object, msg?: string): void =>
      void lines.push({ level, obj, msg: msg ?? '' });
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    matching: (level, pattern) => lines.filter((l) => l.level === level && pattern.test(l.msg)),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `predicate` until it holds; fails with `what` after `timeoutMs` (every wait is bounded). */
export async function waitFor(what: string, predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * `n` loopback ports free right now: each transport needs its peers' ports before any of them
 * listens, so they are picked up front (bound together, so they are distinct, then released).
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createServer());
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** A raw connection authenticated as `self` to `peer` on `port`: tests write whatever frames they like on it. */
export async function rawPeer(options: { self: string; peer: string; port: number; secret?: Buffer }): Promise<FramedConnection> {
  const socket = connect({ host: '127.0.0.1', port: options.port });
  const conn = new FramedConnection(socket, { maxFrameBytes: HANDSHAKE_MAX_FRAME_BYTES });
  await dialHandshake(conn, { self: options.self, peer: options.peer, secret: options.secret ?? SECRET, timeoutMs: 2000 });
  return conn;
}

/** A message whose term carries a sequence number, so tests can check order and completeness. */
export function numbered(from: string, to: string, seq: number): Envelope {
  return { from, to, msg: { type: 'RequestVoteResponse', term: seq, voteGranted: seq % 2 === 0 } };
}

/** An AppendEntries shaped like the core's, with its extras (`round`, entry `digest`). */
export function append(from: string, to: string, seq: number): Envelope {
  const msg = {
    type: 'AppendEntries' as const,
    term: 3,
    leaderId: from,
    prevLogIndex: seq,
    prevLogTerm: 3,
    entries: [{ index: seq + 1, term: 3, kind: 'command' as const, digest: `{"op":"put","k":"key${seq}"}` }],
    leaderCommit: seq,
    round: seq,
  };
  return { from, to, msg };
}

export type NodeOverrides = Partial<Omit<PeerTransportOptions, 'id' | 'peers' | 'listen' | 'onEnvelope'>>;

/** A few PeerTransports on loopback, each recording what it receives and what it logs. */
export class TransportCluster {
  readonly transports = new Map<string, PeerTransport>();
  readonly received = new Map<string, Envelope[]>();
  readonly logs = new Map<string, RecordingLogger>();

  private constructor(readonly ports: ReadonlyMap<string, number>) {}

  static async create(ids: readonly string[], overrides: (id: string) => NodeOverrides = () => ({})): Promise<TransportCluster> {
    const ports = await freePorts(ids.length);
    const cluster = new TransportCluster(new Map(ids.map((id, i) => [id, ports[i] ?? 0])));
    for (const id of ids) await cluster.startNode(id, overrides(id));
    return cluster;
  }

  /** Starts (or restarts) `id` on its port; `peers` defaults to everyone else. */
  async startNode(id: string, overrides: NodeOverrides = {}, peers?: Record<string, { port: number }>): Promise<PeerTransport> {
    const logger = recordingLogger();
    const received: Envelope[] = [];
    const transport = new PeerTransport({
      id,
      peers: peers ?? Object.fromEntries([...this.ports].map(([peer, port]) => [peer, { port }])),
      listen: { port: this.port(id) },
      secret: SECRET,
      logger,
      backoff: { initialMs: 20, maxMs: 200 },
      onEnvelope: (e) => void received.push(e),
      ...overrides,
    });
    await transport.start();
    this.transports.set(id, transport);
    this.received.set(id, received);
    this.logs.set(id, logger);
    return transport;
  }

  port(id: string): number {
    const port = this.ports.get(id);
    if (port === undefined) throw new Error(`no port for ${id}`);
    return port;
  }

  node(id: string): PeerTransport {
    const t = this.transports.get(id);
    if (t === undefined) throw new Error(`no transport ${id}`);
    return t;
  }

  inbox(id: string): Envelope[] {
    return this.received.get(id) ?? [];
  }

  log(id: string): RecordingLogger {
    const l = this.logs.get(id);
    if (l === undefined) throw new Error(`no log for ${id}`);
    return l;
  }

  /** Sequence numbers (terms) of what `to` received from `from`. */
  terms(to: string, from: string): number[] {
    return this.inbox(to)
      .filter((e) => e.from === from)
      .map((e) => e.msg.term);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.transports.values()].map((t) => t.stop()));
  }
}

/** TCP handles still open in this process: a test that closes what it opens leaves none. */
export function openTcpHandles(): string[] {
  return process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP'));
}
