/**
 * `figure2 wal dump|verify|repair|fill`, run in-process through a commander program built the
 * way tools/cli.ts builds it (exitOverride, UsageError → exit 2 with one line), against real
 * WAL directories: healthy, torn, corrupt, and not a WAL at all.
 */
import { mkdirSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileStorage } from '../../impl/storage/file-storage.ts';
import { registerWal } from '../../tools/commands/wal.ts';
import { runCommand, type CommandRun } from '../support/run-command.ts';
import { entries, hardState, snapshotAt, tempRoot } from '../impl/storage/support.ts';

const nextDir = tempRoot('wal-cli');

type Run = CommandRun;

/** Runs `figure2 wal …` as runCli would: a UsageError is one line on stderr and exit 2. */
function wal(...argv: string[]): Promise<Run> {
  return runCommand(registerWal, 'wal', argv);
}

function expectOneLineError(run: Run, path: string): void {
  expect(run.code).toBe(2);
  expect(run.err.trimEnd().split('\n')).toHaveLength(1);
  expect(run.err).toContain(path);
  expect(run.err).not.toMatch(/\n\s+at /);
}

/** A WAL with three or more segments, a snapshot, a hard state. */
async function healthyWal(): Promise<string> {
  const dir = nextDir();
  const { storage } = await FileStorage.open(dir, { segmentBytes: 4096 });
  for (let k = 0; k < 30; k++) await storage.save({ entries: entries(k * 10 + 1, k * 10 + 10, 1, 40) });
  await storage.save({ hardState: hardState(1, 100, 'n2') });
  await storage.compact(snapshotAt(20, 1));
  await storage.close();
  return dir;
}

function segments(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.wal'));
}

describe('figure2 wal dump', () => {
  it('prints every record with segment, offset, type, index, term, size and CRC', async () => {
    const dir = await healthyWal();
    const run = await wal('dump', dir);
    expect(run.code).toBe(0);
    expect(run.err).toBe('');
    const first = segments(dir)[0] as string;
    expect(run.out).toMatch(new RegExp(`^${first} @32 (hard-state|snapshot) `, 'm'));
    expect(run.out).toMatch(/ @\d+ entries index=291\.\.300 term=1 size=\d+ crc=ok/);
    expect(run.out).toMatch(/ hard-state term=1 size=\d+ crc=ok {2}votedFor n2, commitIndex 100/);
    expect(run.out).toMatch(/ snapshot index=20 term=1 size=\d+ crc=ok {2}snap-0000000000000020-0000000000000001\.snap, log after it kept/);
    expect(run.out).toMatch(/^snap-0000000000000020-0000000000000001\.snap: snapshot at 20\/1, \d+ bytes, checksum ok$/m);
  });

  it('--json prints one parseable object per record, and shows damage in place', async () => {
    const dir = await healthyWal();
    const last = join(dir, segments(dir).at(-1) as string);
    const bytes = readFileSync(last);
    bytes[60] = (bytes[60] as number) ^ 0x10;
    writeFileSync(last, bytes);
    const run = await wal('dump', dir, '--json');
    expect(run.code).toBe(0);
    const lines = run.out.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const records = lines.filter((l) => 'offset' in l);
    expect(records.length).toBeGreaterThan(10);
    expect(records.filter((r) => r['crcOk'] === false)).toHaveLength(1);
    expect(records.find((r) => r['crcOk'] === false)).toMatchObject({ segment: segments(dir).at(-1), state: 'crc-bad' });
    expect(lines.some((l) => l['snapshot'] === 'snap-0000000000000020-0000000000000001.snap' && l['ok'] === true)).toBe(true);
  });
});

describe('figure2 wal verify', () => {
  it('healthy: exit 0 with a summary', async () => {
    const dir = await healthyWal();
    const run = await wal('verify', dir);
    expect(run).toMatchObject({ code: 0, err: '' });
    expect(run.out).toMatch(/: ok, \d+ segments, \d+ records, log 21\.\.300, snapshot at 20 \(term 1\); hard state term 1, votedFor n2, commitIndex 100/);
  });

  it('torn tail: exit 1, reported as repairable with the file and offset', async () => {
    const dir = await healthyWal();
    const last = join(dir, segments(dir).at(-1) as string);
    const size = readFileSync(last).length;
    truncateSync(last, size - 5);
    const run = await wal('verify', dir);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(new RegExp(`${last}: torn tail at byte \\d+, \\d+ bytes .*repairable: run 'figure2 wal repair ${dir}'`));
    const json = await wal('verify', dir, '--json');
    expect(JSON.parse(json.out)).toMatchObject({ status: 'torn-tail', path: last });
  });

  it('corruption mid-log: exit 1 naming the file and byte offset', async () => {
    const dir = await healthyWal();
    const first = join(dir, segments(dir)[0] as string);
    const bytes = readFileSync(first);
    bytes[200] = (bytes[200] as number) ^ 1;
    writeFileSync(first, bytes);
    const run = await wal('verify', dir);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(new RegExp(`corrupt WAL: ${first} at byte \\d+: CRC-32C mismatch`));
  });
});

describe('figure2 wal repair', () => {
  it('cuts a torn tail, after which verify passes', async () => {
    const dir = await healthyWal();
    const last = join(dir, segments(dir).at(-1) as string);
    truncateSync(last, readFileSync(last).length - 3);
    const run = await wal('repair', dir);
    expect(run.code).toBe(0);
    expect(run.out).toMatch(new RegExp(`^cut the torn tail: ${last} from byte \\d+: \\d+ bytes, 0 valid records and 1 damaged, no entries`, 'm'));
    expect((await wal('verify', dir)).code).toBe(0);
    expect((await wal('repair', dir)).out).toMatch(/healthy, nothing to repair/);
  });

  it('refuses mid-log corruption without --discard-after (exit 1, nothing touched), and says what it would discard', async () => {
    const dir = await healthyWal();
    const first = join(dir, segments(dir)[0] as string);
    const bytes = readFileSync(first);
    bytes[300] = (bytes[300] as number) ^ 4;
    writeFileSync(first, bytes);
    const before = segments(dir).map((n) => readFileSync(join(dir, n)).toString('base64'));
    const run = await wal('repair', dir);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/refusing to discard acknowledged records; 'figure2 wal repair .* --discard-after' would discard .* from byte \d+, and the later segments? .*: \d+ bytes, \d+ valid records and 1 damaged, entries \d+\.\.300/);
    expect(segments(dir).map((n) => readFileSync(join(dir, n)).toString('base64'))).toEqual(before);
  });

  it('with --discard-after cuts the log there and says exactly what went: segment, offset, records, index range', async () => {
    const dir = await healthyWal();
    const names = segments(dir);
    const second = join(dir, names[1] as string);
    const bytes = readFileSync(second);
    bytes[400] = (bytes[400] as number) ^ 4;
    writeFileSync(second, bytes);
    const run = await wal('repair', dir, '--discard-after');
    expect(run.code).toBe(0);
    const m = /^discarded: (\S+) from byte (\d+), and the later segments? (.*): (\d+) bytes, (\d+) valid records and 1 damaged, entries (\d+)\.\.(\d+) /m.exec(run.out);
    expect(m, run.out).not.toBeNull();
    expect(m?.[1]).toBe(second);
    expect(m?.[7]).toBe('300');
    expect(names.length).toBeGreaterThan(3);
    expect(segments(dir)).toEqual(names.slice(0, 2));
    expect((await wal('verify', dir)).code).toBe(0);
    // The damaged record's own entries go too: the log now ends before the first valid entry discarded.
    const now = /repaired; now .* log 1\.\.(\d+),/.exec(run.out);
    const { storage } = await FileStorage.open(dir);
    expect(storage.lastIndex()).toBe(Number(now?.[1]));
    expect(storage.lastIndex()).toBeLessThan(Number(m?.[6]));
    await storage.close();
  });
});

describe('figure2 wal fill', () => {
  it('appends N entries through the WAL with W writers and prints throughput and latency', async () => {
    const dir = nextDir();
    const run = await wal('fill', dir, '--entries', '300', '--size', '64', '--writers', '8', '--segment-bytes', '8192');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/appended 300 entries of 64 bytes with 8 writers in [\d.]+ s: \d+ entries\/s, [\d.]+ MB\/s, latency p50 [\d.]+ ms, p99 [\d.]+ ms/);
    expect((await wal('verify', dir)).out).toMatch(/log 1\.\.300/);
    const json = await wal('fill', dir, '--entries', '10', '--size', '1', '--json');
    expect(JSON.parse(json.out)).toMatchObject({ entries: 10, size: 1, writers: 1 });
  });

  it('rejects a bad count as a usage error', async () => {
    const run = await wal('fill', nextDir(), '--entries', '0', '--size', '10');
    expect(run.code).toBe(2);
  });
});

describe('figure2 wal on what is not a WAL', () => {
  it('a missing directory, a file, a segment file, a directory without segments, a non-WAL segment: one line naming the path, exit 2', async () => {
    const missing = join(nextDir(), 'nope');
    for (const sub of ['dump', 'verify', 'repair']) expectOneLineError(await wal(sub, missing), missing);

    const file = nextDir();
    writeFileSync(file, 'hello');
    expectOneLineError(await wal('verify', file), file);
    expect((await wal('verify', file)).err).toMatch(/is not a WAL directory: it is a file/);

    const dir = await healthyWal();
    const segment = join(dir, segments(dir)[0] as string);
    const run = await wal('dump', segment);
    expectOneLineError(run, segment);
    expect(run.err).toMatch(/is a WAL segment file: pass the directory holding it/);

    const empty = nextDir();
    mkdirSync(empty);
    writeFileSync(join(empty, 'notes.txt'), 'x');
    expectOneLineError(await wal('verify', empty), empty);

    const impostor = nextDir();
    mkdirSync(impostor);
    const fake = join(impostor, '0000000000000001-0000000000000001.wal');
    writeFileSync(fake, 'definitely not a WAL');
    for (const sub of ['dump', 'verify', 'repair']) {
      const r = await wal(sub, impostor);
      expectOneLineError(r, fake);
      expect(r.err).toMatch(/not one/);
    }
  });
});
