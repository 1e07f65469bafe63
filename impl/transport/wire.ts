/**
 * What a frame carries on a peer link, and the gateway that checks it.
 *
 * A frame's payload is one kind byte and a UTF-8 JSON body:
 *   - HANDSHAKE — one handshake message (handshake.ts); handshakes use frames too, so that a
 *     byte-level observer (the chaos proxy) can follow a link from its first byte;
 *   - ENVELOPES — a JSON array of envelopes `{ from, to, msg }`: every message queued while the
 *     previous write was pending goes out in one frame (batching).
 *
 * Every received envelope is parsed with Zod against spec's `Message` plus the fields the
 * reference core adds to it (`round`, entry `digest` = the command, snapshot `data`/`voters`, …):
 * the receiving core trusts its input's types, so nothing unchecked may reach it. The objects stay
 * loose like spec's: unknown fields pass through and the core ignores them.
 */
import { z } from 'zod';
import type { Envelope } from '../core/types.ts';
import { unknownDiscriminator } from '../../spec/schemas/errors.ts';
import {
  AppendEntries,
  AppendEntriesResponse,
  InstallSnapshot,
  InstallSnapshotResponse,
  MESSAGE_TYPES,
  RequestVote,
  RequestVoteResponse,
  TimeoutNow,
} from '../../spec/schemas/messages.ts';
import { EntryIndex, EntryKind, NodeId, Term } from '../../spec/schemas/primitives.ts';
import { encodeFrame, FRAME_HEADER_BYTES } from './frame.ts';

/** The first payload byte of every frame. */
export const FrameKind = Object.freeze({ HANDSHAKE: 0x01, ENVELOPES: 0x02 });
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** Payload bytes an ENVELOPES frame adds around its messages: the kind byte, `[` and `]`. */
export const ENVELOPE_PAYLOAD_OVERHEAD_BYTES = 1 + 2;

export type WireErrorKind =
  /** Not a frame of ours: empty, an unknown kind byte, not JSON, not a batch. */
  | 'malformed'
  /** An authenticated peer sent a message in another node's name. */
  | 'spoofed';

/** A frame the connection cannot go on after; the connection is closed. */
export class WireError extends Error {
  override readonly name = 'WireError';
  constructor(
    readonly kind: WireErrorKind,
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Schemas: spec's messages plus the reference core's extras (impl/core/raft-node.ts).

/** ReadIndex (§8): the heartbeat round a follower echoes back, so the leader can confirm reads. */
const Round = z.int().min(0).describe('ReadIndex heartbeat round, echoed by the follower');

/** An entry as the core sends it: `digest` is the command itself, so it is required on the wire. */
const WireEntry = z.looseObject({
  term: Term,
  index: EntryIndex,
  kind: EntryKind,
  digest: z.string().describe('the command (the reference core carries its data here)'),
});

const WireAppendEntries = AppendEntries.extend({ entries: z.array(WireEntry), round: Round.optional() }).superRefine((msg, ctx) => {
  // The core places entry k at prevLogIndex + 1 + k; an index saying otherwise is a corrupt batch.
  msg.entries.forEach((entry, k) => {
    if (entry.index !== msg.prevLogIndex + 1 + k) {
      ctx.addIssue({ code: 'custom', path: ['entries', k, 'index'], message: `entry index ${entry.index} should be prevLogIndex + ${k + 1} = ${msg.prevLogIndex + 1 + k}` });
    }
  });
});

const WireAppendEntriesResponse = AppendEntriesResponse.extend({ round: Round.optional() });

/**
 * A snapshot chunk: `data` (the chunk) and `voters` are required on the wire — a missing `data`
 * would otherwise install an empty state machine.
 */
const WireInstallSnapshot = InstallSnapshot.extend({
  data: z.string().describe('this chunk of the serialized state machine'),
  voters: z.array(NodeId).min(1).describe('the voters at lastIncludedIndex'),
});

/** `offset`: the next offset the follower expects; `done`: the snapshot is installed. */
const WireInstallSnapshotResponse = InstallSnapshotResponse.extend({ offset: z.int().min(0).optional(), done: z.boolean().optional() });

/** Any RPC as the reference core sends it. */
export const WireMessage = z.discriminatedUnion(
  'type',
  [RequestVote, RequestVoteResponse, WireAppendEntries, WireAppendEntriesResponse, WireInstallSnapshot, WireInstallSnapshotResponse, TimeoutNow],
  { error: (issue) => unknownDiscriminator(issue, 'message type', MESSAGE_TYPES) },
);
export type WireMessage = z.infer<typeof WireMessage>;

export const WireEnvelope = z.object({ from: NodeId, to: NodeId, msg: WireMessage });
export type WireEnvelope = z.infer<typeof WireEnvelope>;

// ---------------------------------------------------------------------------------------------
// Encoding.

/** A HANDSHAKE frame carrying `body` as JSON. */
export function encodeHandshakeFrame(body: object): Buffer {
  return encodeFrame(Buffer.from(String.fromCharCode(FrameKind.HANDSHAKE) + JSON.stringify(body), 'utf8'));
}

/** Bytes one serialized envelope adds to an ENVELOPES frame (its UTF-8 length and a comma). */
export function envelopeWireBytes(json: string): number {
  return Buffer.byteLength(json, 'utf8') + 1;
}

/**
 * One ENVELOPES frame from already-serialized envelopes (`JSON.stringify(envelope)` each), built
 * as a single Buffer so that the whole batch is one `write`.
 */
export function encodeEnvelopeFrame(jsons: readonly string[]): Buffer {
  const text = `[${jsons.join(',')}]`;
  const bodyBytes = Buffer.byteLength(text, 'utf8');
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 1 + bodyBytes);
  frame.writeUInt32BE(1 + bodyBytes, 0);
  frame[FRAME_HEADER_BYTES] = FrameKind.ENVELOPES;
  frame.write(text, FRAME_HEADER_BYTES + 1, 'utf8');
  return frame;
}

// ---------------------------------------------------------------------------------------------
// Decoding.

export interface DecodedPayload {
  readonly kind: FrameKind;
  /** The JSON body, unchecked: the handshake or the batch parser validates it. */
  readonly body: unknown;
}

/** The kind byte of a payload, or undefined for an empty payload. Does not parse the body. */
export function payloadKind(payload: Uint8Array): number | undefined {
  return payload[0];
}

/** Splits a frame payload into its kind and JSON body. Throws WireError('malformed'). */
export function decodePayload(payload: Buffer): DecodedPayload {
  const kind = payload[0];
  if (kind !== FrameKind.HANDSHAKE && kind !== FrameKind.ENVELOPES) {
    throw new WireError('malformed', kind === undefined ? 'an empty frame (no kind byte)' : `a frame of unknown kind 0x${kind.toString(16).padStart(2, '0')}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8', 1));
  } catch (error) {
    throw new WireError('malformed', `a frame whose body is not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  return { kind, body };
}

/** An envelope refused by the gateway, with the reason to log. */
export interface RejectedEnvelope {
  /** Position in the batch. */
  readonly position: number;
  readonly reason: string;
}

export interface ParsedBatch {
  readonly envelopes: Envelope[];
  readonly rejected: RejectedEnvelope[];
}

export interface ParseBatchOptions {
  /** This node: every envelope must be addressed to it. */
  readonly self: string;
  /** The peer the connection authenticated as: every envelope must come from it. */
  readonly peer: string;
}

/**
 * The gateway for an ENVELOPES body. Envelopes that fail the schema or are addressed to another
 * node are refused one by one (Raft tolerates the loss; the rest of the batch is good). A body
 * that is not an array is malformed, and an envelope in another node's name is spoofed: both
 * throw WireError, because such a peer is broken or hostile and the link must close.
 */
export function parseEnvelopeBatch(body: unknown, options: ParseBatchOptions): ParsedBatch {
  if (!Array.isArray(body)) throw new WireError('malformed', 'an envelope frame whose body is not an array');
  const envelopes: Envelope[] = [];
  const rejected: RejectedEnvelope[] = [];
  body.forEach((item: unknown, position) => {
    const parsed = WireEnvelope.safeParse(item);
    if (!parsed.success) {
      rejected.push({ position, reason: describeIssues(parsed.error) });
      return;
    }
    const envelope = parsed.data;
    assertNotSpoofed(envelope, options.peer);
    if (envelope.to !== options.self) {
      rejected.push({ position, reason: `addressed to ${JSON.stringify(envelope.to)}, but this node is ${JSON.stringify(options.self)}` });
      return;
    }
    envelopes.push(envelope);
  });
  return { envelopes, rejected };
}

/** `from` must be the authenticated peer, and so must the leader or candidate a message names. */
function assertNotSpoofed(envelope: WireEnvelope, peer: string): void {
  const { from, msg } = envelope;
  const claimed = 'leaderId' in msg ? msg.leaderId : 'candidateId' in msg ? msg.candidateId : from;
  if (from === peer && claimed === from) return;
  const who = from !== peer ? `from ${JSON.stringify(from)}` : `${msg.type} naming ${JSON.stringify(claimed)}`;
  throw new WireError('spoofed', `peer ${JSON.stringify(peer)} sent a message ${who}: a node may only send in its own name`);
}

/** The first few Zod issues as `path: message`, enough to find the bug on the sending side. */
export function describeIssues(error: z.ZodError, max = 3): string {
  const parts = error.issues.slice(0, max).map((issue) => `${issue.path.length === 0 ? '(envelope)' : issue.path.join('.')}: ${issue.message}`);
  const more = error.issues.length > max ? ` (and ${error.issues.length - max} more)` : '';
  return parts.join('; ') + more;
}
