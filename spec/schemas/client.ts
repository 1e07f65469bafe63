/**
 * Client operations on the key-value state machine (§8), as they appear in `invoke` events.
 * Keys and values are strings; a key never written reads as `null`.
 */
import { z } from 'zod';
import { unknownDiscriminator } from './errors.ts';

export const OP_KINDS = ['get', 'put', 'delete', 'cas'] as const;

export const GetOp = z.looseObject({ kind: z.literal('get'), key: z.string() });
export const PutOp = z.looseObject({ kind: z.literal('put'), key: z.string(), value: z.string() });
export const DeleteOp = z.looseObject({ kind: z.literal('delete'), key: z.string() });
/** Compare-and-set: writes `value` only if the current value equals `expected` (`null`: absent). */
export const CasOp = z.looseObject({
  kind: z.literal('cas'),
  key: z.string(),
  expected: z.string().nullable(),
  value: z.string(),
});

export const ClientOperation = z.discriminatedUnion('kind', [GetOp, PutOp, DeleteOp, CasOp], {
  error: (issue) => unknownDiscriminator(issue, 'operation kind', OP_KINDS),
});
export type ClientOperation = z.infer<typeof ClientOperation>;

/** A client's identity in the history: Jepsen numbers its processes, others name them. */
export const ClientId = z.union([z.string().min(1), z.int().min(0)]).describe('client id: a non-empty string or a non-negative integer');
export type ClientId = z.infer<typeof ClientId>;

/** Unique per client. */
export const OperationId = z.union([z.string().min(1), z.int()]).describe('operation id: unique per client');
export type OperationId = z.infer<typeof OperationId>;
