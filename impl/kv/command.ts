/**
 * A client's command as it travels through the Raft log: who sent it (`clientId`), its place in
 * that client's sequence (`seq`, for CL-ONCE, §8), and the operation. The core treats an entry's
 * `data` as opaque; this file is the only place that gives it a shape.
 *
 * The log is a gateway (house style, rule 3): `decodeCommand` parses with Zod, rejects unknown
 * fields rather than ignoring them, and names the offending field. Rejecting matters here more
 * than in a trace: replicas that silently ignored a field that some other version of the code
 * interprets would diverge (S-SMS).
 */
import { z } from 'zod';
import { CasOp, ClientOperation, DeleteOp, GetOp, PutOp } from '../../spec/schemas/client.ts';
import { KvDecodeError, KvEncodeError, issuesFromZod, parseJson } from './errors.ts';

/** The fields each operation kind may carry; anything else in a logged command is corruption. */
const OP_FIELDS: Readonly<Record<ClientOperation['kind'], ReadonlySet<string>>> = {
  get: new Set(Object.keys(GetOp.shape)),
  put: new Set(Object.keys(PutOp.shape)),
  delete: new Set(Object.keys(DeleteOp.shape)),
  cas: new Set(Object.keys(CasOp.shape)),
};

/**
 * The spec's ClientOperation, closed: the spec's schemas are loose because traces may carry extra
 * fields, but a logged command may not (see the file comment).
 */
const LoggedOperation = ClientOperation.superRefine((op, ctx) => {
  const allowed = OP_FIELDS[op.kind];
  for (const key of Object.keys(op)) {
    if (!allowed.has(key)) ctx.addIssue({ code: 'custom', path: [key], message: 'unknown field' });
  }
});

/** Zod schema of a logged command: `{ clientId, seq, op }`, no other fields. */
export const KvCommand = z.strictObject({
  /** The session this command belongs to (CL-ONCE). */
  clientId: z.string().min(1),
  /** Position in the client's sequence: a retry reuses it, the next command uses a higher one. */
  seq: z.int().min(0),
  op: LoggedOperation,
});
/** A client's command: `{ clientId, seq, op }` with `op` one of get/put/delete/cas. */
export type KvCommand = z.infer<typeof KvCommand>;

/** The operation with its known fields only, in a fixed order, so that its JSON is canonical. */
function canonicalOp(op: ClientOperation): ClientOperation {
  switch (op.kind) {
    case 'get':
      return { kind: 'get', key: op.key };
    case 'put':
      return { kind: 'put', key: op.key, value: op.value };
    case 'delete':
      return { kind: 'delete', key: op.key };
    case 'cas':
      return { kind: 'cas', key: op.key, expected: op.expected, value: op.value };
    default:
      // Unreachable for well-typed callers; returning the input lets the schema name what is wrong.
      return op;
  }
}

/**
 * Encodes a command as compact JSON with fields in a fixed order, so that equal commands give
 * byte-identical entries (and equal digests in `append` events). Extra fields that a loose
 * gateway preserved on `op` are not part of the command and are dropped. The result is validated
 * with the same schema that `decodeCommand` uses (validate before writing and after reading).
 *
 * @throws KvEncodeError if the command is invalid (empty clientId, seq not a non-negative integer…).
 */
export function encodeCommand(cmd: KvCommand): string {
  const canonical = { clientId: cmd.clientId, seq: cmd.seq, op: canonicalOp(cmd.op) };
  if (checkShape(canonical) === undefined) {
    const parsed = KvCommand.safeParse(canonical);
    if (!parsed.success) throw new KvEncodeError(issuesFromZod(parsed.error));
  }
  return JSON.stringify(canonical);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const hasExactly = (v: Record<string, unknown>, keys: number): boolean => Object.keys(v).length === keys;

/**
 * The fast path of validation: accepts exactly the values `KvCommand` accepts in the common case
 * (every field present, of its type, nothing else) and returns `undefined` for anything else, which
 * then goes through Zod — for its verdict and its precise error. It exists because every replica
 * decodes every command, and Zod's general machinery was a fifth of a simulation's profile.
 * A property test checks that it never accepts what Zod rejects.
 */
function checkShape(v: unknown): KvCommand | undefined {
  if (!isObject(v) || !hasExactly(v, 3)) return undefined;
  const { clientId, seq, op } = v;
  if (typeof clientId !== 'string' || clientId.length === 0) return undefined;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return undefined;
  if (!isObject(op) || typeof op['key'] !== 'string') return undefined;
  switch (op['kind']) {
    case 'get':
    case 'delete':
      if (!hasExactly(op, 2)) return undefined;
      break;
    case 'put':
      if (!hasExactly(op, 3) || typeof op['value'] !== 'string') return undefined;
      break;
    case 'cas':
      if (!hasExactly(op, 4) || typeof op['value'] !== 'string' || !('expected' in op)) return undefined;
      if (op['expected'] !== null && typeof op['expected'] !== 'string') return undefined;
      break;
    default:
      return undefined;
  }
  return v as KvCommand;
}

/** `checkShape`, exported for the test that holds it to Zod's verdict. */
export const fastCommandShape: (value: unknown) => KvCommand | undefined = checkShape;

/**
 * Decodes and validates a log entry's `data`.
 *
 * @throws KvDecodeError naming the offending field (`error.field`, e.g. `"op.value"`; `""` when the
 *   data is not JSON at all) and listing every issue found.
 */
export function decodeCommand(data: string): KvCommand {
  const json = parseJson(data);
  if (!json.ok) throw new KvDecodeError([json.issue]);
  const fast = checkShape(json.value);
  if (fast !== undefined) return fast;
  const parsed = KvCommand.safeParse(json.value);
  if (!parsed.success) throw new KvDecodeError(issuesFromZod(parsed.error));
  return parsed.data;
}
