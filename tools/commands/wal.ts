/**
 * `figure2 wal …`: look at, check, repair and load a storage directory of impl/storage's file
 * WAL (segments `<seq>-<firstIndex>.wal`, snapshots `snap-<index>-<term>.snap`).
 *
 *   wal dump <dir> [--json]     every record: segment, offset, type, index, term, size, CRC ok
 *                               (--json: one JSON object per line). Exit 0 whatever it shows:
 *                               judging is verify's job.
 *   wal verify <dir> [--json]   exit 0 healthy; exit 1 on corruption (file and byte offset) and
 *                               on a torn tail — reported as repairable, since it is harmless (a
 *                               write never acknowledged) but is still not a clean WAL.
 *   wal repair <dir> [--discard-after]
 *                               cuts a torn tail (exit 0). Corruption mid-log is refused with
 *                               exit 1 and what --discard-after would discard, because cutting
 *                               there loses acknowledged records: that is the operator's call.
 *                               With --discard-after it cuts and says exactly what went.
 *   wal fill <dir> --entries N --size B [--writers W]
 *                               appends N entries of B bytes through the real WAL with W
 *                               concurrent appenders (group commit); prints entries/s, MB/s and
 *                               latency percentiles.
 *
 * A missing or unreadable directory, a file instead of a directory, a file named like a segment
 * that is not one: one line naming the path, exit 2.
 */
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { StorageError } from '../../impl/storage/errors.ts';
import { FileStorage } from '../../impl/storage/file-storage.ts';
import { nodeFs } from '../../impl/storage/fs-layer.ts';
import { decodeSnapshot, readWholeFile } from '../../impl/storage/snapshot-file.ts';
import { inspectSegment, type InspectedRecord } from '../../impl/storage/wal/inspect.ts';
import { analyzeWal, type WalAnalysis } from '../../impl/storage/wal/recovery.ts';
import { repairWal, type Discard } from '../../impl/storage/wal/repair.ts';
import { classifyDirectory, SEGMENT_MAGIC, type DirectoryListing } from '../../impl/storage/wal/segment.ts';
import { errorMessage, EXIT, UsageError, type CliIo } from '../io.ts';

/** Errors that mean "this is not a WAL you can use here": bad input, exit 2. */
const BAD_INPUT_KINDS: ReadonlySet<StorageError['kind']> = new Set(['not-a-wal', 'unreadable', 'permission', 'unsupported-version', 'io', 'disk-full']);

/** Runs `body`, turning storage errors about the input into UsageErrors (exit 2, one line). */
async function asUsage<T>(body: () => T | Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof StorageError && BAD_INPUT_KINDS.has(err.kind)) throw new UsageError(err.message);
    throw err;
  }
}

/**
 * The listing of a WAL directory, or a UsageError naming `dir`: missing, unreadable, a file (a
 * segment file gets a hint to pass its directory), or holding no segment at all.
 */
export function walDirectory(dir: string): DirectoryListing {
  let isDirectory: boolean;
  try {
    isDirectory = nodeFs.statSync(dir).isDirectory();
  } catch (err) {
    throw new UsageError(`cannot open the WAL directory ${dir}: ${errorMessage(err)}`);
  }
  if (!isDirectory) {
    let segment = false;
    try {
      segment = readWholeFile(nodeFs, dir).subarray(0, SEGMENT_MAGIC.length).equals(SEGMENT_MAGIC);
    } catch {
      // Unreadable: say what it is not, below.
    }
    throw new UsageError(segment ? `${dir} is a WAL segment file: pass the directory holding it` : `${dir} is not a WAL directory: it is a file`);
  }
  let listing: DirectoryListing;
  try {
    listing = classifyDirectory(nodeFs.readdirSync(dir));
  } catch (err) {
    throw new UsageError(`cannot list the WAL directory ${dir}: ${errorMessage(err)}`);
  }
  if (listing.segments.length === 0 && listing.snapshots.length === 0) {
    throw new UsageError(`${dir} is not a WAL directory: it holds no WAL segment (<seq>-<firstIndex>.wal)`);
  }
  return listing;
}

function parseCount(flag: string, min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${flag} takes an integer ≥ ${min}, got "${value}"`);
    return n;
  };
}

export function registerWal(program: Command, io: CliIo, setExit: (code: number) => void): void {
  const wal = program.command('wal').description('inspect, verify, repair and load a file WAL directory (impl/storage)');
  wal
    .command('dump')
    .description('print every record: segment, offset, type, index, term, size, CRC ok')
    .argument('<dir>', 'the storage directory')
    .option('--json', 'one JSON object per record, per line')
    .action(async (dir: string, opts: { json?: boolean }) => setExit(await runWalDump(dir, opts, io)));
  wal
    .command('verify')
    .description('check every record and snapshot: exit 0 healthy, 1 corrupt or torn (repairable)')
    .argument('<dir>', 'the storage directory')
    .option('--json', 'print the verdict as JSON')
    .action(async (dir: string, opts: { json?: boolean }) => setExit(await runWalVerify(dir, opts, io)));
  wal
    .command('repair')
    .description('cut a torn tail; with --discard-after, also cut the log at mid-log corruption')
    .argument('<dir>', 'the storage directory')
    .option('--discard-after', 'cut the log at the first corrupt record, discarding every record after it')
    .action(async (dir: string, opts: { discardAfter?: boolean }) => setExit(await runWalRepair(dir, opts, io)));
  wal
    .command('fill')
    .description('append entries through the real WAL with concurrent appenders; print throughput and latency')
    .argument('<dir>', 'the storage directory (created when missing)')
    .requiredOption('--entries <n>', 'entries to append', parseCount('--entries', 1))
    .requiredOption('--size <bytes>', 'bytes of data per entry', parseCount('--size', 0))
    .option('--writers <n>', 'concurrent appenders', parseCount('--writers', 1), 1)
    .option('--segment-bytes <n>', 'segment size', parseCount('--segment-bytes', 4096))
    .option('--json', 'print the figures as JSON')
    .action(async (dir: string, opts: FillFlags) => setExit(await runWalFill(dir, opts, io)));
}

// ---------------------------------------------------------------------------------------------
// dump

function formatRecord(r: InspectedRecord): string {
  const index = r.index === undefined ? '' : r.lastIndex === undefined || r.lastIndex === r.index ? ` index=${r.index}` : ` index=${r.index}..${r.lastIndex}`;
  const term = r.term === undefined ? '' : ` term=${r.term}`;
  const crc = r.state === 'incomplete' ? 'incomplete' : r.crcOk ? 'ok' : 'BAD';
  const batch = r.endOfBatch ? '' : ' (batch continues)';
  return `${r.segment} @${r.offset} ${r.type}${index}${term} size=${r.size} crc=${crc}${batch}${r.detail === undefined ? '' : `  ${r.detail}`}\n`;
}

/** Prints every record of every segment, then the snapshot files. Exit 0 (2 when it is not a WAL). */
export async function runWalDump(dir: string, opts: { readonly json?: boolean | undefined }, io: CliIo): Promise<number> {
  const listing = walDirectory(dir);
  const json = opts.json === true;
  await asUsage(() => {
    for (const file of listing.segments) {
      const segment = inspectSegment(nodeFs, dir, file, (r) => io.stdout(json ? `${JSON.stringify(r)}\n` : formatRecord(r)));
      if (segment.headerProblem !== undefined) {
        // A file named like a segment that is not a WAL at all is bad input; a damaged header is shown.
        if (segment.headerProblem.kind === 'not-a-wal') throw segment.headerProblem;
        io.stdout(json ? `${JSON.stringify({ segment: file.name, headerProblem: segment.headerProblem.message })}\n` : `${file.name} header: ${segment.headerProblem.message}\n`);
      }
    }
    for (const name of listing.snapshots) {
      const line = describeSnapshot(dir, name);
      io.stdout(json ? `${JSON.stringify(line)}\n` : `${line.snapshot}: ${line.ok ? `snapshot at ${line.index}/${line.term}, ${line.bytes} bytes, checksum ok` : line.problem}\n`);
    }
  });
  return EXIT.OK;
}

function describeSnapshot(dir: string, name: string): { snapshot: string; ok: boolean; index?: number; term?: number; bytes?: number; problem?: string } {
  const path = join(dir, name);
  try {
    const bytes = readWholeFile(nodeFs, path);
    const s = decodeSnapshot(bytes, path);
    return { snapshot: name, ok: true, index: s.lastIncludedIndex, term: s.lastIncludedTerm, bytes: bytes.length };
  } catch (err) {
    return { snapshot: name, ok: false, problem: errorMessage(err) };
  }
}

// ---------------------------------------------------------------------------------------------
// verify

export interface VerifyReport {
  readonly dir: string;
  readonly status: 'healthy' | 'torn-tail' | 'corrupt';
  readonly message: string;
  readonly path?: string;
  readonly offset?: number;
  readonly segments?: number;
  readonly records?: number;
  readonly firstIndex?: number;
  readonly lastIndex?: number;
  /** Leftovers open would clean up (temporary files, unacknowledged snapshots, snapshots past K). */
  readonly notes: readonly string[];
}

function summary(a: WalAnalysis): string {
  const snap = a.marker === null ? 'no snapshot' : `snapshot at ${a.marker.index} (term ${a.marker.term})`;
  const first = (a.marker?.index ?? 0) + 1;
  const log = a.lastIndex >= first ? `log ${first}..${a.lastIndex}` : 'empty log';
  const hs = a.hardState;
  return `${a.segments.length} segment${a.segments.length === 1 ? '' : 's'}, ${a.records} records, ${log}, ${snap}; hard state term ${hs.currentTerm}, votedFor ${hs.votedFor ?? 'null'}, commitIndex ${hs.commitIndex}`;
}

/** Checks every record and the snapshot in force. Exit 0 healthy, 1 corrupt or torn, 2 not a WAL. */
export async function runWalVerify(dir: string, opts: { readonly json?: boolean | undefined }, io: CliIo): Promise<number> {
  walDirectory(dir);
  const report = await asUsage(() => verifyWal(dir));
  if (opts.json === true) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
  else {
    if (report.status === 'healthy') io.stdout(`${dir}: ok, ${report.message}\n`);
    else io.stderr(`${report.message}\n`);
    for (const note of report.notes) io.stdout(`note: ${note}\n`);
  }
  return report.status === 'healthy' ? EXIT.OK : EXIT.VIOLATIONS;
}

export function verifyWal(dir: string): VerifyReport {
  let analysis: WalAnalysis;
  try {
    analysis = analyzeWal(nodeFs, dir);
  } catch (err) {
    if (!(err instanceof StorageError) || err.kind !== 'corruption') throw err;
    return { dir, status: 'corrupt', message: err.message, path: err.path, ...(err.offset === undefined ? {} : { offset: err.offset }), notes: [] };
  }
  const notes = [
    ...analysis.listing.temporaries.map((n) => `${join(dir, n)}: a temporary file from an interrupted write (removed at the next open)`),
    ...analysis.orphanSnapshots.map((n) => `${join(dir, n)}: a snapshot never recorded in the WAL (removed at the next open)`),
  ];
  const base = { dir, segments: analysis.segments.length, records: analysis.records, firstIndex: (analysis.marker?.index ?? 0) + 1, lastIndex: analysis.lastIndex, notes };
  const tail = analysis.tail;
  if (tail === undefined) return { ...base, status: 'healthy', message: summary(analysis) };
  return {
    ...base,
    status: 'torn-tail',
    path: tail.path,
    offset: tail.offset,
    message: `${tail.path}: torn tail at byte ${tail.offset}, ${tail.bytes} bytes (${tail.state}: ${tail.reason}), a write that was never acknowledged; repairable: run 'figure2 wal repair ${dir}' (opening the storage also cuts it)`,
  };
}

// ---------------------------------------------------------------------------------------------
// repair

function formatDiscard(d: Discard): string {
  const records = `${d.records} valid record${d.records === 1 ? '' : 's'}${d.damaged === 0 ? '' : ` and ${d.damaged} damaged`}`;
  const entries = d.indexes === undefined ? 'no entries' : `entries ${d.indexes.from}..${d.indexes.to}`;
  const later = d.laterSegments.length === 0 ? '' : `, and the later segment${d.laterSegments.length === 1 ? '' : 's'} ${d.laterSegments.join(', ')}`;
  const where = d.offset === 0 ? `the whole segment ${d.path}` : `${d.path} from byte ${d.offset}`;
  return `${where}${later}: ${d.bytes} bytes, ${records}, ${entries}`;
}

/** Cuts a torn tail; refuses mid-log corruption unless --discard-after. Exit 0 repaired or healthy, 1 refused or unrepairable. */
export async function runWalRepair(dir: string, opts: { readonly discardAfter?: boolean | undefined }, io: CliIo): Promise<number> {
  walDirectory(dir);
  const outcome = await asUsage(() => repairWal(nodeFs, dir, { discardAfter: opts.discardAfter === true }));
  const discards = 'discards' in outcome ? outcome.discards : [];
  for (const d of discards) io.stdout(`${d.reason === 'torn-tail' ? 'cut the torn tail' : 'discarded'}: ${formatDiscard(d)} (${d.message})\n`);
  switch (outcome.status) {
    case 'healthy':
      io.stdout(`${dir}: healthy, nothing to repair\n`);
      return EXIT.OK;
    case 'repaired':
      io.stdout(`${dir}: repaired; now ${summary(outcome.analysis)}\n`);
      return EXIT.OK;
    case 'refused':
      io.stderr(
        `${outcome.error.message} — refusing to discard acknowledged records; 'figure2 wal repair ${dir} --discard-after' would discard ${formatDiscard(outcome.wouldDiscard)}\n`,
      );
      return EXIT.VIOLATIONS;
    case 'unrepairable':
      io.stderr(`${outcome.error.message} — discarding records cannot repair this\n`);
      return EXIT.VIOLATIONS;
  }
}

// ---------------------------------------------------------------------------------------------
// fill

interface FillFlags {
  readonly entries: number;
  readonly size: number;
  readonly writers: number;
  readonly segmentBytes?: number;
  readonly json?: boolean;
}

export interface FillOptions {
  readonly dir: string;
  readonly entries: number;
  /** Bytes of data per entry. */
  readonly size: number;
  /** Concurrent appenders, each saving one entry at a time. */
  readonly writers: number;
  readonly segmentBytes?: number | undefined;
}

export interface FillResult {
  readonly entries: number;
  readonly seconds: number;
  readonly entriesPerSecond: number;
  /** Megabytes (10^6) of entry data per second. */
  readonly mbPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** The `p` quantile (nearest rank) of `sorted`, ascending. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}

/** Appends `entries` entries through FileStorage with `writers` concurrent appenders. */
export async function fillWal(options: FillOptions): Promise<FillResult> {
  const { storage } = await FileStorage.open(options.dir, options.segmentBytes === undefined ? {} : { segmentBytes: options.segmentBytes });
  const data = 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(Math.ceil(options.size / 36)).slice(0, options.size);
  const term = Math.max(1, storage.hardState().currentTerm, storage.term(storage.lastIndex()) ?? 0);
  const latencies = new Float64Array(options.entries);
  let issued = 0;
  const appender = async (): Promise<void> => {
    while (issued < options.entries) {
      const k = issued++;
      const started = performance.now();
      await storage.save({ entries: [{ index: storage.lastIndex() + 1, term, kind: 'command', data }] });
      latencies[k] = performance.now() - started;
    }
  };
  const started = performance.now();
  try {
    await Promise.all(Array.from({ length: options.writers }, appender));
  } finally {
    await storage.close();
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort();
  return {
    entries: options.entries,
    seconds,
    entriesPerSecond: options.entries / seconds,
    mbPerSecond: (options.entries * options.size) / seconds / 1e6,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}

export async function runWalFill(dir: string, flags: FillFlags, io: CliIo): Promise<number> {
  const result = await asUsage(() => fillWal({ dir, entries: flags.entries, size: flags.size, writers: flags.writers, segmentBytes: flags.segmentBytes }));
  if (flags.json === true) {
    io.stdout(`${JSON.stringify({ dir, size: flags.size, writers: flags.writers, ...result }, null, 2)}\n`);
  } else {
    io.stdout(
      `${dir}: appended ${result.entries} entries of ${flags.size} bytes with ${flags.writers} writer${flags.writers === 1 ? '' : 's'} in ${result.seconds.toFixed(2)} s: ` +
        `${Math.round(result.entriesPerSecond)} entries/s, ${result.mbPerSecond.toFixed(2)} MB/s, latency p50 ${result.p50Ms.toFixed(3)} ms, p99 ${result.p99Ms.toFixed(3)} ms\n`,
    );
  }
  return EXIT.OK;
}
