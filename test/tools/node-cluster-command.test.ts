/**
 * `figure2 node` refuses bad input with one line and exit 2 (nothing started, nothing written);
 * `figure2 cluster` starts real node processes, serves a client, and stops them all.
 */
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCluster } from '../../tools/commands/cluster.ts';
import { runCli } from '../../tools/cli.ts';
import { memoryIo } from '../../tools/io.ts';

const root = mkdtempSync(join(tmpdir(), 'figure2-node-cmd-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const secretFile = join(root, 'secret');
writeFileSync(secretFile, 'abcdefghijklmnopqrstuvwxyz012345\n');
const peers = 'n1=127.0.0.1:0,n2=127.0.0.1:0';

describe('figure2 node: bad input is one line and exit 2', () => {
  const cases: [string, string[], RegExp][] = [
    ['no secret', ['--id', 'n1', '--peers', peers, '--data', join(root, 'a'), '--client', '127.0.0.1:0'], /no cluster secret: pass --secret-file FILE or set FIGURE2_SECRET/],
    ['a short secret', ['--id', 'n1', '--peers', peers, '--data', join(root, 'a'), '--client', '127.0.0.1:0', '--secret-file', join(root, 'short')], /at least 16 are required/],
    ['an id not in --peers', ['--id', 'n9', '--peers', peers, '--data', join(root, 'a'), '--client', '127.0.0.1:0', '--secret-file', secretFile], /--id n9 is not one of --peers \(n1, n2\)/],
    ['a malformed peer list', ['--id', 'n1', '--peers', 'n1=127.0.0.1', '--data', join(root, 'a'), '--client', '127.0.0.1:0', '--secret-file', secretFile], /--peers n1 "127.0.0.1": expected host:port/],
    ['a bad client address', ['--id', 'n1', '--peers', peers, '--data', join(root, 'a'), '--client', 'nowhere', '--secret-file', secretFile], /--client "nowhere": expected host:port/],
    ['a bad log level', ['--id', 'n1', '--peers', peers, '--data', join(root, 'a'), '--client', '127.0.0.1:0', '--secret-file', secretFile, '--log-level', 'loud'], /invalid log level "loud"/],
    ['a data path that is a file', ['--id', 'n1', '--peers', peers, '--data', secretFile, '--client', '127.0.0.1:0', '--secret-file', secretFile], new RegExp(`node n1: .*${secretFile.replace(/[/.]/g, '\\$&')}`)],
  ];
  writeFileSync(join(root, 'short'), 'tiny\n');

  it.each(cases)('%s', async (_name, args, message) => {
    const saved = process.env['FIGURE2_SECRET'];
    delete process.env['FIGURE2_SECRET'];
    try {
      const io = memoryIo();
      const code = await runCli(['node', ...args], io);
      expect(code, io.err()).toBe(2);
      expect(io.err()).toMatch(message);
      expect(io.err().trim().split('\n')).toHaveLength(1);
      expect(io.out()).toBe('');
    } finally {
      if (saved !== undefined) process.env['FIGURE2_SECRET'] = saved;
    }
  });

  it('leaves no data directory behind when it refuses to start', () => {
    expect(existsSync(join(root, 'a'))).toBe(false);
  });
});

describe('figure2 cluster', () => {
  it('starts real node processes that serve clients, survives kill -9 of the leader, and stops them all', async () => {
    const dir = join(root, 'cluster');
    const io = memoryIo();
    let stop: () => void = () => {};
    const until = new Promise<void>((resolve) => (stop = resolve));
    const running = runCluster({ nodes: '3', data: dir, basePort: '0', logLevel: 'warn', trace: true }, io, until);
    const deadline = Date.now() + 30_000;
    while (!/leader n\d \(term \d+\)/.test(io.out()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(io.out()).toMatch(/leader n\d \(term \d+\)/);
    const urls = [...io.out().matchAll(/ {2}(n\d) {2}(http:\/\/127\.0\.0\.1:\d+) {2}pid (\d+)/g)].map((m) => ({ id: m[1] as string, url: m[2] as string, pid: Number(m[3]) }));
    expect(urls).toHaveLength(3);
    const first = urls[0] as { url: string };
    const put = await fetch(`${first.url}/kv/hello`, { method: 'PUT', body: JSON.stringify({ value: 'world' }), headers: { 'content-type': 'application/json' } });
    expect(put.status).toBe(200);
    const leaderId = /leader (n\d) \(term/.exec(io.out())?.[1];
    const leader = urls.find((u) => u.id === leaderId);
    expect(leader).toBeDefined();
    process.kill(leader?.pid as number, 'SIGKILL');
    const other = urls.find((u) => u.id !== leaderId) as { url: string };
    let value: unknown;
    for (let i = 0; i < 100 && value !== 'world'; i++) {
      const res = await fetch(`${other.url}/kv/hello`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
      if (res?.status === 200) value = ((await res.json()) as { value: unknown }).value;
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(value).toBe('world');
    stop();
    expect(await running).toBe(0);
    expect(io.out()).toMatch(/stopped\n$/);
    for (const u of urls) expect(() => process.kill(u.pid, 0)).toThrow();
    const check = memoryIo();
    const files = urls.map((u) => join(dir, `${u.id}.trace.ndjson`));
    expect(await runCli(['check', '--merge', ...files], check)).toBe(0);
  }, 60_000);
});
