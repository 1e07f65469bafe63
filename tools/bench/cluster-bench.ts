/**
 * `npm run bench:cluster`: the networked reference server end to end — three real `figure2 node`
 * processes on loopback (conformance/chaos/local-cluster.ts: file WAL with fdatasync, TCP peers,
 * the Fastify client API), driven from this process over keep-alive HTTP connections (node:http,
 * one Agent per measurement) straight to the leader:
 *
 * - writes (`PUT /kv/:key`, 100-byte values, each client with its own session, CL-ONCE headers):
 *   throughput and latency p50/p99 with 1, 16 and 128 concurrent closed-loop clients;
 * - linearizable reads (`GET /kv/:key`, ReadIndex) with 16 and 128 clients;
 * - in the same run, the disk's raw limit: a loop of 4 KiB pwritev + fdatasync (one sync at a
 *   time, as many as the disk does), next to which each write row prints the leader's fsyncs per
 *   second (from its `/metrics` fsync count), commits per fsync (writes acknowledged per fsync of
 *   the leader, and of each follower: the group commit's batch) and its throughput against the
 *   raw fsync rate;
 * - floors: the same load generator against servers without Raft, each in a process of its own —
 *   bare node:http, bare Fastify, and the figure2 client API over an instant in-memory node — so
 *   that what HTTP alone costs on this machine is measured, not guessed.
 *
 * Targets: ≥ 20,000 writes/s at 128 clients; p50 ≤ 2 ms at 1 client. Each figure is the median of
 * `--runs` runs (default 3), each run a fresh cluster, each measurement `--seconds` long
 * (default 3). Each row also prints the CPU every process used (from /proc/<pid>/stat) and the
 * CPU time per request: on a shared machine rates swing with the neighbours' load, CPU per request
 * much less, and N idle cores cap the rate at N / (CPU per request). The load average and the
 * CPU pressure (PSI) before and after say how busy the machine was. A measurement spoiled by a
 * leader change (an election on a starved machine) is made again on the new leader, up to twice.
 *
 * `--profile [--profile-phase write-1,write-128]`: one run with every node under V8's CPU profiler
 * (a hook preloaded through NODE_OPTIONS, which the spawned nodes inherit; see PROFILE_HOOK); the
 * leader's profile, cut to the window of each measurement named (default write-1 and write-128), is
 * summarised as self time by area (node:http, Fastify, Zod, the Raft core, the WAL, the transport,
 * GC, idle…), inclusive time of chosen frames, and self time by function. `--keep-profiles DIR`
 * keeps the .cpuprofile files (open them in Chrome DevTools).
 *
 * Run alone: `npx tsx tools/bench/cluster-bench.ts [--runs N] [--seconds S] [--json] [--profile]
 * [--only write-1,write-128,floors,…] [--tick-ms N]`. Data goes under os.tmpdir() and is removed;
 * every process started is stopped, also on error.
 */
import { spawn } from 'node:child_process';
import { Agent, createServer, request, type OutgoingHttpHeaders } from 'node:http';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fastify } from 'fastify';
import { LocalCluster } from '../../conformance/chaos/local-cluster.ts';
import type { NodeStatus } from '../../impl/core/raft-node.ts';
import { createClientApi, type ClientCommand, type ClientNode } from '../../impl/server/client-api.ts';
import type { KvOutcome } from '../../impl/kv/store.ts';
import { nodeFs } from '../../impl/storage/fs-layer.ts';
import { percentile } from '../commands/wal.ts';
import { formatRate, isMainModule, median } from './harness.ts';

const SELF = fileURLToPath(import.meta.url);
const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const VALUE_BYTES = 100;
const WRITE_CLIENTS = [1, 16, 128] as const;
const READ_CLIENTS = [16, 128] as const;
/** Every cluster measurement, in the order a run makes them; `--only` picks some (and `floors`). */
const PLAN: readonly { readonly kind: 'write' | 'read'; readonly clients: number; readonly name: string }[] = [
  ...WRITE_CLIENTS.map((clients) => ({ kind: 'write' as const, clients, name: `write-${clients}` })),
  ...READ_CLIENTS.map((clients) => ({ kind: 'read' as const, clients, name: `read-${clients}` })),
];
export const MEASUREMENTS: readonly string[] = [...PLAN.map((p) => p.name), 'floors'];
const TARGET_WRITES_PER_SECOND = 20_000;
const TARGET_P50_MS = 2;
/** Bytes per write of the raw fdatasync loop. */
const RAW_WRITE_BYTES = 4096;
/** One request may take this long before the bench gives up on it (the server answers 504 after 10 s). */
const REQUEST_TIMEOUT_MS = 15_000;
/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ; 100 on Linux). */
const CLOCK_TICKS = 100;
/** A measurement spoiled by a leader change is made again on the new leader, at most this many times. */
const LEADER_CHANGE_RETRIES = 2;

/** What stops the processes running now (clusters, floor servers): run on SIGINT/SIGTERM too. */
const running = new Set<() => Promise<void>>();

/** Temporary directories in use, removed on SIGINT/SIGTERM too. */
const temporary = new Set<string>();

/** Stops every process this bench started and is still running, then removes its data. */
export async function stopEverything(): Promise<void> {
  await Promise.allSettled([...running].map((stop) => stop()));
  await Promise.allSettled([...temporary].map((dir) => rm(dir, { recursive: true, force: true })));
}

export interface ClusterBenchOptions {
  readonly runs: number;
  readonly seconds: number;
  /** Run the nodes under the CPU profiler and summarise the leader's profile in some measurements' windows. */
  readonly profile?: boolean | undefined;
  /** Which measurements the profile summaries cover (default `write-1` and `write-128`). */
  readonly profilePhases?: readonly string[] | undefined;
  /** Copy the .cpuprofile files here. */
  readonly keepProfiles?: string | undefined;
  /** The nodes' --tick-ms (default theirs: 10 ms, elections after 100–200 ms). */
  readonly tickMs?: number | undefined;
  /** Which measurements to make (of MEASUREMENTS); all by default. */
  readonly only?: readonly string[] | undefined;
  /** Progress lines (stderr). */
  readonly progress?: ((line: string) => void) | undefined;
}

/** One measurement of one run. */
export interface PhaseFigures {
  readonly ok: number;
  readonly failed: number;
  /** Status codes (or error codes) of the failed requests, with counts. */
  readonly failures: Readonly<Record<string, number>>;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** The leader's fsyncs (saves) during the measurement, and their mean duration. */
  readonly leaderFsyncs: number;
  readonly leaderFsyncMeanMs: number;
  /** Each follower's fsyncs during the measurement. */
  readonly followerFsyncs: readonly number[];
  /** CPU used during the measurement, as a fraction of one core: the leader, each follower, this process. */
  readonly leaderCpu: number;
  readonly followerCpu: readonly number[];
  readonly benchCpu: number;
  /** 1, or more when a leader change spoiled the first try(s). */
  readonly attempts: number;
}

export interface Row {
  readonly name: string;
  readonly kind: 'write' | 'read';
  readonly clients: number;
  readonly runs: readonly PhaseFigures[];
  /** Medians over the runs. */
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly fsyncsPerSecond: number;
  readonly commitsPerFsync: number;
  /** Writes acknowledged per follower fsync (median over followers and runs). */
  readonly commitsPerFollowerFsync: number;
  readonly leaderFsyncMeanMs: number;
  readonly leaderCpu: number;
  readonly followerCpu: number;
  readonly benchCpu: number;
  readonly failed: number;
  /** Measurements made again after a leader change, over all runs. */
  readonly remeasured: number;
  /**
   * CPU time per acknowledged request, in µs: the leader's alone, and the whole system's (leader,
   * followers and load generator). Less sensitive to a busy machine than rates are: on C otherwise
   * idle cores, CPU alone caps the rate at C / total.
   */
  readonly leaderCpuMicrosPerRequest: number;
  readonly totalCpuMicrosPerRequest: number;
}

export interface TargetFigure {
  readonly target: number;
  readonly measured: number;
  readonly met: boolean;
}

export interface ClusterBenchResult {
  readonly nodes: number;
  readonly valueBytes: number;
  readonly seconds: number;
  readonly runs: number;
  readonly cpus: number;
  readonly loadAverageBefore: readonly number[];
  readonly loadAverageAfter: readonly number[];
  /**
   * Linux PSI, /proc/pressure/cpu `some avg60`: the share of the last minute in which some task
   * waited for a CPU — how contended the machine was (undefined where not available).
   */
  readonly cpuPressureBefore: number | undefined;
  readonly cpuPressureAfter: number | undefined;
  /** The raw fdatasync loop: syncs per second (median over the runs) and each run's. */
  readonly rawFsyncsPerSecond: number;
  readonly rawFsyncsPerSecondRuns: readonly number[];
  readonly rows: readonly Row[];
  /** The same load generator against servers without Raft: how much of the budget HTTP itself takes. */
  readonly floors: readonly FloorRow[];
  /** Absent when the measurement was not made (`--only`). */
  readonly targets: {
    readonly writesPerSecondAt128: TargetFigure | undefined;
    readonly p50MsAt1: TargetFigure | undefined;
  };
  /** With --profile: one summary per measurement profiled. */
  readonly profiles?: readonly ProfileSummary[] | undefined;
}

// --- the disk's raw limit ----------------------------------------------------------------------

/** 4 KiB pwritev + fdatasync, one at a time, for `seconds`: syncs per second. */
async function measureRawFsync(dir: string, seconds: number): Promise<number> {
  const path = join(dir, 'raw-fsync.bin');
  const fd = await nodeFs.open(path, 'w');
  const buf = Buffer.alloc(RAW_WRITE_BYTES, 0x61);
  let position = 0;
  let syncs = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  try {
    while (performance.now() < deadline) {
      await nodeFs.writev(fd, [buf], position);
      await nodeFs.fdatasync(fd);
      position += buf.length;
      syncs++;
    }
  } finally {
    await nodeFs.close(fd);
    await rm(path, { force: true });
  }
  return syncs / ((performance.now() - started) / 1000);
}

// --- HTTP load -------------------------------------------------------------------------------

interface Target {
  readonly host: string;
  readonly port: number;
}

function targetOf(url: string): Target {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

/** One request on `agent`; resolves with the status code (the body is drained, or returned when `keepBody`). */
function send(agent: Agent, target: Target, method: string, path: string, headers: OutgoingHttpHeaders, body?: Buffer, keepBody = false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ agent, host: target.host, port: target.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      if (keepBody) res.on('data', (c: Buffer) => chunks.push(c));
      else res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: keepBody ? Buffer.concat(chunks).toString('utf8') : '' }));
      res.once('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('ETIMEDOUT')));
    req.once('error', reject);
    req.end(body);
  });
}

function valueFor(client: number): Buffer {
  const value = `client-${client}-`.padEnd(VALUE_BYTES, 'abcdefghijklmnopqrstuvwxyz0123456789');
  return Buffer.from(JSON.stringify({ value: value.slice(0, VALUE_BYTES) }));
}

interface LoadResult {
  readonly ok: number;
  readonly failed: number;
  readonly failures: Record<string, number>;
  readonly seconds: number;
  readonly latenciesMs: Float64Array;
}

/**
 * `clients` closed-loop clients, each on its own keep-alive connection, for `seconds`: writes
 * (PUT of a 100-byte value to the client's own key, with a session) or linearizable reads of
 * those keys.
 */
/** What a load run itself measured: counts, rate and latency percentiles. */
function loadFigures(load: LoadResult): Pick<PhaseFigures, 'ok' | 'failed' | 'failures' | 'perSecond' | 'p50Ms' | 'p99Ms'> {
  return {
    ok: load.ok,
    failed: load.failed,
    failures: load.failures,
    perSecond: load.ok / load.seconds,
    p50Ms: percentile(load.latenciesMs, 0.5),
    p99Ms: percentile(load.latenciesMs, 0.99),
  };
}

async function runLoad(spec: { target: Target; kind: 'write' | 'read'; clients: number; seconds: number; session: string }): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.clients, maxFreeSockets: spec.clients });
  const failures: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  const record = (ms: number): void => {
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = ms;
  };
  const started = performance.now();
  const deadline = started + spec.seconds * 1000;
  const client = async (c: number): Promise<void> => {
    const path = `/kv/bench-${c}`;
    const body = valueFor(c);
    const clientId = `${spec.session}-c${c}`;
    let seq = 0;
    while (performance.now() < deadline) {
      const headers: OutgoingHttpHeaders =
        spec.kind === 'write'
          ? { 'content-type': 'application/json', 'content-length': body.length, 'x-client-id': clientId, 'x-client-seq': String(++seq) }
          : {};
      const t0 = performance.now();
      try {
        const res = spec.kind === 'write' ? await send(agent, spec.target, 'PUT', path, headers, body) : await send(agent, spec.target, 'GET', path, headers);
        if (res.status === 200) {
          ok++;
          record(performance.now() - t0);
        } else {
          failed++;
          failures[String(res.status)] = (failures[String(res.status)] ?? 0) + 1;
        }
      } catch (error) {
        failed++;
        const code = error instanceof Error && 'code' in error ? String(error.code) : error instanceof Error ? error.message : String(error);
        failures[code] = (failures[code] ?? 0) + 1;
        // A refused or reset connection would otherwise spin.
        await new Promise((done) => setTimeout(done, 10));
      }
    }
  };
  await Promise.all(Array.from({ length: spec.clients }, (_, c) => client(c)));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  const sorted = latencies.slice(0, count).sort();
  return { ok, failed, failures, seconds, latenciesMs: sorted };
}

// --- HTTP floors: the same load against servers without Raft -------------------------------------

/** The servers a floor measurement runs in a child process of its own (as a node runs alone). */
export const FLOOR_SERVERS = {
  'node-http': 'bare node:http (PUT answers {"ok":true}, nothing else)',
  fastify: 'bare Fastify (PUT answers {"ok":true}, nothing else)',
  'client-api': 'figure2 client API over an instant in-memory node (no Raft, no disk)',
} as const;
export type FloorServer = keyof typeof FLOOR_SERVERS;
const FLOOR_CLIENTS = [1, 128] as const;

export interface FloorRow {
  readonly server: FloorServer;
  readonly clients: number;
  /** Medians over the runs. */
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly serverCpu: number;
  readonly benchCpu: number;
  readonly failed: number;
  /** CPU time per request, in µs: the server's, and the server's plus the load generator's. */
  readonly serverCpuMicrosPerRequest: number;
  readonly totalCpuMicrosPerRequest: number;
}

/** A ClientNode that applies at once, in memory: the client API's own cost, without Raft. */
class InstantNode implements ClientNode {
  private readonly values = new Map<string, string>();
  private index = 0;
  propose(command: ClientCommand): Promise<KvOutcome> {
    this.index++;
    if (command.op.kind === 'put') this.values.set(command.op.key, command.op.value);
    return Promise.resolve({ kind: 'ok' });
  }
  read(key: string): Promise<string | null> {
    return Promise.resolve(this.values.get(key) ?? null);
  }
  localGet(key: string): string | null {
    return this.values.get(key) ?? null;
  }
  status(): NodeStatus {
    const i = this.index;
    return { id: 'n1', role: 'leader', currentTerm: 1, votedFor: 'n1', leader: 'n1', commitIndex: i, lastApplied: i, snapshotIndex: 0, snapshotTerm: 0, lastIndex: i, memoryEntries: i };
  }
}

/** The child's side: serve on a free loopback port, print it, stop on SIGTERM. */
async function childFloorServer(server: FloorServer): Promise<void> {
  if (server === 'node-http') {
    const ok = Buffer.from('{"ok":true}');
    const plain = createServer((req, res) => {
      req.resume();
      req.once('end', () => {
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': ok.length });
        res.end(ok);
      });
    });
    await new Promise<void>((done) => plain.listen(0, '127.0.0.1', done));
    const address = plain.address();
    process.stdout.write(`${typeof address === 'object' && address !== null ? address.port : 0}\n`);
    process.once('SIGTERM', () => plain.close(() => process.exit(0)));
    return;
  }
  const app = server === 'client-api' ? createClientApi({ node: new InstantNode() }) : fastify({ logger: false });
  if (server === 'fastify') {
    app.put('/kv/:key', async () => ({ ok: true }));
  }
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  process.stdout.write(`${typeof address === 'object' && address !== null ? address.port : 0}\n`);
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

/** Starts a floor server in a child process (this file under tsx's loader, one process). */
async function startFloorServer(server: FloorServer): Promise<{ target: Target; pid: number | undefined; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--child-floor', server], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const stop = async (): Promise<void> => {
    running.delete(stop);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  running.add(stop);
  try {
    const lines = createInterface({ input: child.stdout });
    const port = await new Promise<number>((done, fail) => {
      lines.once('line', (line) => done(Number(line)));
      child.once('exit', (code) => fail(new Error(`the ${server} floor server exited (${String(code)}) before listening`)));
    });
    lines.close();
    return { target: { host: '127.0.0.1', port }, pid: child.pid, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function measureFloor(server: FloorServer, seconds: number, run: number): Promise<Map<number, PhaseFigures>> {
  const floor = await startFloorServer(server);
  const figures = new Map<number, PhaseFigures>();
  try {
    await runLoad({ target: floor.target, kind: 'write', clients: Math.max(...FLOOR_CLIENTS), seconds: 0.5, session: `floor-warm-${run}` });
    for (const clients of FLOOR_CLIENTS) {
      const cpuBefore = cpuSecondsOf(floor.pid);
      const selfBefore = selfCpuSeconds();
      const load = await runLoad({ target: floor.target, kind: 'write', clients, seconds, session: `floor-${run}-${clients}` });
      const cpuAfter = cpuSecondsOf(floor.pid);
      figures.set(clients, {
        ...loadFigures(load),
        leaderFsyncs: 0,
        leaderFsyncMeanMs: 0,
        followerFsyncs: [],
        leaderCpu: cpuAfter === undefined || cpuBefore === undefined ? Number.NaN : (cpuAfter - cpuBefore) / load.seconds,
        followerCpu: [],
        benchCpu: (selfCpuSeconds() - selfBefore) / load.seconds,
        attempts: 1,
      });
    }
  } finally {
    await floor.stop();
  }
  return figures;
}

// --- what the nodes report -------------------------------------------------------------------

/** The value of an unlabelled-or-node-labelled sample `name` in Prometheus text (0 when absent). */
function metricValue(text: string, name: string): number {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+(\\S+)$`, 'm').exec(text);
  return match === null ? 0 : Number(match[1]);
}

interface NodeMetrics {
  readonly fsyncs: number;
  readonly fsyncSeconds: number;
}

async function nodeMetrics(agent: Agent, target: Target): Promise<NodeMetrics> {
  const res = await send(agent, target, 'GET', '/metrics', {}, undefined, true);
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  return {
    fsyncs: metricValue(res.body, 'figure2_storage_fsync_duration_seconds_count'),
    fsyncSeconds: metricValue(res.body, 'figure2_storage_fsync_duration_seconds_sum'),
  };
}

/** utime + stime of a process, in seconds (Linux /proc); undefined elsewhere. */
function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; fields after its ')' are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

// --- one run ---------------------------------------------------------------------------------

interface RunFigures {
  readonly raw: number;
  readonly floors: ReadonlyMap<FloorServer, ReadonlyMap<number, PhaseFigures>>;
  readonly phases: ReadonlyMap<string, PhaseFigures>;
  /** When each measurement ran and on which leader, by name (`write-128`). */
  readonly windows: ReadonlyMap<string, ProfileWindow>;
}

/** CLOCK_MONOTONIC microseconds (as V8's profiler stamps samples), and the leader's process. */
interface ProfileWindow {
  readonly startUs: number;
  readonly endUs: number;
  readonly pid: number | undefined;
}

function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

async function oneRun(root: string, run: number, options: ClusterBenchOptions, profileDir: string | undefined): Promise<RunFigures> {
  const progress = options.progress ?? (() => {});
  const dataDir = join(root, `run-${run}`);
  mkdirSync(dataDir, { recursive: true });
  const raw = await measureRawFsync(dataDir, Math.min(2, options.seconds));
  progress(`run ${run + 1}: raw 4 KiB write + fdatasync loop: ${formatRate(raw)} syncs/s`);
  const floors = new Map<FloorServer, ReadonlyMap<number, PhaseFigures>>();
  for (const server of wants(options, 'floors') ? (Object.keys(FLOOR_SERVERS) as FloorServer[]) : []) {
    const figures = await measureFloor(server, options.seconds, run);
    floors.set(server, figures);
    progress(`run ${run + 1}: floor, ${server}: ${[...figures].map(([c, f]) => `${c} client${c === 1 ? '' : 's'} ${formatRate(f.perSecond)}/s p50 ${f.p50Ms.toFixed(2)} ms (server CPU ${pct(f.leaderCpu)}, bench ${pct(f.benchCpu)})`).join(', ')}`);
  }

  // The spawned nodes inherit this process's environment; only they are meant to see these.
  const restoreEnv = profileDir === undefined ? () => {} : profileEnvironment(profileDir);
  let cluster: LocalCluster | undefined;
  const stopCluster = async (): Promise<void> => {
    running.delete(stopCluster);
    // Graceful (SIGTERM): a profiled node writes its profile as it exits.
    await cluster?.stop(profileDir === undefined ? 5000 : 20_000);
  };
  running.add(stopCluster);
  const metricsAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    try {
      cluster = await LocalCluster.start({ nodes: 3, dataDir, basePort: 0, logLevel: 'warn', tickMs: options.tickMs });
    } finally {
      restoreEnv();
    }
    const c = cluster;
    /** The leader the next measurement drives, found again after a leader change. */
    const findLeader = async (): Promise<{ id: string; target: Target; pid: number | undefined; followers: (number | undefined)[]; followerTargets: Target[] }> => {
      const leader = await c.waitForLeader(30_000);
      if (leader === undefined) throw new Error('no leader within 30 s');
      progress(`run ${run + 1}: leader ${leader.id} (term ${leader.currentTerm}) at ${c.clientUrl(leader.id)}`);
      const followers = c.ids.filter((id) => id !== leader.id);
      return { id: leader.id, target: targetOf(c.clientUrl(leader.id)), pid: c.pid(leader.id), followers: followers.map((id) => c.pid(id)), followerTargets: followers.map((id) => targetOf(c.clientUrl(id))) };
    };
    let leader = await findLeader();

    // Warm-up: the JIT, the connections, and a value under every key the reads will ask for.
    await runLoad({ target: leader.target, kind: 'write', clients: Math.max(...WRITE_CLIENTS), seconds: 1, session: `warm-${run}` });
    await runLoad({ target: leader.target, kind: 'read', clients: 16, seconds: 0.5, session: `warm-${run}` });

    const phases = new Map<string, PhaseFigures>();
    const windows = new Map<string, ProfileWindow>();
    for (const { kind, clients, name } of PLAN.filter((p) => wants(options, p.name))) {
      for (let attempt = 0; ; attempt++) {
        const before = await nodeMetrics(metricsAgent, leader.target);
        const followersBefore = await Promise.all(leader.followerTargets.map((t) => nodeMetrics(metricsAgent, t).catch(() => undefined)));
        const cpuBefore = [leader.pid, ...leader.followers].map(cpuSecondsOf);
        const selfBefore = selfCpuSeconds();
        const startUs = monotonicUs();
        const load = await runLoad({ target: leader.target, kind, clients, seconds: options.seconds, session: `run${run}-${name}-${attempt}` });
        const endUs = monotonicUs();
        const selfAfter = selfCpuSeconds();
        const cpuAfter = [leader.pid, ...leader.followers].map(cpuSecondsOf);
        const after = await nodeMetrics(metricsAgent, leader.target).catch(() => before);
        const followersAfter = await Promise.all(leader.followerTargets.map((t) => nodeMetrics(metricsAgent, t).catch(() => undefined)));
        const followerFsyncs = followersBefore.map((b, i) => {
          const a = followersAfter[i];
          return a === undefined || b === undefined ? Number.NaN : a.fsyncs - b.fsyncs;
        });
        const cpu = cpuBefore.map((b, i) => {
          const a = cpuAfter[i];
          return a === undefined || b === undefined ? Number.NaN : (a - b) / load.seconds;
        });
        const fsyncs = after.fsyncs - before.fsyncs;
        const figures: PhaseFigures = {
          ...loadFigures(load),
          leaderFsyncs: fsyncs,
          leaderFsyncMeanMs: fsyncs === 0 ? 0 : ((after.fsyncSeconds - before.fsyncSeconds) / fsyncs) * 1000,
          followerFsyncs,
          leaderCpu: cpu[0] ?? Number.NaN,
          followerCpu: cpu.slice(1),
          benchCpu: (selfAfter - selfBefore) / load.seconds,
          attempts: attempt + 1,
        };
        progress(
          `run ${run + 1}: ${kind}s × ${clients}: ${formatRate(figures.perSecond)}/s, p50 ${figures.p50Ms.toFixed(2)} ms, p99 ${figures.p99Ms.toFixed(2)} ms` +
            (kind === 'write' ? `, ${(load.ok / Math.max(1, fsyncs)).toFixed(1)} commits/fsync (followers ${followerFsyncs.map((n) => (load.ok / Math.max(1, n)).toFixed(1)).join(', ')})` : '') +
            `, CPU leader ${pct(figures.leaderCpu)} followers ${figures.followerCpu.map(pct).join(' ')} bench ${pct(figures.benchCpu)}` +
            (load.failed > 0 ? `, ${load.failed} failed ${JSON.stringify(load.failures)}` : ''),
        );
        // A leader change (an election on a starved machine) spoils the measurement: 307s, 503s,
        // 504s and a stall. Measure again on the new leader, a bounded number of times.
        const now = await c.leader();
        const changed = now?.id !== leader.id || load.failed > 0;
        if (!changed || attempt >= LEADER_CHANGE_RETRIES) {
          if (changed) progress(`run ${run + 1}: ${name}: the leader changed again; keeping this measurement, failures and all`);
          phases.set(name, figures);
          windows.set(name, { startUs, endUs, pid: leader.pid });
          break;
        }
        progress(`run ${run + 1}: ${name}: the leader changed during the measurement (${load.failed} requests failed); measuring again`);
        leader = await findLeader();
        await runLoad({ target: leader.target, kind: 'write', clients: 16, seconds: 0.5, session: `rewarm-${run}-${name}-${attempt}` });
      }
    }
    return { raw, floors, phases, windows };
  } finally {
    metricsAgent.destroy();
    await stopCluster();
  }
}

function pct(fraction: number): string {
  return Number.isNaN(fraction) ? '?' : `${(fraction * 100).toFixed(0)}%`;
}

// --- the profile -----------------------------------------------------------------------------

/** Where the profiling hook writes; read by the hook in each node. */
const PROFILE_DIR_ENV = 'FIGURE2_BENCH_CPU_PROFILE_DIR';

/**
 * The profiling hook, preloaded into each node with `NODE_OPTIONS=--import` (`--cpu-prof` itself
 * is not allowed in NODE_OPTIONS, and LocalCluster spawns the nodes): V8's sampling profiler
 * through an in-process inspector session, stopped and written at exit — after the graceful
 * shutdown of SIGTERM. An in-thread session answers `post` synchronously, so this works in an
 * 'exit' handler. Same format as `--cpu-prof`'s, same 1 ms sampling interval.
 */
const PROFILE_HOOK = `import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
const dir = process.env[${JSON.stringify(PROFILE_DIR_ENV)}];
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  process.on('exit', () => {
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(join(dir, 'CPU.' + process.pid + '.cpuprofile'), JSON.stringify(result.profile));
    });
  });
}
`;

/** Writes the hook into `dir`, points NODE_OPTIONS at it; returns what puts the environment back. */
function profileEnvironment(dir: string): () => void {
  const hook = join(dir, 'profile-hook.mjs');
  writeFileSync(hook, PROFILE_HOOK);
  const saved = { nodeOptions: process.env['NODE_OPTIONS'], dir: process.env[PROFILE_DIR_ENV] };
  process.env['NODE_OPTIONS'] = `${saved.nodeOptions ?? ''} --import ${pathToFileURL(hook).href}`.trim();
  process.env[PROFILE_DIR_ENV] = dir;
  return () => {
    for (const [name, value] of [['NODE_OPTIONS', saved.nodeOptions], [PROFILE_DIR_ENV, saved.dir]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly CpuProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileSummary {
  readonly file: string;
  /** The measurement whose window the summary covers (`write-128`…). */
  readonly phase?: string | undefined;
  /** Milliseconds of samples inside the window. */
  readonly windowMs: number;
  /** Self time by area, as a fraction of the window, largest first. */
  readonly selfByArea: readonly { readonly area: string; readonly fraction: number }[];
  /** Time with an area anywhere on the stack (inclusive), as a fraction of the window. */
  readonly inclusiveByArea: readonly { readonly area: string; readonly fraction: number }[];
  /** Self time by function, largest first. */
  readonly topFunctions: readonly { readonly fn: string; readonly fraction: number }[];
  /** Inclusive time of chosen frames that answer "what limits it" (the Ready loop, the fsync, JSON…). */
  readonly markers: readonly { readonly marker: string; readonly fraction: number }[];
}

/** The area a frame belongs to, by its script URL (or its name, for the VM's pseudo-frames). */
function areaOf(frame: CpuProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(program)') return 'VM/native (program)';
    if (functionName === '(root)') return 'root';
    return `native: ${functionName || '(anonymous)'}`;
  }
  const areas: [RegExp, string][] = [
    [/\/node_modules\/(fastify|find-my-way|light-my-request|avvio|fast-json-stringify|@fastify|fast-querystring|fast-decode-uri-component|secure-json-parse|safe-regex2|ret|toad-cache|rfdc|fast-uri|json-schema-ref-resolver|process-warning|abstract-logging)\//, 'Fastify'],
    [/\/node_modules\/zod\//, 'Zod'],
    [/\/node_modules\/(pino|pino-std-serializers|sonic-boom|thread-stream|quick-format-unescaped|fast-redact|safe-stable-stringify)\//, 'pino'],
    [/\/node_modules\/(prom-client|bintrees|tdigest)\//, 'prom-client'],
    [/\/node_modules\/(tsx|esbuild|get-tsconfig)\//, 'tsx loader'],
    [/\/node_modules\//, 'other packages'],
    [/\/impl\/core\//, 'Raft core (impl/core)'],
    [/\/impl\/kv\//, 'KV state machine (impl/kv)'],
    [/\/impl\/storage\//, 'WAL (impl/storage)'],
    [/\/impl\/transport\//, 'peer transport (impl/transport)'],
    [/\/impl\/server\/client-api/, 'client API (impl/server/client-api)'],
    [/\/impl\/server\//, 'node host/process (impl/server)'],
    [/\/spec\//, 'spec schemas (spec/)'],
    [/^node:(_http|internal\/http|http)|node:internal\/(streams\/.*http|deps\/undici)|_http_/, 'node:http'],
    [/^node:(net|internal\/net|internal\/stream_base|stream|internal\/streams|internal\/stream)/, 'node:net/streams'],
    [/^node:(fs|internal\/fs)/, 'node:fs'],
    [/^node:(crypto|internal\/crypto)/, 'node:crypto'],
    [/^node:internal\/(timers|process\/task_queues|async_hooks)|^node:timers/, 'node:timers/microtasks'],
    [/^node:/, 'node: other'],
  ];
  for (const [re, area] of areas) if (re.test(url)) return area;
  return 'other';
}

function frameName(frame: CpuProfileNode['callFrame']): string {
  if (frame.url === '') return frame.functionName || '(anonymous)';
  // tsx marks the modules it loads with a `?tsx-namespace=…` query.
  const file = frame.url.replace(/\?.*$/, '').replace(/^file:\/\/.*?\/(node_modules\/|impl\/|tools\/|spec\/|conformance\/)/, '$1');
  return `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
}

/** Frames whose inclusive time says where the leader's CPU goes (name test, label). */
const MARKERS: readonly [(f: CpuProfileNode['callFrame']) => boolean, string][] = [
  [(f) => f.functionName === 'drain' && f.url.includes('/impl/server/node-host'), 'NodeHost Ready loop (drain)'],
  [(f) => f.functionName === 'propose' && f.url.includes('/impl/server/node-host'), 'NodeHost.propose'],
  [(f) => f.functionName === 'read' && f.url.includes('/impl/server/node-host'), 'NodeHost.read'],
  [(f) => f.url.includes('/impl/storage/'), 'WAL code (impl/storage), inclusive'],
  [(f) => /^(putKey|getKey|write)$/.test(f.functionName) && f.url.includes('/impl/server/client-api'), 'client API handlers (putKey/getKey/write)'],
  [(f) => /^(parseSession|parseBody|parseKey|validate)$/.test(f.functionName) && f.url.includes('/impl/server/client-api'), 'gateway validation (parseSession/parseBody/parseKey)'],
  [(f) => f.functionName === 'observeAnswered' || f.functionName === 'observeRequest' || f.functionName === 'observeFsync', 'metrics observe* (prom-client)'],
  [(f) => f.url === '' && (f.functionName === 'parse' || f.functionName === 'stringify'), 'JSON.parse/stringify (native)'],
  [(f) => /\/node_modules\/(fastify|find-my-way|light-my-request|avvio|fast-json-stringify)\//.test(f.url), 'Fastify, inclusive'],
  [(f) => /^node:(_http|internal\/http)|_http_/.test(f.url), 'node:http, inclusive'],
  [(f) => f.url.includes('/impl/transport/'), 'peer transport, inclusive'],
  [(f) => f.url.includes('/impl/core/'), 'Raft core, inclusive'],
  [(f) => f.functionName === 'encodeCommand' || f.functionName === 'decodeCommand' || f.url.includes('/impl/kv/'), 'KV (encode/decode/apply), inclusive'],
];

export function summariseProfile(file: string, window: { readonly startUs: number; readonly endUs: number } | undefined): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, CpuProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<string, number>();
  const selfFn = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const markers = new Map<string, number>();
  let total = 0;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    // A sample's weight is the interval until the next one (the last: its own delta).
    const weight = profile.timeDeltas[i + 1] ?? delta;
    if (window !== undefined && (t < window.startUs || t > window.endUs)) continue;
    const leaf = byId.get(profile.samples[i] as number);
    if (leaf === undefined) continue;
    total += weight;
    const area = areaOf(leaf.callFrame);
    self.set(area, (self.get(area) ?? 0) + weight);
    const fn = frameName(leaf.callFrame);
    selfFn.set(fn, (selfFn.get(fn) ?? 0) + weight);
    const seenAreas = new Set<string>();
    const seenMarkers = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const frame = (byId.get(id) as CpuProfileNode).callFrame;
      seenAreas.add(areaOf(frame));
      for (const [test, label] of MARKERS) if (test(frame)) seenMarkers.add(label);
    }
    for (const a of seenAreas) inclusive.set(a, (inclusive.get(a) ?? 0) + weight);
    for (const m of seenMarkers) markers.set(m, (markers.get(m) ?? 0) + weight);
  }
  const ranked = (m: Map<string, number>): [string, number][] => [...m.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, total === 0 ? 0 : v / total]);
  return {
    file,
    windowMs: total / 1000,
    selfByArea: ranked(self).map(([area, fraction]) => ({ area, fraction })),
    inclusiveByArea: ranked(inclusive)
      .filter(([area]) => area !== 'root')
      .map(([area, fraction]) => ({ area, fraction })),
    topFunctions: ranked(selfFn)
      .slice(0, 25)
      .map(([fn, fraction]) => ({ fn, fraction })),
    markers: ranked(markers).map(([marker, fraction]) => ({ marker, fraction })),
  };
}

/** The profile file the hook wrote for process `pid`. */
function profileOfPid(dir: string, pid: number | undefined): string | undefined {
  if (pid === undefined) return undefined;
  const path = join(dir, `CPU.${pid}.cpuprofile`);
  return existsSync(path) ? path : undefined;
}

// --- the bench -------------------------------------------------------------------------------

/** `some avg60` of /proc/pressure/cpu, in percent. */
function cpuPressure(): number | undefined {
  try {
    const match = /^some .*avg60=([0-9.]+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

export async function runClusterBench(options: ClusterBenchOptions): Promise<ClusterBenchResult> {
  const loadAverageBefore = loadavg();
  const cpuPressureBefore = cpuPressure();
  const root = await mkdtemp(join(tmpdir(), 'figure2-cluster-bench-'));
  temporary.add(root);
  const runs: RunFigures[] = [];
  const profiles: ProfileSummary[] = [];
  try {
    const profileDir = options.profile === true ? join(root, 'profiles') : undefined;
    if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
    for (let r = 0; r < options.runs; r++) runs.push(await oneRun(root, r, options, profileDir));
    if (profileDir !== undefined) {
      const last = runs[runs.length - 1] as RunFigures;
      const keep = options.keepProfiles;
      if (keep !== undefined) {
        mkdirSync(keep, { recursive: true });
        for (const f of readdirSync(profileDir)) copyFileSync(join(profileDir, f), join(keep, f));
      }
      for (const phase of options.profilePhases ?? ['write-1', 'write-128'].filter((name) => last.windows.has(name))) {
        const window = last.windows.get(phase);
        if (window === undefined) throw new Error(`--profile-phase ${phase}: no such measurement (${[...last.windows.keys()].join(', ')})`);
        const file = profileOfPid(profileDir, window.pid);
        if (file === undefined) throw new Error(`no CPU profile of the leader (pid ${String(window.pid)}) in ${profileDir}`);
        const summary = { ...summariseProfile(file, window), phase };
        profiles.push(keep === undefined ? summary : { ...summary, file: join(keep, file.slice(profileDir.length + 1)) });
      }
    }
  } finally {
    await rm(root, { recursive: true, force: true });
    temporary.delete(root);
  }
  const loadAverageAfter = loadavg();
  const cpuPressureAfter = cpuPressure();

  const rawRuns = runs.map((r) => r.raw);
  const rows: Row[] = [];
  for (const { kind, clients } of PLAN.filter((p) => wants(options, p.name))) {
    const figures = runs.map((r) => r.phases.get(`${kind}-${clients}`) as PhaseFigures);
    const seconds = figures.map((f) => (f.perSecond === 0 ? options.seconds : f.ok / f.perSecond));
    rows.push({
      name: `${kind === 'write' ? 'writes' : 'linearizable reads'}, ${clients} client${clients === 1 ? '' : 's'}`,
      kind,
      clients,
      runs: figures,
      perSecond: median(figures.map((f) => f.perSecond)),
      p50Ms: median(figures.map((f) => f.p50Ms)),
      p99Ms: median(figures.map((f) => f.p99Ms)),
      fsyncsPerSecond: median(figures.map((f, i) => f.leaderFsyncs / (seconds[i] as number))),
      // Reads do not go through the log: commits per fsync is a write's figure (0 for reads).
      commitsPerFsync: kind === 'read' ? 0 : median(figures.map((f) => (f.leaderFsyncs === 0 ? 0 : f.ok / f.leaderFsyncs))),
      commitsPerFollowerFsync: kind === 'read' ? 0 : median(figures.flatMap((f) => f.followerFsyncs.map((n) => (n > 0 ? f.ok / n : 0)))),
      leaderFsyncMeanMs: median(figures.map((f) => f.leaderFsyncMeanMs)),
      leaderCpu: median(figures.map((f) => f.leaderCpu)),
      followerCpu: median(figures.flatMap((f) => f.followerCpu)),
      benchCpu: median(figures.map((f) => f.benchCpu)),
      failed: figures.reduce((s, f) => s + f.failed, 0),
      remeasured: figures.reduce((s, f) => s + f.attempts - 1, 0),
      leaderCpuMicrosPerRequest: median(figures.map((f) => (f.leaderCpu / f.perSecond) * 1e6)),
      totalCpuMicrosPerRequest: median(figures.map((f) => ((f.leaderCpu + f.followerCpu.reduce((a, b) => a + b, 0) + f.benchCpu) / f.perSecond) * 1e6)),
    });
  }
  const floors: FloorRow[] = [];
  for (const server of wants(options, 'floors') ? (Object.keys(FLOOR_SERVERS) as FloorServer[]) : []) {
    for (const clients of FLOOR_CLIENTS) {
      const figures = runs.map((r) => r.floors.get(server)?.get(clients) as PhaseFigures);
      floors.push({
        server,
        clients,
        perSecond: median(figures.map((f) => f.perSecond)),
        p50Ms: median(figures.map((f) => f.p50Ms)),
        p99Ms: median(figures.map((f) => f.p99Ms)),
        serverCpu: median(figures.map((f) => f.leaderCpu)),
        benchCpu: median(figures.map((f) => f.benchCpu)),
        failed: figures.reduce((sum, f) => sum + f.failed, 0),
        serverCpuMicrosPerRequest: median(figures.map((f) => (f.leaderCpu / f.perSecond) * 1e6)),
        totalCpuMicrosPerRequest: median(figures.map((f) => ((f.leaderCpu + f.benchCpu) / f.perSecond) * 1e6)),
      });
    }
  }
  const w128 = rows.find((r) => r.kind === 'write' && r.clients === 128);
  const w1 = rows.find((r) => r.kind === 'write' && r.clients === 1);
  return {
    nodes: 3,
    valueBytes: VALUE_BYTES,
    seconds: options.seconds,
    runs: options.runs,
    cpus: cpus().length,
    loadAverageBefore,
    loadAverageAfter,
    cpuPressureBefore,
    cpuPressureAfter,
    rawFsyncsPerSecond: median(rawRuns),
    rawFsyncsPerSecondRuns: rawRuns,
    rows,
    floors,
    targets: {
      writesPerSecondAt128: w128 === undefined ? undefined : { target: TARGET_WRITES_PER_SECOND, measured: w128.perSecond, met: w128.perSecond >= TARGET_WRITES_PER_SECOND },
      p50MsAt1: w1 === undefined ? undefined : { target: TARGET_P50_MS, measured: w1.p50Ms, met: w1.p50Ms <= TARGET_P50_MS },
    },
    profiles: options.profile === true ? profiles : undefined,
  };
}

function wants(options: ClusterBenchOptions, measurement: string): boolean {
  return options.only === undefined || options.only.includes(measurement);
}

function loadText(l: readonly number[]): string {
  return l.map((x) => x.toFixed(2)).join(' ');
}

export function formatClusterBench(result: ClusterBenchResult): string[] {
  const raw = result.rawFsyncsPerSecond;
  const lines = [
    `Cluster: ${result.nodes} figure2 node processes on loopback (file WAL, fdatasync on), ${result.valueBytes}-byte values, keep-alive HTTP straight to the leader; ` +
      `median of ${result.runs} run${result.runs === 1 ? '' : 's'} × ${result.seconds} s per row; ${result.cpus} CPUs, load average ${loadText(result.loadAverageBefore)} before, ${loadText(result.loadAverageAfter)} after` +
      (result.cpuPressureBefore === undefined ? '' : `, CPU pressure (PSI some avg60) ${result.cpuPressureBefore}% before, ${result.cpuPressureAfter ?? '?'}% after`),
    `  disk's raw limit: ${RAW_WRITE_BYTES / 1024} KiB pwritev + fdatasync loop, one at a time: ${formatRate(raw)} fsyncs/s (${(1000 / raw).toFixed(3)} ms each; runs ${result.rawFsyncsPerSecondRuns.map((r) => formatRate(r)).join(', ')})`,
  ];
  for (const row of result.rows) {
    const head = `  ${row.name.padEnd(31)}: ${formatRate(row.perSecond).padStart(7)}/s, p50 ${row.p50Ms.toFixed(2)} ms, p99 ${row.p99Ms.toFixed(2)} ms`;
    const disk =
      row.kind === 'write'
        ? `; leader ${formatRate(row.fsyncsPerSecond)} fsyncs/s (${(row.fsyncsPerSecond / raw).toFixed(2)} of the raw limit, ${row.leaderFsyncMeanMs.toFixed(2)} ms each), ${row.commitsPerFsync.toFixed(1)} commits/fsync (followers ${row.commitsPerFollowerFsync.toFixed(1)}), throughput ${(row.perSecond / raw).toFixed(2)}× the raw fsync rate`
        : '';
    const cpu =
      `; CPU leader ${pct(row.leaderCpu)}, followers ${pct(row.followerCpu)}, load generator ${pct(row.benchCpu)}; ` +
      `CPU per request ${row.leaderCpuMicrosPerRequest.toFixed(0)} µs leader, ${row.totalCpuMicrosPerRequest.toFixed(0)} µs all processes (${result.cpus} idle cores would cap it at ${formatRate((result.cpus * 1e6) / row.totalCpuMicrosPerRequest)}/s)`;
    const failed = (row.failed > 0 ? `; ${row.failed} failed requests` : '') + (row.remeasured > 0 ? `; measured again ${row.remeasured}× after a leader change` : '');
    let target = '';
    if (row.kind === 'write' && row.clients === 128) {
      const t = result.targets.writesPerSecondAt128 as TargetFigure;
      target = ` [target ≥ ${formatRate(t.target)}/s: ${t.met ? 'met' : 'MISSED'}, ${(t.measured / t.target).toFixed(2)}× the target]`;
    }
    if (row.kind === 'write' && row.clients === 1) {
      const t = result.targets.p50MsAt1 as TargetFigure;
      target = ` [target p50 ≤ ${t.target} ms: ${t.met ? 'met' : 'MISSED'}, ${(t.measured / t.target).toFixed(2)}× the target]`;
    }
    lines.push(head + disk + cpu + failed + target);
  }
  if (result.floors.length > 0) lines.push('  the same load generator against servers without Raft (floors, each in a process of its own):');
  for (const f of result.floors) {
    const cluster = result.rows.find((r) => r.kind === 'write' && r.clients === f.clients);
    const vs = cluster === undefined ? '' : `; the cluster does ${(cluster.perSecond / f.perSecond).toFixed(2)}× its throughput`;
    lines.push(
      `    ${FLOOR_SERVERS[f.server]}, ${f.clients} client${f.clients === 1 ? '' : 's'}: ${formatRate(f.perSecond)}/s, p50 ${f.p50Ms.toFixed(2)} ms, p99 ${f.p99Ms.toFixed(2)} ms; ` +
        `CPU server ${pct(f.serverCpu)}, load generator ${pct(f.benchCpu)}; CPU per request ${f.serverCpuMicrosPerRequest.toFixed(0)} µs server, ${f.totalCpuMicrosPerRequest.toFixed(0)} µs with the load generator${vs}${f.failed > 0 ? `; ${f.failed} failed` : ''}`,
    );
  }
  for (const p of result.profiles ?? []) lines.push(...formatProfile(p));
  return lines;
}

function formatProfile(p: ProfileSummary): string[] {
  const f = (x: number): string => `${(x * 100).toFixed(1)}%`;
  return [
    `  leader CPU profile, window of the ${p.phase ?? ''} measurement (${(p.windowMs / 1000).toFixed(1)} s of samples; ${p.file}):`,
    `    self time by area: ${p.selfByArea
      .filter((a) => a.fraction >= 0.005)
      .map((a) => `${a.area} ${f(a.fraction)}`)
      .join(', ')}`,
    `    inclusive by area: ${p.inclusiveByArea
      .filter((a) => a.fraction >= 0.01)
      .map((a) => `${a.area} ${f(a.fraction)}`)
      .join(', ')}`,
    `    inclusive, chosen frames: ${p.markers.map((m) => `${m.marker} ${f(m.fraction)}`).join(', ')}`,
    `    top functions (self): ${p.topFunctions
      .slice(0, 15)
      .map((t) => `${t.fn} ${f(t.fraction)}`)
      .join('; ')}`,
  ];
}

function flagValue(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

if (isMainModule(import.meta.url)) {
  const args = process.argv.slice(2);
  const floorServer = flagValue(args, '--child-floor');
  if (floorServer !== undefined) {
    if (!(floorServer in FLOOR_SERVERS)) throw new Error(`--child-floor ${floorServer}: not one of ${Object.keys(FLOOR_SERVERS).join(', ')}`);
    await childFloorServer(floorServer as FloorServer);
  } else {
    await main(args);
  }
}

async function main(args: readonly string[]): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`${signal}: stopping the node processes\n`);
      void stopEverything().finally(() => process.exit(130));
    });
  }
  const asJson = args.includes('--json');
  const profile = args.includes('--profile');
  const runs = Math.max(1, Math.floor(Number(flagValue(args, '--runs') ?? (profile ? 1 : 3)) || 3));
  const seconds = Math.max(0.5, Number(flagValue(args, '--seconds') ?? 3) || 3);
  const only = flagValue(args, '--only')?.split(',');
  for (const m of only ?? []) if (!MEASUREMENTS.includes(m)) throw new Error(`--only: unknown measurement ${m} (measurements: ${MEASUREMENTS.join(', ')})`);
  const tickFlag = flagValue(args, '--tick-ms');
  const tickMs = tickFlag === undefined ? undefined : Number(tickFlag);
  if (tickMs !== undefined && !(Number.isInteger(tickMs) && tickMs >= 1 && tickMs <= 10_000)) throw new Error(`--tick-ms ${tickFlag}: expected an integer from 1 to 10000`);
  const result = await runClusterBench({
    runs,
    seconds,
    profile,
    keepProfiles: flagValue(args, '--keep-profiles'),
    profilePhases: flagValue(args, '--profile-phase')?.split(','),
    only,
    tickMs,
    progress: asJson ? undefined : (line) => process.stderr.write(`${line}\n`),
  });
  if (asJson) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else for (const line of formatClusterBench(result)) process.stdout.write(`${line}\n`);
}
