/** Log entry encoding of KV commands: canonical JSON out, Zod-validated commands in, errors that name the field. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCommand, encodeCommand, fastCommandShape, KvCommand as KvCommandSchema, type KvCommand } from '../../../impl/kv/command.ts';
import { KvDecodeError, KvEncodeError } from '../../../impl/kv/errors.ts';
import { arbCommand } from './arbitraries.ts';

const put: KvCommand = { clientId: 'c1', seq: 7, op: { kind: 'put', key: 'k', value: 'v' } };

/** The KvDecodeError that decoding `data` throws (fails the test if it does not throw one). */
function decodeError(data: string): KvDecodeError {
  try {
    decodeCommand(data);
  } catch (err) {
    if (err instanceof KvDecodeError) return err;
    throw err;
  }
  throw new Error(`decoded without error: ${data}`);
}

describe('encodeCommand', () => {
  it('writes compact JSON with fields in a fixed order', () => {
    expect(encodeCommand(put)).toBe('{"clientId":"c1","seq":7,"op":{"kind":"put","key":"k","value":"v"}}');
    const cas: KvCommand = { op: { value: 'n', expected: null, key: 'k', kind: 'cas' }, seq: 0, clientId: 'c2' };
    expect(encodeCommand(cas)).toBe('{"clientId":"c2","seq":0,"op":{"kind":"cas","key":"k","expected":null,"value":"n"}}');
  });

  it('drops extra fields a loose gateway kept on the operation', () => {
    const loose: KvCommand = { clientId: 'c1', seq: 1, op: { kind: 'get', key: 'k', note: 'ignored' } };
    expect(encodeCommand(loose)).toBe('{"clientId":"c1","seq":1,"op":{"kind":"get","key":"k"}}');
  });

  it.each([
    ['clientId', { ...put, clientId: '' }],
    ['seq', { ...put, seq: -1 }],
    ['seq', { ...put, seq: 1.5 }],
    ['seq', { ...put, seq: Number.MAX_SAFE_INTEGER + 1 }],
  ])('refuses an invalid command and names %s', (field, cmd) => {
    expect(() => encodeCommand(cmd)).toThrow(KvEncodeError);
    expect(() => encodeCommand(cmd)).toThrow(new RegExp(`^invalid KV command to encode: ${field}:`));
  });

  it('round-trips every command through decodeCommand, byte for byte', () => {
    fc.assert(
      fc.property(arbCommand, (cmd) => {
        const data = encodeCommand(cmd);
        expect(decodeCommand(data)).toStrictEqual(cmd);
        expect(encodeCommand(decodeCommand(data))).toBe(data);
      }),
    );
  });
});

describe('decodeCommand (the log is a gateway: Zod, errors name the field)', () => {
  it('accepts any field order and whitespace', () => {
    expect(decodeCommand(' { "op": {"value":"v","key":"k","kind":"put"}, "seq": 7, "clientId": "c1" } ')).toStrictEqual(put);
  });

  it.each([
    ['not JSON', '{"clientId":', '', /^invalid KV command: not JSON/],
    ['not an object', '"put k v"', '', /expected object/],
    ['missing clientId', '{"seq":1,"op":{"kind":"get","key":"k"}}', 'clientId', /clientId: .*expected string/],
    ['empty clientId', '{"clientId":"","seq":1,"op":{"kind":"get","key":"k"}}', 'clientId', /clientId: .*>=1 characters/],
    ['negative seq', '{"clientId":"a","seq":-1,"op":{"kind":"get","key":"k"}}', 'seq', /seq: .*>=0/],
    ['fractional seq', '{"clientId":"a","seq":0.5,"op":{"kind":"get","key":"k"}}', 'seq', /seq: .*int/],
    ['seq as string', '{"clientId":"a","seq":"1","op":{"kind":"get","key":"k"}}', 'seq', /seq: /],
    ['missing op', '{"clientId":"a","seq":1}', 'op', /op: /],
    ['unknown op kind', '{"clientId":"a","seq":1,"op":{"kind":"incr","key":"k"}}', 'op.kind', /op.kind: unknown operation kind "incr"/],
    ['missing op kind', '{"clientId":"a","seq":1,"op":{"key":"k"}}', 'op.kind', /op.kind: missing operation kind/],
    ['put without value', '{"clientId":"a","seq":1,"op":{"kind":"put","key":"k"}}', 'op.value', /op.value: .*expected string/],
    ['numeric value', '{"clientId":"a","seq":1,"op":{"kind":"put","key":"k","value":3}}', 'op.value', /op.value: .*expected string, received number/],
    ['cas without expected', '{"clientId":"a","seq":1,"op":{"kind":"cas","key":"k","value":"v"}}', 'op.expected', /op.expected: /],
    ['numeric key', '{"clientId":"a","seq":1,"op":{"kind":"get","key":1}}', 'op.key', /op.key: /],
    ['unknown top-level field', '{"clientId":"a","seq":1,"op":{"kind":"get","key":"k"},"ttl":5}', 'ttl', /ttl: unknown field/],
    ['unknown op field', '{"clientId":"a","seq":1,"op":{"kind":"get","key":"k","value":"v"}}', 'op.value', /op.value: unknown field/],
  ])('%s: throws KvDecodeError naming %j', (_name, data, field, message) => {
    const err = decodeError(data);
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
    expect(err.issues.length).toBeGreaterThan(0);
  });

  it('lists every problem, not only the first', () => {
    const err = decodeError('{"clientId":"","seq":-1,"op":{"kind":"put","key":"k"}}');
    expect(err.issues.map((i) => i.field)).toStrictEqual(['clientId', 'seq', 'op.value']);
  });

  it('never throws anything but KvDecodeError, whatever the data', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify({ clientId: 'a', seq: 1, op: v }))), (data) => {
        try {
          const cmd = decodeCommand(data);
          // Whatever decodes is a command that encodes (the schema is the same on both sides).
          expect(decodeCommand(encodeCommand(cmd))).toStrictEqual(cmd);
        } catch (err) {
          expect(err).toBeInstanceOf(KvDecodeError);
        }
      }),
    );
  });
});

describe('fast validation path', () => {
  it('never accepts what the Zod schema rejects, and agrees on what it accepts', () => {
    const field = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.constant(null), fc.boolean(), fc.constant(-1), fc.constant(''));
    const op = fc.oneof(
      fc.record({ kind: fc.constantFrom('get', 'put', 'delete', 'cas', 'nope'), key: field, value: field, expected: field }, { requiredKeys: ['kind'] }),
      fc.record({ kind: fc.constantFrom('get', 'delete'), key: fc.string() }),
      fc.record({ kind: fc.constant('put'), key: fc.string(), value: fc.string() }),
      fc.record({ kind: fc.constant('cas'), key: fc.string(), expected: fc.option(fc.string(), { nil: null }), value: fc.string() }),
    );
    const malformed = fc.record(
      { clientId: fc.oneof(fc.string(), field), seq: fc.oneof(fc.nat(), field), op: fc.oneof(op, field), extra: field },
      { requiredKeys: [] },
    );
    // Valid commands, as encoded, then parsed back — the common case the fast path exists for.
    const valid = arbCommand.map((cmd) => JSON.parse(encodeCommand(cmd)) as unknown);
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(malformed, valid), (value) => {
        const roundTripped: unknown = JSON.parse(JSON.stringify(value));
        const fast = fastCommandShape(roundTripped);
        const zod = KvCommandSchema.safeParse(roundTripped);
        if (fast !== undefined) {
          accepted++;
          expect(zod.success, JSON.stringify(roundTripped)).toBe(true);
          expect(zod.data).toEqual(fast);
        }
      }),
      { numRuns: 3000 },
    );
    // The property must have exercised acceptance, not only rejection.
    expect(accepted).toBeGreaterThan(1000);
  });
});
