/**
 * CL-LIN from trace format v1 events: pairing invoke with ok / fail / info, input problems as
 * errors (never exceptions), and the `LinearizabilityResult` the trace checker reports.
 */
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../../spec/schemas/trace-events.ts';
import type { LocatedEvent } from '../../../traces/checker/types.ts';
import { checkClientHistory, historyFromEvents } from '../../../traces/linearizability/index.ts';

/** Events on consecutive lines of one file. */
function located(events: readonly TraceEvent[], file = 'trace.ndjson'): LocatedEvent[] {
  return events.map((event, i) => ({ file, line: i + 1, event }));
}

const invoke = (client: string | number, opId: string | number, op: Extract<TraceEvent, { ev: 'invoke' }>['op']): TraceEvent => ({ ev: 'invoke', client, opId, op });
const okv = (client: string | number, opId: string | number, value?: string | null): TraceEvent =>
  value === undefined ? { ev: 'ok', client, opId } : { ev: 'ok', client, opId, value };

describe('historyFromEvents (CL-LIN)', () => {
  it('pairs invoke and completion by client and opId; fail is dropped; info and unfinished are unknown', () => {
    const events = located([
      invoke('c1', 1, { kind: 'put', key: 'x', value: '1' }),
      invoke('c2', 1, { kind: 'put', key: 'x', value: '2' }),
      { ev: 'crash', node: 'n1' },
      invoke('c3', 'a', { kind: 'cas', key: 'x', expected: '5', value: '6' }),
      okv('c1', 1),
      { ev: 'fail', client: 'c3', opId: 'a', error: 'cas did not match' },
      { ev: 'info', client: 'c2', opId: 1, error: 'timeout' },
      invoke('c4', 7, { kind: 'get', key: 'x' }),
    ]);
    const { ops, errors, clientEvents } = historyFromEvents(events);
    expect(errors).toEqual([]);
    expect(clientEvents).toBe(7);
    expect(ops.map((op) => [op.client, op.status, op.call, op.ret, op.line, op.retLine])).toEqual([
      ['c1', 'ok', 0, 4, 1, 5],
      ['c2', 'info', 1, undefined, 2, 7],
      ['c4', 'pending', 7, undefined, 8, undefined],
    ]);
  });

  it('reports a completion without invoke, two open invokes, a reused opId and a get without value — and goes on', () => {
    const events = located([
      okv('c9', 1, 'x'),
      invoke('c1', 1, { kind: 'get', key: 'x' }),
      invoke('c1', 2, { kind: 'get', key: 'x' }),
      okv('c1', 1, null),
      okv('c1', 2),
      invoke('c1', 2, { kind: 'put', key: 'x', value: '1' }),
      okv('c1', 2),
    ]);
    const { ops, errors } = historyFromEvents(events);
    expect(errors.map((e) => [e.line, e.message.replace(/ —.*| \(.*|;.*/, '')])).toEqual([
      [1, 'CL-LIN: ok for client "c9" opId 1 has no matching invoke: it has no open operation'],
      [3, 'CL-LIN: client "c1" invokes opId 2 while opId 1'],
      [4, 'CL-LIN: ok for client "c1" opId 1 has no matching invoke: its open operation is opId 2'],
      [5, 'CL-LIN: ok of a get'],
      [6, 'CL-LIN: client "c1" reuses opId 2'],
    ]);
    // The first get of c1 is taken as unknown; the second completed without a value: unconstrained.
    expect(ops.map((op) => [op.opId, op.status, op.output])).toEqual([
      [1, 'pending', undefined],
      [2, 'ok', {}],
      [2, 'ok', {}],
    ]);
  });

  it('tells the integer client 1 from the string client "1"', () => {
    const { ops, errors } = historyFromEvents(located([invoke(1, 1, { kind: 'get', key: 'x' }), invoke('1', 1, { kind: 'get', key: 'x' }), okv(1, 1, null), okv('1', 1, null)]));
    expect(errors).toEqual([]);
    expect(ops).toHaveLength(2);
  });
});

describe('checkClientHistory (CL-LIN → LinearizabilityResult)', () => {
  it('says no-history when there are no client events', () => {
    const { result, errors } = checkClientHistory(located([{ ev: 'crash', node: 'n1' }]));
    expect(result.verdict).toBe('no-history');
    expect(errors).toEqual([]);
  });

  it('reports linearizable with a count', () => {
    const { result } = checkClientHistory(located([invoke('c', 1, { kind: 'put', key: 'x', value: '1' }), okv('c', 1), invoke('c', 2, { kind: 'get', key: 'x' }), okv('c', 2, '1')]));
    expect(result).toMatchObject({ verdict: 'linearizable', message: expect.stringMatching(/^CL-LIN: 2 operations on 1 key are linearizable/) });
  });

  it('reports a stale read with the key, the events of the operations that cannot be ordered, and a message naming lines', () => {
    const events = located([
      invoke('a', 1, { kind: 'put', key: 'x', value: '1' }),
      okv('a', 1),
      invoke('a', 2, { kind: 'put', key: 'x', value: '2' }),
      okv('a', 2),
      invoke('b', 1, { kind: 'get', key: 'x' }),
      okv('b', 1, '1'),
    ]);
    const { result, detail } = checkClientHistory(events);
    expect(result.verdict).toBe('not-linearizable');
    expect(result.key).toBe('x');
    expect(result.operations?.map((e) => e.line)).toEqual([3, 4, 5, 6]);
    expect(result.operations?.[0]).toBe(events[2]);
    expect(result.message).toContain('on key "x", no order of these 2 operations');
    expect(result.message).toContain('client "a": put x="2" (line 3–4)');
    expect(result.message).toContain('client "b": get x → "1" (line 5–6)');
    expect(detail?.verdict).toBe('not-linearizable');
  });

  it('locates pairing errors in their file', () => {
    const { errors, result } = checkClientHistory(located([okv('z', 1, null)], 'node-3.ndjson'));
    expect(errors).toEqual([{ file: 'node-3.ndjson', line: 1, message: expect.stringContaining('no matching invoke') }]);
    expect(result.verdict).toBe('linearizable');
  });

  it('reports unknown when the budget runs out', () => {
    const events: TraceEvent[] = [];
    for (let c = 0; c < 16; c++) events.push(invoke(c, 1, { kind: 'put', key: 'x', value: String(c) }));
    for (let c = 0; c < 16; c++) events.push(okv(c, 1));
    events.push(invoke('r', 1, { kind: 'get', key: 'x' }), okv('r', 1, 'never'));
    const { result } = checkClientHistory(located(events), { maxSteps: 1000 });
    expect(result).toMatchObject({ verdict: 'unknown', message: expect.stringContaining('key "x"') });
  });
});
