/**
 * `figure2 node`: one node of the networked reference server, in this process, until SIGINT or
 * SIGTERM (graceful shutdown) or a storage failure (fail-stop, exit 1).
 *
 *   figure2 node --id n1 --peers n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7003 \
 *     --data DIR --client 127.0.0.1:8001 [--trace FILE] [--secret-file FILE] [--log-level info]
 *
 * The cluster secret comes from --secret-file or FIGURE2_SECRET; a node refuses to start without
 * one. Bad flags, a secret that cannot be used, a data directory that cannot be opened (corrupt,
 * not a WAL, unreadable) or an address already in use are bad input: one line, exit 2.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { startNode, type RunningNode } from '../../impl/server/node-process.ts';
import { createLogger, LogLevelError, parseLogLevel } from '../../impl/server/logger.ts';
import { StorageError } from '../../impl/storage/errors.ts';
import { loadSecret, SecretError } from '../../impl/transport/handshake.ts';
import { TransportError } from '../../impl/transport/peer-transport.ts';
import { EXIT, UsageError, type CliIo } from '../io.ts';

const NODE_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/** `host:port`, with the port in 0–65535 (0: any free port). */
export function parseHostPort(flag: string, text: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(text);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || !(port >= 0 && port <= 65535)) throw new UsageError(`${flag} ${JSON.stringify(text)}: expected host:port, e.g. 127.0.0.1:7001`);
  return { host: m[1] as string, port };
}

/** `n1=127.0.0.1:7001,n2=…` → addresses by node id. */
export function parsePeers(flag: string, text: string): Record<string, { host: string; port: number }> {
  const peers: Record<string, { host: string; port: number }> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const id = part.slice(0, eq);
    if (eq < 0 || !NODE_ID.test(id)) throw new UsageError(`${flag}: ${JSON.stringify(part)} is not id=host:port (ids: letters, digits, _ . -)`);
    if (peers[id] !== undefined) throw new UsageError(`${flag}: node ${id} is listed twice`);
    peers[id] = parseHostPort(`${flag} ${id}`, part.slice(eq + 1));
  }
  return peers;
}

/** `n1=http://127.0.0.1:8001,…` → client URLs by node id. */
export function parseUrls(flag: string, text: string): Record<string, string> {
  const urls: Record<string, string> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const id = part.slice(0, eq);
    const url = part.slice(eq + 1);
    if (eq < 0 || !NODE_ID.test(id) || !/^https?:\/\/[^/\s]+$/.test(url)) throw new UsageError(`${flag}: ${JSON.stringify(part)} is not id=http://host:port`);
    urls[id] = url;
  }
  return urls;
}

const Flags = z.object({
  id: z.string().regex(NODE_ID),
  peers: z.string().min(1),
  data: z.string().min(1),
  client: z.string().min(1),
  clientUrls: z.string().min(1).optional(),
  trace: z.string().min(1).optional(),
  secretFile: z.string().min(1).optional(),
  logLevel: z.string().optional(),
  tickMs: z.coerce.number().int().min(1).max(10_000).optional(),
  snapshotEntries: z.coerce.number().int().min(1).optional(),
});

export function registerNode(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('node')
    .description('run one node of the networked reference server (file WAL, TCP peers, HTTP client API) until SIGINT/SIGTERM')
    .requiredOption('--id <id>', 'this node’s id (one of --peers)')
    .requiredOption('--peers <list>', 'every node’s peer address: n1=127.0.0.1:7001,n2=127.0.0.1:7002,…')
    .requiredOption('--data <dir>', 'data directory (WAL and snapshots; created if missing)')
    .requiredOption('--client <host:port>', 'where the HTTP client API listens')
    .option('--client-urls <list>', 'every node’s client URL, for redirects to the leader: n1=http://127.0.0.1:8001,…')
    .option('--trace <file>', 'append this node’s trace (format v1) to FILE')
    .option('--secret-file <file>', 'the cluster secret (else the environment variable FIGURE2_SECRET)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent', 'info')
    .option('--tick-ms <n>', 'milliseconds per logical tick (elections after 10–20 ticks)')
    .option('--snapshot-entries <n>', 'take a snapshot every N applied entries (default 10000)')
    .action(async (opts: Record<string, unknown>) => setExit(await runNode(opts, io)));
}

/** Parses the flags and starts the node; throws UsageError for bad input. */
export async function startNodeFromFlags(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<RunningNode> {
  const parsed = Flags.safeParse(raw);
  if (!parsed.success) {
    const flag = String(parsed.error.issues[0]?.path[0] ?? '?').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    throw new UsageError(`node: --${flag} ${JSON.stringify(raw[String(parsed.error.issues[0]?.path[0])])}: ${parsed.error.issues[0]?.message ?? 'invalid value'}`);
  }
  const f = parsed.data;
  const peers = parsePeers('--peers', f.peers);
  if (peers[f.id] === undefined) throw new UsageError(`node: --id ${f.id} is not one of --peers (${Object.keys(peers).join(', ')})`);
  try {
    const level = parseLogLevel(f.logLevel ?? 'info');
    const secret = loadSecret({ file: f.secretFile, env });
    return await startNode({
      id: f.id,
      peers,
      dataDir: f.data,
      client: parseHostPort('--client', f.client),
      clientUrls: f.clientUrls === undefined ? undefined : parseUrls('--client-urls', f.clientUrls),
      secret,
      tracePath: f.trace,
      logger: createLogger({ level, name: `figure2-${f.id}` }),
      tickMs: f.tickMs,
      snapshotThresholdEntries: f.snapshotEntries,
    });
  } catch (err) {
    if (err instanceof LogLevelError || err instanceof SecretError || err instanceof StorageError || err instanceof TransportError) throw new UsageError(`node ${f.id}: ${err.message}`);
    if (err instanceof Error && 'code' in err && (err.code === 'EADDRINUSE' || err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL')) {
      throw new UsageError(`node ${f.id}: cannot listen on --client ${f.client}: ${err.message}`);
    }
    throw err;
  }
}

export async function runNode(raw: Record<string, unknown>, io: CliIo): Promise<number> {
  const node = await startNodeFromFlags(raw, process.env);
  io.stdout(`node ${node.id}: clients at ${node.clientUrl}, peers at ${node.peerAddress.host}:${node.peerAddress.port}\n`);
  const outcome = await new Promise<'signal' | 'failed'>((resolve) => {
    const onSignal = (): void => resolve('signal');
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    void node.failed.then(() => resolve('failed'));
  });
  await node.stop();
  return outcome === 'failed' ? EXIT.VIOLATIONS : EXIT.OK;
}
