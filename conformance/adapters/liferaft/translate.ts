/**
 * liferaft's packets as the Raft RPCs of trace v1. A packet is
 * `{ state, term, address, type, leader, last: { index, term, committedIndex }, data }`:
 *
 * | liferaft `type` | trace v1 message | fields |
 * |---|---|---|
 * | `vote` | RequestVote | candidateId = address, lastLogIndex/Term = last.index/term |
 * | `voted` | RequestVoteResponse | voteGranted = data.granted |
 * | `append` | AppendEntries | leaderId = address, prevLogIndex/Term = last.index/term, entries = data, leaderCommit = last.committedIndex |
 * | `append ack` | AppendEntriesResponse | success, matchIndex = data.index |
 * | `append fail` | AppendEntriesResponse | success = false |
 * | `error`, anything else | — (routed, not traced: not a Raft RPC) | |
 *
 * liferaft reports an empty log's last term as the node's current term (log.js getLastEntry);
 * Figure 2's is 0, and the trace says 0. Packets are checked with Zod (the target is outside our
 * trust boundary): one that is not a well-formed liferaft packet is not a Raft RPC.
 */
import { z } from 'zod';
import type { Message } from '../../../spec/schemas/messages.ts';
import type { MessageEntry } from '../../../spec/schemas/messages.ts';

const Count = z.number().int().min(0);
const Last = z.looseObject({ index: Count, term: Count, committedIndex: Count });
const Packet = z.looseObject({ type: z.string(), term: Count, address: z.string(), last: Last.optional(), data: z.unknown().optional() });
const StoredEntry = z.looseObject({ index: Count, term: Count, command: z.unknown().optional() });

/** The digest of a proposed command: its id (the adapter proposes `{ id, op }`). */
export function digestOf(command: unknown): string | undefined {
  const id = (command as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
}

/** The prevLogIndex an `append fail` says the follower lacked (its data.index), if it is one. */
export function appendFailIndex(wire: unknown): number | undefined {
  const p = Packet.safeParse(wire);
  if (!p.success || p.data.type !== 'append fail') return undefined;
  const data = z.looseObject({ index: Count }).safeParse(p.data.data);
  return data.success ? data.data.index : undefined;
}

/** prevLogTerm/lastLogTerm as Figure 2 has them: 0 for an empty log. */
function logTerm(last: z.infer<typeof Last>): number {
  return last.index === 0 ? 0 : last.term;
}

export function translate(wire: unknown): Message | undefined {
  const parsed = Packet.safeParse(wire);
  if (!parsed.success) return undefined;
  const p = parsed.data;
  const last = p.last;
  switch (p.type) {
    case 'vote':
      if (last === undefined) return undefined;
      return { type: 'RequestVote', term: p.term, candidateId: p.address, lastLogIndex: last.index, lastLogTerm: logTerm(last) };
    case 'voted':
      return { type: 'RequestVoteResponse', term: p.term, voteGranted: (p.data as { granted?: unknown } | undefined)?.granted === true };
    case 'append': {
      if (last === undefined) return undefined;
      const data = z.array(StoredEntry).safeParse(p.data ?? []);
      if (!data.success) return undefined;
      const entries: MessageEntry[] = data.data.map((e) => {
        const digest = digestOf(e.command);
        return { index: e.index, term: e.term, kind: 'command', ...(digest === undefined ? {} : { digest }) };
      });
      return { type: 'AppendEntries', term: p.term, leaderId: p.address, prevLogIndex: last.index, prevLogTerm: logTerm(last), entries, leaderCommit: last.committedIndex };
    }
    case 'append ack': {
      const index = z.looseObject({ index: Count }).safeParse(p.data);
      return { type: 'AppendEntriesResponse', term: p.term, success: true, ...(index.success ? { matchIndex: index.data.index } : {}) };
    }
    case 'append fail':
      return { type: 'AppendEntriesResponse', term: p.term, success: false };
    default:
      return undefined;
  }
}
