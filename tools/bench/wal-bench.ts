/**
 * The file WAL's rows for `npm run bench` (impl/storage/):
 *
 * - append throughput and latency through FileStorage — entries/s, MB/s, p50/p99 — for entries
 *   of 100 B, 1 KiB and 16 KiB with 1, 16 and 256 concurrent appenders (group commit), each next
 *   to its floor measured in the same run on the same disk: a loop of pwritev + fdatasync writing
 *   the same bytes per sync as the WAL's groups averaged (target WAL/raw ≥ 0.8). The floor uses
 *   the same asynchronous calls the WAL must use (a synchronous fsync would block the host's
 *   event loop);
 * - recovery of 1,000,000 entries × 100 B (target < 2 s) and its peak memory (target < 300 MB),
 *   measured in a child process so that the resident set is recovery's own;
 * - recovery of a snapshot plus a 10,000-entry suffix (target < 200 ms), in a child too.
 *
 * Run alone: `npx tsx tools/bench/wal-bench.ts [--runs N]`. Temporary data goes under os.tmpdir().
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { FileStorage } from '../../impl/storage/file-storage.ts';
import { nodeFs, type StorageFs } from '../../impl/storage/fs-layer.ts';
import { percentile } from '../commands/wal.ts';
import { isMainModule, median } from './harness.ts';

const run = promisify(execFile);
const SELF = fileURLToPath(import.meta.url);
const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
const SIZES = [100, 1024, 16 * 1024] as const;
const WRITERS = [1, 16, 256] as const;
/** Each append measurement runs this long. */
const MEASURE_MS = 700;
/** Bytes the WAL adds to a one-entry batch: frame (9), entries header (12), entry header (13). */
const RECORD_OVERHEAD = 34;

function payload(size: number): string {
  return 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(Math.ceil(size / 36)).slice(0, size);
}

interface AppendFigures {
  readonly entriesPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Entries per fdatasync: the group commit's average group. */
  readonly perSync: number;
}

/** `writers` closed-loop appenders, one entry per save, for MEASURE_MS. */
async function measureWal(dir: string, size: number, writers: number): Promise<AppendFigures> {
  let syncs = 0;
  const fs: StorageFs = { ...nodeFs, fdatasync: (fd) => ((syncs += 1), nodeFs.fdatasync(fd)) };
  const { storage } = await FileStorage.open(dir, { fs });
  const data = payload(size);
  const latencies: number[] = [];
  const deadline = performance.now() + MEASURE_MS;
  let appended = 0;
  const appender = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const started = performance.now();
      await storage.save({ entries: [{ index: storage.lastIndex() + 1, term: 1, kind: 'command', data }] });
      latencies.push(performance.now() - started);
      appended++;
    }
  };
  const started = performance.now();
  syncs = 0;
  await Promise.all(Array.from({ length: writers }, appender));
  const seconds = (performance.now() - started) / 1000;
  await storage.close();
  latencies.sort((a, b) => a - b);
  return { entriesPerSecond: appended / seconds, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99), perSync: appended / Math.max(1, syncs) };
}

/** The floor: pwritev + fdatasync of `perSync` entries' bytes at a time, for MEASURE_MS; entries/s. */
async function measureRaw(dir: string, size: number, perSync: number): Promise<number> {
  const path = join(dir, 'raw.bin');
  const fd = await nodeFs.open(path, 'w');
  const buf = Buffer.alloc(Math.max(1, Math.round(perSync)) * (size + RECORD_OVERHEAD), 0x61);
  const entriesPerWrite = Math.max(1, Math.round(perSync));
  let position = 0;
  let entries = 0;
  const started = performance.now();
  const deadline = started + MEASURE_MS;
  while (performance.now() < deadline) {
    await nodeFs.writev(fd, [buf], position);
    await nodeFs.fdatasync(fd);
    position += buf.length;
    entries += entriesPerWrite;
  }
  const seconds = (performance.now() - started) / 1000;
  await nodeFs.close(fd);
  await rm(path);
  return entries / seconds;
}

function rate(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(1)} k` : n.toFixed(0);
}

async function appendLines(root: string, runs: number): Promise<string[]> {
  const lines = [`WAL append through FileStorage, one entry per save, group commit (median of ${runs} × ${MEASURE_MS} ms); raw = pwritev + fdatasync loop of the same bytes per sync:`];
  let k = 0;
  for (const size of SIZES) {
    for (const writers of WRITERS) {
      const wal: AppendFigures[] = [];
      const raw: number[] = [];
      for (let r = 0; r < runs; r++) {
        const dir = join(root, `append-${k++}`);
        const figures = await measureWal(dir, size, writers);
        wal.push(figures);
        raw.push(await measureRaw(root, size, figures.perSync));
        await rm(dir, { recursive: true, force: true });
      }
      const eps = median(wal.map((w) => w.entriesPerSecond));
      const rawEps = median(raw);
      lines.push(
        `  ${String(size).padStart(5)} B × ${String(writers).padStart(3)} writer${writers === 1 ? ' ' : 's'}: ${rate(eps)} entries/s, ${((eps * size) / 1e6).toFixed(2)} MB/s, ` +
          `p50 ${median(wal.map((w) => w.p50Ms)).toFixed(3)} ms, p99 ${median(wal.map((w) => w.p99Ms)).toFixed(3)} ms, ${median(wal.map((w) => w.perSync)).toFixed(1)} entries/sync; ` +
          `raw ${rate(rawEps)} entries/s → WAL/raw ${(eps / rawEps).toFixed(2)} (target ≥ 0.8)`,
      );
    }
  }
  return lines;
}

interface RecoveryFigures {
  readonly seconds: number;
  readonly maxRssBytes: number;
  readonly lastIndex: number;
  readonly records: number;
  readonly segments: number;
}

/** Opens `dir` in a child process (its peak memory is recovery's own); what it reports. */
async function recoverInChild(dir: string): Promise<RecoveryFigures> {
  const { stdout } = await run(process.execPath, [TSX, SELF, '--child-recover', dir], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as RecoveryFigures;
}

/** The child's side: time FileStorage.open, report peak RSS. */
async function childRecover(dir: string): Promise<void> {
  const started = performance.now();
  const { storage, report } = await FileStorage.open(dir);
  const seconds = (performance.now() - started) / 1000;
  const figures: RecoveryFigures = { seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024, lastIndex: storage.lastIndex(), records: report.recordsReplayed, segments: report.segments };
  await storage.close();
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

/** Writes `count` entries of `size` bytes in saves of 1000 entries (fast to build; recovery reads entries, not saves). */
async function buildLog(dir: string, count: number, size: number, segmentBytes?: number): Promise<FileStorage> {
  const { storage } = await FileStorage.open(dir, segmentBytes === undefined ? {} : { segmentBytes });
  const data = payload(size);
  for (let first = 1; first <= count; first += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - first + 1) }, (_, k) => ({ index: first + k, term: 1, kind: 'command' as const, data }));
    await storage.save({ entries: batch });
  }
  return storage;
}

async function recoveryLines(root: string, runs: number): Promise<string[]> {
  const big = join(root, 'recover-1m');
  await (await buildLog(big, 1_000_000, 100)).close();
  const bigRuns: RecoveryFigures[] = [];
  for (let r = 0; r < runs; r++) bigRuns.push(await recoverInChild(big));
  const first = bigRuns[0] as RecoveryFigures;
  if (first.lastIndex !== 1_000_000) throw new Error(`recovery bench: recovered up to ${first.lastIndex}, wrote 1000000`);
  await rm(big, { recursive: true, force: true });
  const lines = [
    `WAL recovery, 1,000,000 entries × 100 B (${first.segments} segments, ${first.records} records), in a child process: ${median(bigRuns.map((f) => f.seconds)).toFixed(2)} s (target < 2 s), ` +
      `peak RSS ${(median(bigRuns.map((f) => f.maxRssBytes)) / 2 ** 20).toFixed(0)} MiB (target < 300 MB; median of ${runs})`,
  ];
  // With 1 MiB segments compaction deletes all but the segment holding the snapshot point; with
  // the default 64 MiB the one segment still holds every entry since the last rotation, and
  // recovery reads (and checksums) them all before the marker drops the covered ones.
  for (const segmentBytes of [1024 * 1024, undefined]) {
    const snap = join(root, `recover-snapshot-${segmentBytes ?? 'default'}`);
    const storage = await buildLog(snap, 110_000, 100, segmentBytes);
    await storage.compact({ lastIncludedIndex: 100_000, lastIncludedTerm: 1, voters: ['n1', 'n2', 'n3'], data: payload(1_000_000) });
    await storage.close();
    const snapRuns: RecoveryFigures[] = [];
    for (let r = 0; r < runs; r++) snapRuns.push(await recoverInChild(snap));
    const s = snapRuns[0] as RecoveryFigures;
    if (s.lastIndex !== 110_000) throw new Error(`snapshot recovery bench: recovered up to ${s.lastIndex}, wrote 110000`);
    await rm(snap, { recursive: true, force: true });
    lines.push(
      `WAL recovery, 1 MB snapshot + 10,000-entry suffix, ${segmentBytes === undefined ? 'default 64 MiB segments' : '1 MiB segments'} (${s.segments} segment${s.segments === 1 ? '' : 's'}, ${s.records} records replayed): ` +
        `${(median(snapRuns.map((f) => f.seconds)) * 1000).toFixed(0)} ms (target < 200 ms; median of ${runs})`,
    );
  }
  return lines;
}

export async function walBenchLines(options: { readonly runs: number }): Promise<string[]> {
  const root = await mkdtemp(join(tmpdir(), 'figure2-wal-bench-'));
  try {
    return [...(await appendLines(root, options.runs)), ...(await recoveryLines(root, options.runs))];
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (isMainModule(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args[0] === '--child-recover' && args[1] !== undefined) {
    await childRecover(args[1]);
  } else {
    const runs = Number(args[args.indexOf('--runs') + 1] ?? 3) || 3;
    for (const line of await walBenchLines({ runs })) process.stdout.write(`${line}\n`);
  }
}
