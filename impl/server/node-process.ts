/**
 * One node of the networked reference server, as a running process would host it (`figure2 node`):
 * the file storage in `dataDir`, a NodeHost (core + KV + Ready loop), the TCP peer transport, the
 * HTTP client API, a tick timer, metrics, and an optional v1 trace file.
 *
 * Group commit comes from the Ready loop: proposals that arrive while a Ready is being synced wait
 * in the core's log and go to disk together with the next Ready — one write, one fdatasync.
 *
 * `stop()` is the graceful shutdown of SIGINT/SIGTERM, bounded: stop ticking, finish the Ready
 * being synced and fail the client requests still waiting (they get 504/503 and retry elsewhere),
 * close the storage, then the HTTP server (every connection, keep-alive ones too) and the peer
 * sockets.
 */
import { randomInt } from 'node:crypto';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Logger as PinoLogger } from 'pino';
import { DEFAULT_CONFIG, type Config, type Envelope } from '../core/types.ts';
import type { NodeId } from '../../spec/schemas/primitives.ts';
import { FileStorage, type RecoveryReport } from '../storage/file-storage.ts';
import type { Storage, StorageBatch } from '../storage/storage.ts';
import { PeerTransport, type PeerAddress } from '../transport/peer-transport.ts';
import { createClientApi } from './client-api.ts';
import { ServerMetrics } from './metrics.ts';
import { NodeHost } from './node-host.ts';
import { TraceFile } from './trace-file.ts';

export interface NodeProcessOptions {
  readonly id: NodeId;
  /** Every node's peer address, this one's included (it listens there). */
  readonly peers: Readonly<Record<NodeId, PeerAddress>>;
  readonly dataDir: string;
  /** Where the HTTP client API listens. */
  readonly client: { readonly host: string; readonly port: number };
  /** Every node's client API base URL, for redirects to the leader (optional: else 503 with the leader's id). */
  readonly clientUrls?: Readonly<Record<NodeId, string>> | undefined;
  readonly secret: Buffer;
  readonly tracePath?: string | undefined;
  readonly logger: PinoLogger;
  /** Wall-clock length of one logical tick (default 10 ms: elections after 100–200 ms, heartbeats every 20 ms). */
  readonly tickMs?: number | undefined;
  /** Raft timing and batching (ticks, entries per message…); the defaults are DEFAULT_CONFIG's. */
  readonly raft?: Partial<Omit<Config, 'id' | 'voters'>> | undefined;
  readonly snapshotThresholdEntries?: number | undefined;
  readonly memoryEntriesMax?: number | undefined;
  /** WAL segment size (default the storage's). */
  readonly segmentBytes?: number | undefined;
}

export interface RunningNode {
  readonly id: NodeId;
  readonly clientUrl: string;
  readonly peerAddress: { readonly host: string; readonly port: number };
  readonly recovery: RecoveryReport;
  readonly host: NodeHost;
  /** Graceful shutdown; idempotent. */
  stop(): Promise<void>;
  /** Resolves when the node stopped on its own (a storage error: fail-stop), with that error. */
  readonly failed: Promise<unknown>;
}

export const DEFAULT_TICK_MS = 10;

/** A Storage that reports every save to the metrics (fsync latency, batch size). */
class MeasuredStorage implements Storage {
  constructor(
    private readonly inner: Storage,
    private readonly metrics: ServerMetrics,
  ) {}
  firstIndex(): number {
    return this.inner.firstIndex();
  }
  lastIndex(): number {
    return this.inner.lastIndex();
  }
  term(index: number): number | undefined {
    return this.inner.term(index);
  }
  entries(lo: number, hi: number, maxBytes?: number): ReturnType<Storage['entries']> {
    return this.inner.entries(lo, hi, maxBytes);
  }
  hardState(): ReturnType<Storage['hardState']> {
    return this.inner.hardState();
  }
  snapshot(): ReturnType<Storage['snapshot']> {
    return this.inner.snapshot();
  }
  async save(batch: StorageBatch): Promise<void> {
    const started = performance.now();
    await this.inner.save(batch);
    let bytes = 0;
    for (const e of batch.entries ?? []) bytes += e.data.length;
    this.metrics.observeFsync({ durationSeconds: (performance.now() - started) / 1000, bytes, entries: batch.entries?.length ?? 0 });
  }
  compact(snapshot: Parameters<Storage['compact']>[0]): Promise<void> {
    return this.inner.compact(snapshot);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

export async function startNode(options: NodeProcessOptions): Promise<RunningNode> {
  const log = options.logger;
  const voters = Object.keys(options.peers).sort();
  const self = options.peers[options.id];
  if (self === undefined) throw new Error(`--peers has no address for this node ${options.id}`);
  const config: Config = { ...DEFAULT_CONFIG, ...options.raft, id: options.id, voters };
  const metrics = new ServerMetrics({ defaultLabels: { node: options.id } });

  const { storage: fileStorage, report } = await FileStorage.open(options.dataDir, options.segmentBytes === undefined ? {} : { segmentBytes: options.segmentBytes });
  for (const warning of report.warnings) log.warn({ dataDir: options.dataDir }, warning);
  log.info({ dataDir: options.dataDir, records: report.recordsReplayed, truncatedBytes: report.bytesTruncated, snapshotIndex: report.snapshotIndex }, 'storage recovered');
  const storage = new MeasuredStorage(fileStorage, metrics);

  const trace = options.tracePath === undefined ? undefined : new TraceFile({ path: options.tracePath, node: options.id, cluster: voters, source: `figure2 node ${options.id}` });
  let fail: (error: unknown) => void = () => {};
  const failed = new Promise<unknown>((resolve) => (fail = resolve));
  let transport: PeerTransport | undefined;
  const host = new NodeHost({
    config,
    storage,
    rng: { int: (from, to) => randomInt(from, to + 1) },
    send: (m: Envelope) => transport?.send(m),
    sink: (e) => {
      if (e.ev === 'role' && e.role === 'candidate') metrics.observeElection(e.term);
      trace?.sink(e);
    },
    beforeSend: () => trace?.flush(),
    memoryEntriesMax: options.memoryEntriesMax,
    snapshotThresholdEntries: options.snapshotThresholdEntries,
    onFatal: (error) => {
      log.error({ err: error instanceof Error ? error.message : String(error) }, 'storage failed: this node stops (fail-stop)');
      fail(error);
    },
  });
  trace?.flush(); // the `init` event, emitted by the core's constructor

  transport = new PeerTransport({
    id: options.id,
    peers: options.peers,
    listen: self,
    secret: options.secret,
    logger: log,
    onEnvelope: (envelope) => host.step(envelope),
  });
  await transport.start();

  const api: FastifyInstance = createClientApi({
    node: host,
    clientAddresses: options.clientUrls,
    loggerInstance: log as unknown as FastifyBaseLogger,
    metrics,
  });
  await api.listen({ host: options.client.host, port: options.client.port });
  const address = api.server.address();
  const clientPort = typeof address === 'object' && address !== null ? address.port : options.client.port;
  const clientUrl = `http://${options.client.host}:${clientPort}`;

  const tickMs = options.tickMs ?? DEFAULT_TICK_MS;
  const timer = setInterval(() => host.tick(), tickMs);
  log.info({ node: options.id, client: clientUrl, peers: transport.address(), voters }, `node ${options.id} serving`);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      clearInterval(timer);
      // The host first: it finishes the Ready being synced and fails the requests still waiting
      // (504/503: retry elsewhere), so that closing the API does not wait out their timeouts.
      await host.close();
      await api.close();
      trace?.close();
      await transport?.stop();
      log.info({ node: options.id }, `node ${options.id} stopped`);
    })());
  return { id: options.id, clientUrl, peerAddress: transport.address(), recovery: report, host, stop, failed };
}
