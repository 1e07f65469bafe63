/**
 * How the core's trace events name commands. trace-format.md asks `digest` only to identify a
 * command; a host may pass a hash to keep traces small. Whatever names a command in `append` and
 * `apply` must name it in the entries of `send`, `recv` and `drop` too, or those events would not
 * match one another — hence one function for every emitter.
 */
import type { Message } from '../../spec/schemas/messages.ts';

export type TraceDigest = (data: string) => string;

/** The default: a command is named by itself. */
export const IDENTITY_DIGEST: TraceDigest = (data) => data;

/** Bound on remembered digests: every replica names every command several times; hash it once. */
const MEMO_ENTRIES_MAX = 1 << 16;

/**
 * `digest`, remembering recent results. A command is named by append and apply on every replica
 * and by every AppendEntries that carries it; without this, hashing dominated a traced run.
 */
export function memoizeDigest(digest: TraceDigest): TraceDigest {
  if (digest === IDENTITY_DIGEST) return digest;
  let memo = new Map<string, string>();
  return (data) => {
    let named = memo.get(data);
    if (named === undefined) {
      if (memo.size >= MEMO_ENTRIES_MAX) memo = new Map();
      named = digest(data);
      memo.set(data, named);
    }
    return named;
  };
}

/** One traced copy per message object and digest: send, recv and drop show the very same object. */
const tracedCopies = new WeakMap<TraceDigest, WeakMap<Message, Message>>();

/** A message as trace events show it: AppendEntries entries carry `digest(command)`. */
export function traceMessage(msg: Message, digest: TraceDigest): Message {
  if (digest === IDENTITY_DIGEST || msg.type !== 'AppendEntries' || msg.entries.length === 0) return msg;
  let copies = tracedCopies.get(digest);
  if (copies === undefined) {
    copies = new WeakMap();
    tracedCopies.set(digest, copies);
  }
  let traced = copies.get(msg);
  if (traced === undefined) {
    traced = { ...msg, entries: msg.entries.map((e) => (e.digest === undefined || e.digest === '' ? e : { ...e, digest: digest(e.digest) })) };
    copies.set(msg, traced);
  }
  return traced;
}
