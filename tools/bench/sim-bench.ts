/**
 * Simulator throughput, for `npm run bench` (run.ts imports `simBenchRows`): a 5-node cluster of
 * the reference core and KV under steady client load in the seeded simulator, fault-free, in
 * simulated messages delivered and commands committed per second — with tracing off and with
 * tracing to an NDJSON file — next to baselines measured in the same process:
 *
 * - messages/s with tracing off vs. the same network moving the same number of messages with no
 *   Raft behind it (echo hosts that bounce every message back, through the same per-tick loop):
 *   the ratio is what Raft (core + KV + host loop) costs on top of the bare simulator;
 * - messages/s and commands/s with tracing to a file vs. the same with tracing off: what tracing
 *   costs (one JSON.stringify per event, written through a stream).
 *
 * Each run replays the same seed, so every run does the same work; rates are medians.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimCluster } from '../../conformance/sim/cluster.ts';
import { DEFAULT_NETWORK_OPTIONS, SimNetwork } from '../../conformance/sim/network.ts';
import { STREAM, streamPrng } from '../../conformance/sim/seeds.ts';
import { NdjsonTraceWriter } from '../../conformance/sim/trace-writer.ts';
import type { Envelope } from '../../impl/core/types.ts';
import { median, type Measurement } from './harness.ts';

export interface SimBenchOptions {
  /** Measured runs per workload (median reported). */
  readonly runs: number;
  /** Unmeasured runs first (JIT warm-up); default 1. */
  readonly warmups?: number | undefined;
  /** Ticks per simulated run (default 5000). */
  readonly ticks?: number | undefined;
  /** Sequential clients with no think time (default 16): enough to keep the leader busy. */
  readonly clients?: number | undefined;
  /** Where the trace file goes (default: a fresh temp directory, removed afterwards). */
  readonly dir?: string | undefined;
}

/** The shape of run.ts's rows: a measurement, its same-run baseline, and measured/baseline. */
export interface SimBenchRow {
  readonly measured: Measurement;
  readonly baseline: Measurement;
  readonly ratio: number;
}

const NODES = 5;
const SEED = 1;
/** Traced runs yield to the event loop between slices of this many ticks… */
const TICKS_PER_SLICE = 50;
/** …and wait for the stream to drain when more than this is buffered. */
const STREAM_BACKLOG_BYTES = 8 << 20;

interface RunFigures {
  readonly messages: number;
  readonly commands: number;
  readonly seconds: number;
  /** Messages in flight on average (delivered per tick × mean delay): what the echo baseline keeps in flight. */
  readonly inFlightMean: number;
  readonly ticks: number;
}

/** One simulated run; with `tracePath`, every event is written to that file (the time includes the final flush). */
async function raftRun(options: { readonly ticks: number; readonly clients: number; readonly tracePath?: string | undefined }): Promise<RunFigures> {
  const stream = options.tracePath === undefined ? undefined : createWriteStream(options.tracePath);
  const writer = stream === undefined ? undefined : new NdjsonTraceWriter({ write: (chunk) => void stream.write(chunk) });
  const start = performance.now();
  const cluster = new SimCluster({ seed: SEED, nodes: NODES, clients: { clients: options.clients, thinkTicksMax: 0 }, trace: writer });
  if (stream === undefined) {
    cluster.run(options.ticks);
  } else {
    // The simulation is synchronous: without yielding, the stream could not write anything until
    // the end and would hold the whole trace in memory. Run in slices; wait when it is behind.
    for (let done = 0; done < options.ticks; done += TICKS_PER_SLICE) {
      cluster.run(Math.min(TICKS_PER_SLICE, options.ticks - done));
      if (stream.writableLength > STREAM_BACKLOG_BYTES) await new Promise<void>((resolve) => stream.once('drain', resolve));
    }
  }
  if (writer !== undefined && stream !== undefined) {
    writer.close();
    await new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
  const seconds = (performance.now() - start) / 1000;
  const net = cluster.network.stats;
  const delayMean = (DEFAULT_NETWORK_OPTIONS.delayTicksMin + DEFAULT_NETWORK_OPTIONS.delayTicksMax) / 2;
  return {
    messages: net.delivered,
    commands: cluster.stats.commandsCommitted,
    seconds,
    inFlightMean: (net.delivered / options.ticks) * delayMean,
    ticks: options.ticks,
  };
}

/**
 * The floor: the same network and per-tick loop, hosts that bounce each message back (one new
 * envelope per message, as a Raft reply would be), `messages` deliveries in all, with as many
 * messages in flight as the Raft run had on average.
 */
function echoRun(options: { readonly messages: number; readonly inFlight: number }): RunFigures {
  const ids = Array.from({ length: NODES }, (_, i) => `n${i + 1}`);
  const hostIndex = new Map(ids.map((id, i) => [id, i]));
  const outboxes: Envelope[][] = ids.map(() => []);
  const start = performance.now();
  const network = new SimNetwork({ ...DEFAULT_NETWORK_OPTIONS, nodes: ids }, { rng: streamPrng(SEED, STREAM.network) });
  for (let i = 0; i < options.inFlight; i++) {
    network.send({ from: ids[i % NODES] as string, to: ids[(i + 1) % NODES] as string, msg: { type: 'RequestVoteResponse', term: 1, voteGranted: true } }, 0);
  }
  let now = 0;
  while (network.stats.delivered < options.messages) {
    now++;
    // Deliver into hosts, then let each host send what it produced — the cluster's tick, without Raft.
    for (let e = network.popDue(now); e !== undefined; e = network.popDue(now)) {
      (outboxes[hostIndex.get(e.to) as number] as Envelope[]).push({ from: e.to, to: e.from, msg: e.msg });
    }
    for (const outbox of outboxes) {
      for (let i = 0; i < outbox.length; i++) network.send(outbox[i] as Envelope, now);
      outbox.length = 0;
    }
  }
  const seconds = (performance.now() - start) / 1000;
  return { messages: network.stats.delivered, commands: 0, seconds, inFlightMean: options.inFlight, ticks: now };
}

/** Runs `run` warmups + runs times; returns the measured runs' figures. */
async function repeat(times: { readonly runs: number; readonly warmups: number }, run: () => RunFigures | Promise<RunFigures>): Promise<RunFigures[]> {
  for (let i = 0; i < times.warmups; i++) await run();
  const out: RunFigures[] = [];
  for (let i = 0; i < times.runs; i++) out.push(await run());
  return out;
}

function measurement(name: string, unit: string, runs: readonly RunFigures[], units: (r: RunFigures) => number): Measurement {
  const rates = runs.map((r) => units(r) / r.seconds);
  return {
    name,
    unit,
    units: units(runs[runs.length - 1] as RunFigures),
    runs: runs.length,
    medianPerSecond: median(rates),
    minPerSecond: Math.min(...rates),
    maxPerSecond: Math.max(...rates),
  };
}

const row = (measured: Measurement, baseline: Measurement): SimBenchRow => ({ measured, baseline, ratio: measured.medianPerSecond / baseline.medianPerSecond });

/** The simulator's rows for the bench table (see the file comment). */
export async function simBenchRows(options: SimBenchOptions): Promise<SimBenchRow[]> {
  const times = { runs: options.runs, warmups: options.warmups ?? 1 };
  const ticks = options.ticks ?? 5000;
  const clients = options.clients ?? 16;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'figure2-sim-bench-')));
  try {
    const what = `sim: ${NODES} nodes, ${clients} clients, ${ticks} ticks`;
    const off = await repeat(times, () => raftRun({ ticks, clients }));
    const probe = off[0] as RunFigures;
    const echo = await repeat(times, () => echoRun({ messages: probe.messages, inFlight: Math.round(probe.inFlightMean) }));
    const traced = await repeat(times, () => raftRun({ ticks, clients, tracePath: join(dir, 'sim-bench-trace.ndjson') }));
    const offMessages = measurement(`${what}, tracing off: messages delivered`, 'message', off, (r) => r.messages);
    const offCommands = measurement(`${what}, tracing off: commands committed`, 'command', off, (r) => r.commands);
    return [
      row(offMessages, measurement(`echo hosts on the same network, no Raft (${Math.round(probe.inFlightMean)} in flight)`, 'message', echo, (r) => r.messages)),
      row(measurement(`${what}, tracing to an NDJSON file: messages delivered`, 'message', traced, (r) => r.messages), offMessages),
      row(measurement(`${what}, tracing to an NDJSON file: commands committed`, 'command', traced, (r) => r.commands), offCommands),
    ];
  } finally {
    if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
  }
}
