/**
 * Crash consistency (c): a real process killed with SIGKILL. A child (append-child.ts) appends
 * with concurrent writers through group commit, compacting as it goes, and prints every index the
 * storage acknowledged; the parent kills it at a random moment — mid-write, mid-sync, mid-rotation
 * or mid-compaction, wherever it happens to be — then recovers the directory and checks that
 * every acknowledged append is there (or covered by the snapshot), with its data, and that the
 * log is whole. Then it starts the child again on the same directory, many times.
 *
 * The kill timings come from a seed printed at the start (WAL_KILL_SEED=<seed> replays them,
 * as far as a real process's timing can be replayed).
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPrng, freshSeed } from '../../../conformance/prng.ts';
import { FileStorage } from '../../../impl/storage/file-storage.ts';
import { childData } from './child-data.ts';
import { tempRoot } from './support.ts';

const nextDir = tempRoot('kill');
const ROOT = resolve(import.meta.dirname, '../../..');
const CHILD = join(import.meta.dirname, 'append-child.ts');
const KILLS = 14;

interface ChildRun {
  /** Indexes acknowledged before the kill, in the order printed. */
  readonly acked: number[];
  readonly compactedTo: number;
  readonly startIndex: number;
  readonly stderr: string;
}

/** Runs the child until `delayMs` after it is ready, then SIGKILLs it; collects what it printed. */
function runAndKill(dir: string, delayMs: number): Promise<ChildRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, '8', '16384'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (timer === undefined && out.includes('ready ')) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    });
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('close', (_code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      if (signal !== 'SIGKILL') {
        fail(new Error(`the child exited by itself (signal ${signal}): ${stderr}`));
        return;
      }
      const lines = out.split('\n');
      const ready = lines.find((l) => l.startsWith('ready '));
      // A line cut by the kill has no newline yet: only whole lines count.
      const whole = out.endsWith('\n') ? lines : lines.slice(0, -1);
      done({
        acked: whole.filter((l) => l.startsWith('ack ')).map((l) => Number(l.slice(4))),
        compactedTo: Math.max(0, ...whole.filter((l) => l.startsWith('compacted ')).map((l) => Number(l.slice(10)))),
        startIndex: Number(ready?.split(' ')[1] ?? -1),
        stderr,
      });
    });
  });
}

describe('SIGKILL during group-committed appends', () => {
  it(`every acknowledged append survives ${KILLS} kills at random moments`, async () => {
    const seed = Number(process.env['WAL_KILL_SEED'] ?? freshSeed());
    console.log(`kill timings: seed ${seed} (WAL_KILL_SEED=${seed} to replay)`);
    const rng = createPrng(seed);
    const dir = nextDir();
    let everAcked = 0;
    let totalAcked = 0;
    for (let run = 0; run < KILLS; run++) {
      const delay = rng.int(0, 250);
      const result = await runAndKill(dir, delay);
      const context = `run ${run}, killed ${delay} ms after ready (seed ${seed})`;
      // Nothing on stderr but Node's own notices (none are expected; they would not be ours).
      expect(result.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('(node:') && !l.includes('--trace-warnings')), context).toEqual([]);
      // Whatever the previous run acknowledged, this one recovered.
      expect(result.startIndex, context).toBeGreaterThanOrEqual(everAcked);
      const { storage, report } = await FileStorage.open(dir, { segmentBytes: 16384 });
      const maxAcked = Math.max(0, ...result.acked);
      expect(storage.lastIndex(), context).toBeGreaterThanOrEqual(maxAcked);
      const snapshotIndex = storage.snapshot()?.lastIncludedIndex ?? 0;
      expect(storage.firstIndex(), context).toBe(snapshotIndex + 1);
      expect(snapshotIndex, context).toBeGreaterThanOrEqual(result.compactedTo);
      if (snapshotIndex > 0) expect(storage.snapshot()?.data, context).toBe(`upto ${snapshotIndex}`);
      // The whole log is there, each entry with its data: in particular every acknowledged one.
      const log = storage.entries(storage.firstIndex(), storage.lastIndex() + 1);
      expect(log.length, context).toBe(storage.lastIndex() - snapshotIndex);
      log.forEach((e, k) => {
        expect(e.index, context).toBe(snapshotIndex + 1 + k);
        expect(e.data, `${context}: entry ${e.index}`).toBe(childData(e.index));
      });
      for (const index of result.acked) expect(index <= snapshotIndex || storage.term(index) === 1, `${context}: acked ${index}`).toBe(true);
      expect(report.warnings.filter((w) => !/^(truncated a torn tail|removed )/.test(w)), context).toEqual([]);
      await storage.close();
      expect(readdirSync(dir).filter((n) => n.endsWith('.tmp')), context).toEqual([]);
      everAcked = Math.max(everAcked, maxAcked);
      totalAcked += result.acked.length;
    }
    // The kills landed while appending, not before the first save.
    expect(totalAcked).toBeGreaterThan(KILLS * 10);
  });
});
