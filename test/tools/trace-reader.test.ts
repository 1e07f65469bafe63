/**
 * traces/reader.ts: line splitting (chunk boundaries, CRLF, BOM, limits) and the wording of input
 * errors, which the CLI's validate and the checker both print.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TraceEvent } from '../../spec/schemas/index.ts';
import { formatIssue, jsonPath, readTrace, type TraceLine } from '../../traces/reader.ts';

async function collect(source: AsyncIterable<string> | Readable, maxLineBytes?: number): Promise<TraceLine[]> {
  const out: TraceLine[] = [];
  for await (const item of readTrace(source, maxLineBytes === undefined ? {} : { maxLineBytes })) out.push(item);
  return out;
}

/** A byte stream delivering `text` in chunks of `size` bytes. */
function chunked(text: string | Buffer, size: number): Readable {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return Readable.from(chunks);
}

/** The errors for one line of JSON, as `path: message`. */
async function errorsFor(line: unknown): Promise<string[]> {
  const items = await collect(Readable.from([Buffer.from(`${JSON.stringify(line)}\n`)]));
  return items.flatMap((i) => ('error' in i ? [`${i.error.path}: ${i.error.message}`] : []));
}

const CRASH = '{"ev":"crash","node":"n1"}';
const TIMEOUT = '{"ev":"timeout","node":"n2","kind":"heartbeat"}';

describe('readTrace line splitting', () => {
  it('yields the same events whatever the chunk boundaries, numbering lines like an editor', async () => {
    const text = `${CRASH}\n\n  \n${TIMEOUT}\r\n${CRASH}`;
    for (const size of [1, 2, 3, 7, 64, 4096]) {
      const items = await collect(chunked(text, size));
      expect(items.map((i) => [i.line, 'event' in i ? i.event.ev : 'error']), `chunk size ${size}`).toEqual([
        [1, 'crash'],
        [4, 'timeout'],
        [5, 'crash'],
      ]);
    }
  });

  it('keeps multi-byte UTF-8 characters split across chunks intact', async () => {
    const text = '{"ev":"crash","node":"nœud-é-🚀"}\n';
    const items = await collect(chunked(text, 1));
    expect(items).toEqual([{ line: 1, event: { ev: 'crash', node: 'nœud-é-🚀' } }]);
  });

  it('ignores a UTF-8 byte order mark at the start of the file', async () => {
    const items = await collect(chunked(`\uFEFF${CRASH}\n`, 2));
    expect(items).toEqual([{ line: 1, event: { ev: 'crash', node: 'n1' } }]);
  });

  it('reports invalid UTF-8 and goes on', async () => {
    const bytes = Buffer.concat([Buffer.from('{"ev":"crash","node":"'), Buffer.from([0xff, 0xfe]), Buffer.from(`"}\n${CRASH}\n`)]);
    const items = await collect(chunked(bytes, 5));
    expect(items).toEqual([
      { line: 1, error: { path: '$', message: 'not valid UTF-8 text' } },
      { line: 2, event: { ev: 'crash', node: 'n1' } },
    ]);
  });

  it('applies --max-line-bytes exactly, not counting the line break', async () => {
    const limit = CRASH.length;
    const padded = '{"ev":"crash","node":"n12"}';
    for (const eol of ['\n', '\r\n']) {
      const items = await collect(chunked(`${CRASH}${eol}${padded}${eol}${CRASH}`, 3), limit);
      expect(items.map((i) => ('event' in i ? 'ok' : i.error.message)), JSON.stringify(eol)).toEqual([
        'ok',
        `line is longer than ${limit} bytes (--max-line-bytes); not parsed`,
        'ok',
      ]);
    }
  });

  it('handles a huge line without keeping it: the next line is still read', async () => {
    const huge = `{"ev":"crash","node":"${'x'.repeat(5_000_000)}"}`;
    const items = await collect(chunked(`${huge}\n${CRASH}\n`, 65536), 1024);
    expect(items.map((i) => i.line)).toEqual([1, 2]);
    expect('error' in items[0]! && items[0].error.message).toMatch(/longer than 1024 bytes/);
  });

  it('accepts an async iterable of lines (e.g. node:readline)', async () => {
    async function* lines(): AsyncGenerator<string> {
      yield CRASH;
      yield '';
      yield '{"ev":"crash"}';
    }
    const items = await collect(lines());
    expect(items).toEqual([
      { line: 1, event: { ev: 'crash', node: 'n1' } },
      { line: 3, error: { path: '$.node', message: 'missing required field (expected a string)' } },
    ]);
  });

  it('allows a header only on the first non-blank line', async () => {
    const header = '{"ev":"header","format":"raft-trace","version":1,"cluster":["n1"]}';
    expect((await collect(chunked(`\n\n${header}\n${CRASH}\n`, 8))).every((i) => 'event' in i)).toBe(true);
    const items = await collect(chunked(`${CRASH}\n${header}\n`, 8));
    expect(items[1]).toEqual({ line: 2, error: { path: '$.ev', message: 'a header event is allowed only on the first non-blank line of the trace (line 1)' } });
  });

  it('reports text that is not JSON with the parser message and an editor column', async () => {
    const items = await collect(chunked('{"ev":"crash",}\n', 4));
    expect(items).toHaveLength(1);
    expect('error' in items[0]! && items[0].error).toEqual({ path: '$', message: expect.stringMatching(/^not valid JSON: .*column 15/) });
  });
});

describe('input error wording', () => {
  it('names the JSON path and what was expected', async () => {
    expect(await errorsFor({ ev: 'role', node: 'n1', role: 'leader', term: -1 })).toEqual(['$.term: expected an integer ≥ 0, got -1']);
    expect(await errorsFor({ ev: 'role', node: 'n1', role: 'leader', term: 1.5 })).toEqual(['$.term: expected an integer, got 1.5']);
    expect(await errorsFor({ ev: 'role', node: 'n1', role: 'boss', term: 1 })).toEqual([
      '$.role: expected one of "follower", "candidate", "leader", "precandidate", got "boss"',
    ]);
    expect(await errorsFor({ ev: 'timeout', node: '', kind: 'election' })).toEqual(['$.node: expected a non-empty string, got ""']);
    expect(await errorsFor({ ev: 'role', role: 'leader', term: 1 })).toEqual(['$.node: missing required field (expected a string)']);
    expect(await errorsFor({ ev: 'persist', node: 'n1', term: 1, votedFor: 3, lastIndex: 0 })).toEqual(['$.votedFor: expected a string, got 3']);
    expect(await errorsFor({ ev: 'header', format: 'raft-trace', version: 2, cluster: [] })).toEqual(['$.version: expected 1, got 2']);
    expect(await errorsFor({ ev: 'role', node: 'n1', role: 'leader', term: 2 ** 60 })).toEqual([
      '$.term: expected a safe integer (at most 2^53 − 1 = 9007199254740991), got 1152921504606847000',
    ]);
  });

  it('reaches into nested messages and arrays', async () => {
    const msg = { type: 'AppendEntries', term: 1, leaderId: 'n1', prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 0, entries: [{ term: 1 }, { term: 1 }, { term: -3 }] };
    expect(await errorsFor({ ev: 'send', node: 'n1', to: 'n2', msg })).toEqual(['$.msg.entries[2].term: expected an integer ≥ 0, got -3']);
    expect(await errorsFor({ ev: 'send', node: 'n1', to: 'n2', msg: { type: 'Bogus' } })).toEqual([
      '$.msg.type: unknown message type "Bogus"; expected one of: RequestVote, RequestVoteResponse, AppendEntries, AppendEntriesResponse, InstallSnapshot, InstallSnapshotResponse, TimeoutNow',
    ]);
    expect(await errorsFor({ ev: 'send', node: 'n1', to: 'n2' })).toEqual(['$.msg: missing required field (expected an object)']);
  });

  it('explains unions, unknown event types and non-objects', async () => {
    expect(await errorsFor({ ev: 'invoke', client: true, opId: 1.5, op: { kind: 'get', key: 'k' } })).toEqual([
      '$.client: expected a string or a number, got true',
      '$.opId: expected a string or an integer, got 1.5',
    ]);
    expect((await errorsFor({ ev: 'nope' }))[0]).toMatch(/^\$\.ev: unknown event type "nope"; expected one of: header, init/);
    expect((await errorsFor({}))[0]).toMatch(/^\$\.ev: missing event type \(field "ev"\)/);
    expect(await errorsFor([1])).toEqual(['$: expected an object, got an array']);
    expect(await errorsFor('x')).toEqual(['$: expected an object, got "x"']);
  });

  it('jsonPath quotes keys that are not identifiers', () => {
    expect(jsonPath([])).toBe('$');
    expect(jsonPath(['msg', 'entries', 2, 'term'])).toBe('$.msg.entries[2].term');
    expect(jsonPath(['meta', 'a b', '0x'])).toBe('$.meta["a b"]["0x"]');
  });

  it('formatIssue works on a bare issue, without the schema', () => {
    const result = TraceEvent.safeParse({ ev: 'commit', node: 'n1', commitIndex: -2 }, { reportInput: true });
    expect(result.success).toBe(false);
    const issue = result.error?.issues[0];
    expect(issue).toBeDefined();
    // Without the schema an integer field cannot be told from a number field.
    expect(formatIssue(issue!)).toEqual({ path: '$.commitIndex', message: 'expected a number ≥ 0, got -2' });
    expect(formatIssue(issue!, { schema: TraceEvent, value: { ev: 'commit', node: 'n1', commitIndex: -2 } }).message).toBe('expected an integer ≥ 0, got -2');
  });
});
