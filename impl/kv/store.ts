/**
 * The replicated key-value state machine (§8) with client sessions for exactly-once semantics
 * (CL-ONCE).
 *
 * Every replica feeds the same committed entries, in index order, to its own `KvStore` (ALL-1).
 * The store is a pure function of that sequence: no I/O, no clock, no randomness; iteration
 * orders are defined by the log, never by hashing. So replicas that applied the same prefix hold
 * byte-identical snapshots and equal digests (S-SMS), and a simulator can compare them cheaply.
 */
import { z } from 'zod';
import { EntryIndex, Index } from '../../spec/schemas/primitives.ts';
import type { ClientOperation } from '../../spec/schemas/client.ts';
import { decodeCommand } from './command.ts';
import { fnv1a64 } from './digest.ts';
import { KvSnapshotError, issuesFromZod, kvAssert, parseJson } from './errors.ts';

/**
 * The result of executing an operation. get: `{ kind: 'ok', value }` (`null`: absent);
 * put, delete and a matching cas: `{ kind: 'ok' }`; a cas that did not match:
 * `{ kind: 'cas-mismatch', current }` — the client history records that as `fail`.
 */
export type KvResult =
  | { readonly kind: 'ok'; readonly value?: string | null }
  | { readonly kind: 'cas-mismatch'; readonly current: string | null };

/**
 * What `apply` reports for one command: its result when it was executed now; `duplicate` with the
 * result of the first execution when the command is a retry of the client's latest one (CL-ONCE);
 * `stale` when the client has since moved on (its answer was already given, or is no longer wanted).
 */
export type KvOutcome =
  | KvResult
  | { readonly kind: 'duplicate'; readonly outcome: KvResult }
  | { readonly kind: 'stale' };

/** Options for a new, empty store. */
export interface KvStoreOptions {
  /** Bound on the session table (see {@link KvStore}); a positive integer. Default {@link DEFAULT_MAX_SESSIONS}. */
  readonly maxSessions?: number;
}

/** Default bound on the number of client sessions a store remembers. */
export const DEFAULT_MAX_SESSIONS = 10_000;

/** A client's session: its latest executed command, where it sat in the log, and its result. */
interface Session {
  readonly seq: number;
  /** Log index of the entry that executed `seq`. Distinct across sessions: one command per entry. */
  readonly index: number;
  readonly outcome: KvResult;
}

const SNAPSHOT_FORMAT = 'figure2-kv';
const SNAPSHOT_VERSION = 1;

const OK: KvResult = Object.freeze({ kind: 'ok' });
const STALE: KvOutcome = Object.freeze({ kind: 'stale' });

/** Code-unit order: the same on every engine and locale, unlike `localeCompare`. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const ResultSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('ok'), value: z.string().nullable().optional() }),
  z.strictObject({ kind: z.literal('cas-mismatch'), current: z.string().nullable() }),
]);

const SnapshotSchema = z
  .strictObject({
    format: z.literal(SNAPSHOT_FORMAT),
    version: z.literal(SNAPSHOT_VERSION),
    lastAppliedIndex: Index,
    maxSessions: z.int().min(1),
    /** `[key, value]` pairs, sorted by key. Pairs rather than an object: keys such as `__proto__` or `"1"` stay plain data. */
    data: z.array(z.tuple([z.string(), z.string()])),
    /** Sorted by clientId. */
    sessions: z.array(
      z.strictObject({ clientId: z.string().min(1), seq: z.int().min(0), index: EntryIndex, outcome: ResultSchema }),
    ),
  })
  .superRefine((snap, ctx) => {
    // Sorted and unique: duplicates would be ambiguous, and requiring the order `snapshot()`
    // writes means restore(s).snapshot() reproduces s.
    snap.data.forEach(([key], i) => {
      const prev = snap.data[i - 1];
      if (prev !== undefined && compareStrings(prev[0], key) >= 0) {
        ctx.addIssue({ code: 'custom', path: ['data', i, 0], message: 'keys must be strictly increasing (sorted, no duplicates)' });
      }
    });
    const indices = new Set<number>();
    snap.sessions.forEach((s, i) => {
      const prev = snap.sessions[i - 1];
      if (prev !== undefined && compareStrings(prev.clientId, s.clientId) >= 0) {
        ctx.addIssue({ code: 'custom', path: ['sessions', i, 'clientId'], message: 'clientIds must be strictly increasing (sorted, no duplicates)' });
      }
      if (s.index > snap.lastAppliedIndex) {
        ctx.addIssue({ code: 'custom', path: ['sessions', i, 'index'], message: `index ${s.index} is past lastAppliedIndex ${snap.lastAppliedIndex}` });
      }
      if (indices.has(s.index)) {
        ctx.addIssue({ code: 'custom', path: ['sessions', i, 'index'], message: `index ${s.index} belongs to two sessions; an entry executes one command` });
      }
      indices.add(s.index);
    });
    if (snap.sessions.length > snap.maxSessions) {
      ctx.addIssue({ code: 'custom', path: ['sessions'], message: `${snap.sessions.length} sessions exceed maxSessions ${snap.maxSessions}` });
    }
  });

/**
 * The key-value state machine with client sessions.
 *
 * Sessions (CL-ONCE, §8): for each clientId the store remembers the highest `seq` it executed and
 * that command's result. A command carrying that same seq is a retry — the client did not hear
 * the answer, perhaps because the leader crashed after committing — so the store answers from the
 * cache and does not execute it again. A lower seq is stale and is not executed either. The
 * session table is replicated state: it is in the snapshot, so a replica restored from a snapshot
 * deduplicates exactly as the one that wrote it.
 *
 * The table is bounded by `maxSessions`, because every client that ever wrote would otherwise stay
 * in memory and in every snapshot forever. When a new client would exceed the bound, the store
 * evicts the client whose latest command sits at the lowest log index. Every replica evicts the
 * same client, because the choice depends only on the log. The price: if an evicted client retries
 * a command whose answer it never received, the store no longer recognizes the retry and executes
 * it a second time, which breaks CL-ONCE for that client. The thesis (§6.3) accepts the same risk;
 * choose the bound well above the number of concurrently active clients.
 *
 * Contract with the host (ALL-1): entries arrive in strictly increasing index order, each once.
 * Entries without a KV command (the leader's no-op, configuration entries) go to `skip`, so that
 * `lastAppliedIndex` follows Raft's `lastApplied`. Breaking the order is a bug and throws
 * `KvAssertionError`.
 */
export class KvStore {
  /** Bound on the session table; part of the replicated state (it is in the snapshot), because replicas with different bounds would evict differently and diverge. */
  readonly maxSessions: number;
  readonly #data = new Map<string, string>();
  // Invariant: iteration order is increasing `Session.index`, so the first session is the one to
  // evict. It holds because an update deletes and re-inserts, and indices only grow.
  readonly #sessions = new Map<string, Session>();
  // Invariant: every session's index ≤ #lastAppliedIndex; #sessions.size ≤ maxSessions.
  #lastAppliedIndex = 0;

  /** An empty store. @throws RangeError if `maxSessions` is not a positive integer. */
  constructor(options: KvStoreOptions = {}) {
    const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    if (!Number.isSafeInteger(maxSessions) || maxSessions < 1) {
      throw new RangeError(`maxSessions must be a positive integer, got ${String(maxSessions)}`);
    }
    this.maxSessions = maxSessions;
  }

  /** Index of the last entry applied or skipped; 0 when none (Figure 2's `lastApplied`). */
  get lastAppliedIndex(): number {
    return this.#lastAppliedIndex;
  }

  /** Number of clients the session table currently remembers. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /**
   * A key's value in the local state, `null` when absent. Linearizable only when the host first
   * made sure this replica applied everything committed when the read arrived (ReadIndex, §8, CL-LIN).
   */
  get(key: string): string | null {
    return this.#data.get(key) ?? null;
  }

  /**
   * Applies the committed entry at `index`, whose `data` is an encoded {@link KvCommand}.
   * Either the whole entry takes effect or, when it throws, nothing does.
   *
   * @throws KvAssertionError if `index` is not above `lastAppliedIndex` (a bug in the host, ALL-1).
   * @throws KvDecodeError if `data` is not a valid command; the store is left unchanged.
   */
  apply(index: number, data: string): KvOutcome {
    this.#assertNext(index);
    // Decode before changing anything, so that a bad entry leaves the store as it was.
    const cmd = decodeCommand(data);
    const session = this.#sessions.get(cmd.clientId);
    this.#lastAppliedIndex = index;
    if (session !== undefined) {
      // CL-ONCE: a retry of the latest command answers from the cache; an older one is dropped.
      if (cmd.seq === session.seq) return Object.freeze({ kind: 'duplicate', outcome: session.outcome });
      if (cmd.seq < session.seq) return STALE;
    }
    const outcome = this.#execute(cmd.op);
    this.#remember(cmd.clientId, { seq: cmd.seq, index, outcome });
    return outcome;
  }

  /**
   * Records that the entry at `index` was applied although it carries no KV command (the leader's
   * no-op, §8, or a configuration entry, §6).
   *
   * @throws KvAssertionError if `index` is not above `lastAppliedIndex` (ALL-1).
   */
  skip(index: number): void {
    this.#assertNext(index);
    this.#lastAppliedIndex = index;
  }

  /**
   * The whole replicated state — data, sessions, lastAppliedIndex, maxSessions — as compact JSON
   * with keys and clientIds sorted, so that equal states give byte-identical strings.
   */
  snapshot(): string {
    const data = [...this.#data].sort((a, b) => compareStrings(a[0], b[0]));
    const sessions = [...this.#sessions]
      .sort((a, b) => compareStrings(a[0], b[0]))
      .map(([clientId, s]) => ({ clientId, seq: s.seq, index: s.index, outcome: s.outcome }));
    return JSON.stringify({
      format: SNAPSHOT_FORMAT,
      version: SNAPSHOT_VERSION,
      lastAppliedIndex: this.#lastAppliedIndex,
      maxSessions: this.maxSessions,
      data,
      sessions,
    });
  }

  /**
   * Rebuilds a store from `snapshot()`'s output; `restore(s).snapshot() === s`.
   *
   * @throws KvSnapshotError naming the offending field when `data` is corrupt: not JSON, the wrong
   *   shape, keys or clientIds unsorted or repeated, a session past lastAppliedIndex, too many sessions.
   */
  static restore(data: string): KvStore {
    const json = parseJson(data);
    if (!json.ok) throw new KvSnapshotError([json.issue]);
    const parsed = SnapshotSchema.safeParse(json.value);
    if (!parsed.success) throw new KvSnapshotError(issuesFromZod(parsed.error));
    const snap = parsed.data;
    const store = new KvStore({ maxSessions: snap.maxSessions });
    for (const [key, value] of snap.data) store.#data.set(key, value);
    // Insert by increasing index to re-establish the eviction order invariant.
    const byIndex = [...snap.sessions].sort((a, b) => a.index - b.index);
    for (const s of byIndex) {
      const outcome: KvResult =
        s.outcome.kind === 'cas-mismatch'
          ? Object.freeze({ kind: 'cas-mismatch', current: s.outcome.current })
          : s.outcome.value === undefined
            ? OK
            : Object.freeze({ kind: 'ok', value: s.outcome.value });
      store.#sessions.set(s.clientId, { seq: s.seq, index: s.index, outcome });
    }
    store.#lastAppliedIndex = snap.lastAppliedIndex;
    kvAssert(store.#sessions.size === snap.sessions.length, 'restore: every session was inserted once');
    return store;
  }

  /** A 16-hex-digit fingerprint of the whole state (FNV-1a 64 of `snapshot()`): equal states, equal digests. */
  digest(): string {
    return fnv1a64(this.snapshot());
  }

  #assertNext(index: number): void {
    kvAssert(Number.isSafeInteger(index) && index >= 1, () => `entry index must be a positive integer, got ${String(index)}`);
    kvAssert(
      index > this.#lastAppliedIndex,
      () => `entries are applied in increasing index order, each once (ALL-1): got ${index} after ${this.#lastAppliedIndex}`,
    );
  }

  /** Executes one operation against the data; the leaves of the dispatch are one line each. */
  #execute(op: ClientOperation): KvResult {
    switch (op.kind) {
      case 'get':
        return Object.freeze({ kind: 'ok', value: this.get(op.key) });
      case 'put':
        this.#data.set(op.key, op.value);
        return OK;
      case 'delete':
        this.#data.delete(op.key);
        return OK;
      case 'cas': {
        const current = this.get(op.key);
        if (current !== op.expected) return Object.freeze({ kind: 'cas-mismatch', current });
        this.#data.set(op.key, op.value);
        return OK;
      }
    }
  }

  /** Records a client's latest executed command, evicting the oldest session if the table is full. */
  #remember(clientId: string, session: Session): void {
    const previous = this.#sessions.get(clientId);
    kvAssert(previous === undefined || session.seq > previous.seq, 'CL-ONCE: a session only moves to a higher seq');
    kvAssert(session.index === this.#lastAppliedIndex, 'a session records the entry being applied');
    // Delete and re-insert, so that this session moves to the end of the eviction order.
    const known = this.#sessions.delete(clientId);
    if (!known && this.#sessions.size >= this.maxSessions) {
      const oldest = this.#sessions.keys().next();
      kvAssert(oldest.done !== true, 'a full session table has a first session');
      this.#sessions.delete(oldest.value);
    }
    this.#sessions.set(clientId, session);
    kvAssert(this.#sessions.size <= this.maxSessions, 'session table within its bound (maxSessions)');
  }
}
