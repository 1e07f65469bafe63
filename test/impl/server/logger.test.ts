/** The node process's logger: `--log-level` parsed at the gateway, pino's output with our defaults. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { createLogger, LOG_LEVELS, LogLevelError, parseLogLevel } from '../../../impl/server/logger.ts';

function memoryStream(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const lines = (): Record<string, unknown>[] =>
    chunks
      .join('')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { stream, lines };
}

describe('parseLogLevel', () => {
  it('accepts every pino level, in any case', () => {
    for (const level of LOG_LEVELS) expect(parseLogLevel(level)).toBe(level);
    expect(parseLogLevel(' DEBUG ')).toBe('debug');
  });

  it.each(['verbose', '', 'warning', 30, undefined])('refuses %j, listing the valid levels', (value) => {
    expect(() => parseLogLevel(value)).toThrow(LogLevelError);
    expect(() => parseLogLevel(value)).toThrow('expected one of: fatal, error, warn, info, debug, trace, silent');
  });

  it('names the bad value', () => {
    expect(() => parseLogLevel('verbose')).toThrow('invalid log level "verbose"');
  });
});

describe('createLogger', () => {
  it('writes JSON lines with the name, the level as a word and an ISO time; filters below the level', () => {
    const { stream, lines } = memoryStream();
    const log = createLogger({ level: 'info', name: 'n1', destination: stream });
    log.debug('hidden');
    log.warn({ term: 3 }, 'lost leadership');
    const written = lines();
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ level: 'warn', name: 'n1', term: 3, msg: 'lost leadership' });
    expect(String(written[0]?.['time'])).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
  });

  it('defaults to info', () => {
    const { stream, lines } = memoryStream();
    const log = createLogger({ name: 'n1', destination: stream });
    log.debug('hidden');
    log.info('shown');
    expect(lines().map((l) => l['msg'])).toEqual(['shown']);
  });

  it('appends to a file path, creating its directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'figure2-log-'));
    try {
      const path = join(dir, 'logs', 'n1.log');
      const log = createLogger({ name: 'n1', destination: path });
      log.info('to a file');
      // The writer is asynchronous: it creates the directory and opens the file, then writes.
      await vi.waitFor(() => expect(existsSync(path) && readFileSync(path, 'utf8')).toMatch(/\n$/));
      expect(JSON.parse(readFileSync(path, 'utf8').trim())).toMatchObject({ name: 'n1', level: 'info', msg: 'to a file' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an invalid level with a clear error', () => {
    expect(() => createLogger({ level: 'loud', name: 'n1' })).toThrow('invalid log level "loud"; expected one of:');
  });
});
