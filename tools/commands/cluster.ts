/**
 * `figure2 cluster --nodes 3 --data DIR [--base-port P] [--trace]`: a local cluster of real node
 * processes (conformance/chaos/local-cluster.ts) with a generated secret. Prints the client
 * endpoints, a curl example and each node's pid; reports leader changes and nodes that exit; on
 * Ctrl-C (or SIGTERM) stops every node gracefully and exits 0.
 *
 * With --trace each node appends its v1 trace to DIR/<id>.trace.ndjson, which
 * `figure2 check --merge DIR/*.trace.ndjson` checks.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { LocalCluster } from '../../conformance/chaos/local-cluster.ts';
import { EXIT, UsageError, type CliIo } from '../io.ts';

const Flags = z.object({
  nodes: z.coerce.number().int().min(1).max(9),
  data: z.string().min(1),
  basePort: z.coerce.number().int().min(0).max(64_000),
  trace: z.boolean().optional(),
  logLevel: z.string().min(1),
  tickMs: z.coerce.number().int().min(1).max(10_000).optional(),
});

export function registerCluster(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('cluster')
    .description('start a local cluster of real node processes on loopback; Ctrl-C stops it')
    .option('--nodes <n>', 'number of nodes', '3')
    .option('--data <dir>', 'data directory (one subdirectory per node, logs, secret, traces)', 'figure2-cluster')
    .option('--base-port <p>', 'peers listen on P+i, clients on P+1000+i (0: any free ports)', '7000')
    .option('--trace', 'each node writes its v1 trace to DIR/<id>.trace.ndjson')
    .option('--log-level <level>', 'the nodes’ log level (their logs: DIR/<id>.log)', 'info')
    .option('--tick-ms <n>', 'milliseconds per logical tick')
    .action(async (opts: Record<string, unknown>) => setExit(await runCluster(opts, io)));
}

export async function runCluster(raw: Record<string, unknown>, io: CliIo, until?: Promise<unknown>): Promise<number> {
  const parsed = Flags.safeParse(raw);
  if (!parsed.success) {
    const key = String(parsed.error.issues[0]?.path[0] ?? '?');
    throw new UsageError(`cluster: --${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${JSON.stringify(raw[key])}: invalid value`);
  }
  const f = parsed.data;
  let stopping = false;
  const cluster = await LocalCluster.start({
    nodes: f.nodes,
    dataDir: f.data,
    basePort: f.basePort,
    trace: f.trace,
    logLevel: f.logLevel,
    tickMs: f.tickMs,
    onExit: (id, how) => {
      if (!stopping) io.stdout(`${id} exited (${how}); its log: ${f.data}/${id}.log\n`);
    },
  });
  io.stdout(`figure2 cluster: ${f.nodes} nodes, data in ${f.data}, secret in ${cluster.secretFile}\n`);
  for (const id of cluster.ids) io.stdout(`  ${id}  ${cluster.clientUrl(id)}  pid ${cluster.pid(id) ?? '?'}\n`);
  const first = cluster.clientUrl(cluster.ids[0] as string);
  io.stdout(`try: curl -L -X PUT ${first}/kv/hello -d '{"value":"world"}' && curl -L ${first}/kv/hello\n`);
  if (f.trace === true) io.stdout(`traces: figure2 check --merge ${f.data}/*.trace.ndjson\n`);
  io.stdout('Ctrl-C stops the cluster.\n');

  const stop = until ?? new Promise<void>((done) => {
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
  });
  let stopped = false;
  void stop.then(() => (stopped = true));
  let last = '';
  while (!stopped) {
    const leader = await cluster.leader();
    const now = leader === undefined ? 'no leader' : `leader ${leader.id} (term ${leader.currentTerm})`;
    if (now !== last) io.stdout(`${now}\n`);
    last = now;
    await Promise.race([stop, new Promise((done) => setTimeout(done, 500))]);
  }
  stopping = true;
  io.stdout('stopping…\n');
  await cluster.stop();
  io.stdout('stopped\n');
  return EXIT.OK;
}
