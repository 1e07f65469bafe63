/**
 * The scalar building blocks of trace format v1 and of every RPC.
 *
 * Terms and indices are non-negative safe integers (index 0 / term 0 mean "empty", §5.3);
 * node ids are non-empty strings. These are the only definitions of those facts: every other
 * schema composes them, so a change here changes the format everywhere at once.
 */
import { z } from 'zod';

/** A Raft term (§5.1). 0 means "no term yet". */
export const Term = z.int().min(0).describe('Raft term: a non-negative integer; 0 means no term yet');
export type Term = z.infer<typeof Term>;

/** A log index (§5.3), 1-based. 0 means "before the first entry". */
export const Index = z.int().min(0).describe('log index: a non-negative integer, 1-based; 0 means empty');
export type Index = z.infer<typeof Index>;

/** A log index that must name a real entry (1-based). */
export const EntryIndex = z.int().min(1).describe('log index of an entry: an integer ≥ 1');
export type EntryIndex = z.infer<typeof EntryIndex>;

/** A server's identity. Any non-empty string: "n1", "1", "10.0.0.1:7000". */
export const NodeId = z.string().min(1).describe('node id: a non-empty string');
export type NodeId = z.infer<typeof NodeId>;

/** Request/response correlation (`id` on a request, `inReplyTo` on its response). */
export const CorrelationId = z.union([z.string(), z.int()]).describe('correlation id: a string or an integer');
export type CorrelationId = z.infer<typeof CorrelationId>;

/** A server's role (Figure 2). `precandidate` appears only where PreVote (§9.6 of the thesis) is used. */
export const Role = z.enum(['follower', 'candidate', 'leader', 'precandidate']);
export type Role = z.infer<typeof Role>;

/** What a log entry carries: a client command, the leader's no-op (§8), or a configuration (§6). */
export const EntryKind = z.enum(['command', 'noop', 'config']);
export type EntryKind = z.infer<typeof EntryKind>;
