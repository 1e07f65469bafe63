/**
 * The client workload: C sequential clients doing get/put/delete/cas on a small key space against
 * the simulated cluster, recording a Jepsen-style history (`invoke`, then `ok`, `fail` or `info`)
 * in the same trace as the nodes' events, for the linearizability checker (CL-LIN).
 *
 * Writes go through the log: the client proposes `encodeCommand({clientId, seq, op})` at the node
 * it believes leads, follows leader hints on refusal, and completes when *that* node applies the
 * entry at the proposed index with the proposed term — the KV outcome is the answer (a cas that
 * did not match is `fail`). When the outcome is unknown (timeout, the node crashed, the entry was
 * overwritten, a snapshot skipped past it) the client retries with the SAME seq: the KV sessions
 * make the retry exactly-once (CL-ONCE, §8). After `maxAttempts` it gives up with `info`.
 *
 * Reads use ReadIndex (§8): `readIndex(ctx)` on the leader, then the value of `kv.get(key)` on that
 * node once it has applied at least the ReadState's index. A read that never completes had no
 * effect, so giving up on one is `fail`.
 *
 * Everything is in ticks and bounded: per-attempt timeout, attempts per operation, clients.
 */
import type { ClientOperation } from '../../spec/schemas/client.ts';
import type { RaftNode } from '../../impl/core/raft-node.ts';
import type { Entry, ReadState, TraceSink } from '../../impl/core/types.ts';
import { encodeCommand } from '../../impl/kv/command.ts';
import type { KvOutcome, KvStore } from '../../impl/kv/store.ts';
import type { Prng } from '../prng.ts';
import { assert } from './assert.ts';

/** What the workload sees of a node host. */
export interface ClientHostView {
  readonly id: string;
  /** null while the node is down. */
  readonly node: RaftNode | null;
  readonly kv: KvStore;
  /** Bumped at every crash: answers from an earlier incarnation are not awaited any more. */
  readonly generation: number;
}

export interface ClientOptions {
  /** Number of sequential clients (0: no workload). */
  readonly clients: number;
  /** Keys are `k0` … `k{keys-1}`: few keys, so that operations conflict. */
  readonly keys: number;
  /** Relative weights of get, put, delete, cas. */
  readonly weights: { readonly get: number; readonly put: number; readonly delete: number; readonly cas: number };
  /** Ticks an attempt may take before the client considers its outcome unknown and retries. */
  readonly requestTimeoutTicks: number;
  /** Attempts a node accepted (first try included) before giving up with `info` (writes) or `fail` (reads). */
  readonly maxAttempts: number;
  /** Refusals and down nodes tolerated per operation before giving up: a leaderless stretch must end the operation too. */
  readonly maxRedirects: number;
  /** Pause after a refusal with no leader hint, so a leaderless cluster is not hammered every tick. */
  readonly retryBackoffTicks: number;
  /** A client waits a random [0, thinkTicksMax] ticks between operations. */
  readonly thinkTicksMax: number;
}

export const DEFAULT_CLIENT_OPTIONS: ClientOptions = Object.freeze({
  clients: 4,
  keys: 5,
  weights: Object.freeze({ get: 4, put: 3, delete: 1, cas: 2 }),
  requestTimeoutTicks: 60,
  maxAttempts: 6,
  maxRedirects: 40,
  retryBackoffTicks: 3,
  thinkTicksMax: 5,
});

/** Counters for the summary. */
export interface ClientStats {
  invoked: number;
  ok: number;
  fail: number;
  info: number;
  /** Attempts after the first that a node accepted (after timeouts, crashes, overwritten entries). */
  retries: number;
  /** Refusals (not the leader) and attempts at a node that was down. */
  redirects: number;
  /** Writes answered from the session cache: a retry of a command that had already taken effect (CL-ONCE at work). */
  duplicates: number;
}

type Phase =
  | 'idle' // between operations
  | 'send' // has an operation, must (re)send it at `wakeTick`
  | 'await-apply' // write proposed, waiting for its entry to be applied at `target`
  | 'await-read' // read registered, waiting for the ReadState and the apply
  | 'completing'; // answered by an apply; the completion is emitted after the Ready's advance

/** One client's state. Mutable on purpose: the workload updates it in place every tick. */
interface Client {
  readonly id: string;
  phase: Phase;
  /** The operation in progress (null when idle). */
  op: ClientOperation | null;
  opId: number;
  /** Session sequence number of the write in progress; retries reuse it (CL-ONCE). */
  seq: number;
  /** Attempts a node accepted, and refusals, for the operation in progress. */
  attempts: number;
  redirects: number;
  /** Host index the client talks to: the leader it believes in. */
  target: number;
  /** Tick at which to act (`send`, `idle`) or give up on the attempt (`await-*`). */
  wakeTick: number;
  generation: number;
  proposedIndex: number;
  proposedTerm: number;
  readCtx: string;
  /** The ReadState's index, -1 until it arrives. */
  readIndex: number;
  /** The answer waiting for `flushCompletions` (phase `completing`). */
  completion: 'ok' | 'fail' | 'info';
  completionDetail: string | undefined;
  /** Values this client has seen per key: what a cas expects. */
  readonly seen: Map<string, string | null>;
  valueCounter: number;
}

export class ClientWorkload {
  readonly options: ClientOptions;
  readonly stats: ClientStats = { invoked: 0, ok: 0, fail: 0, info: 0, retries: 0, redirects: 0, duplicates: 0 };
  private readonly clients: Client[] = [];
  private readonly hosts: readonly ClientHostView[];
  private readonly rng: Prng;
  private readonly sink: TraceSink | undefined;
  private readonly weightList: readonly number[];
  private readonly keyNames: readonly string[];
  /** False once draining: no new operations start, those in progress finish or give up. */
  private accepting = true;
  /** Writes waiting for an apply, per host index: lets `onApplied` skip hosts nobody waits on. */
  private readonly awaiting: Int32Array;
  /** Clients answered during a Ready, to complete after its `advance`. */
  private readonly completing: Client[] = [];

  constructor(options: ClientOptions, deps: { readonly hosts: readonly ClientHostView[]; readonly rng: Prng; readonly sink?: TraceSink | undefined }) {
    assert(Number.isInteger(options.clients) && options.clients >= 0, 'clients must be an integer ≥ 0');
    assert(Number.isInteger(options.keys) && options.keys >= 1, 'keys must be an integer ≥ 1');
    assert(options.requestTimeoutTicks >= 1 && options.maxAttempts >= 1, 'request timeout and attempts must be ≥ 1');
    assert(deps.hosts.length > 0, 'a workload needs hosts');
    this.options = options;
    this.hosts = deps.hosts;
    this.rng = deps.rng;
    this.sink = deps.sink;
    const w = options.weights;
    this.weightList = [w.get, w.put, w.delete, w.cas];
    assert(this.weightList.every((x) => x >= 0) && this.weightList.some((x) => x > 0), 'operation weights must be ≥ 0, not all 0');
    this.keyNames = Array.from({ length: options.keys }, (_, i) => `k${i}`);
    this.awaiting = new Int32Array(deps.hosts.length);
    for (let i = 0; i < options.clients; i++) {
      this.clients.push({
        id: `c${i + 1}`,
        phase: 'idle',
        op: null,
        opId: 0,
        seq: 0,
        attempts: 0,
        redirects: 0,
        target: i % deps.hosts.length,
        wakeTick: 0,
        generation: 0,
        proposedIndex: 0,
        proposedTerm: 0,
        readCtx: '',
        readIndex: -1,
        completion: 'ok',
        completionDetail: undefined,
        seen: new Map(),
        valueCounter: 0,
      });
    }
  }

  /** Operations in progress. */
  pending(): number {
    let n = 0;
    for (const c of this.clients) if (c.phase !== 'idle') n++;
    return n;
  }

  /** Stop starting operations (the liveness phase lets those in progress finish). */
  drain(): void {
    this.accepting = false;
  }

  /** One tick: start operations, (re)send, time out, answer reads whose index has been applied. */
  tick(nowTick: number): void {
    assert(this.completing.length === 0, 'workload: completions left over from a Ready (flushCompletions not called)');
    for (const c of this.clients) {
      switch (c.phase) {
        case 'idle':
          if (this.accepting && nowTick >= c.wakeTick) this.invoke(c, nowTick);
          break;
        case 'send':
          if (nowTick >= c.wakeTick) this.attempt(c, nowTick);
          break;
        case 'await-apply': {
          const host = this.hosts[c.target] as ClientHostView;
          // The outcome is unknown if the node crashed, or applied past our index without our
          // entry reaching its state machine one by one (a snapshot install jumped over it).
          const lost = host.generation !== c.generation || host.kv.lastAppliedIndex >= c.proposedIndex;
          if (lost || nowTick >= c.wakeTick) this.retry(c, nowTick, lost ? 'lost' : 'timeout');
          break;
        }
        case 'await-read': {
          const host = this.hosts[c.target] as ClientHostView;
          if (host.generation !== c.generation) {
            this.retry(c, nowTick, 'lost');
          } else if (c.readIndex >= 0 && host.kv.lastAppliedIndex >= c.readIndex) {
            const op = c.op as ClientOperation;
            const value = host.kv.get(op.key);
            c.seen.set(op.key, value);
            this.complete(c, nowTick, 'ok', value);
          } else if (nowTick >= c.wakeTick) {
            this.retry(c, nowTick, 'timeout');
          }
          break;
        }
      }
    }
  }

  /**
   * The host at `hostIndex` applied `entry` with `outcome` (KV's answer). Answers the write
   * waiting for exactly that (index, term) there; another term at that index means our entry
   * was overwritten (AE-3) and the client retries. The answer is emitted by `flushCompletions`,
   * which the host calls after `advance`: the core emits the `apply` event there, and a client's
   * `ok` must follow the apply that caused it in the trace.
   */
  onApplied(hostIndex: number, entry: Entry, outcome: KvOutcome, nowTick: number): void {
    if (this.awaiting[hostIndex] === 0) return;
    const generation = (this.hosts[hostIndex] as ClientHostView).generation;
    for (const c of this.clients) {
      if (c.phase !== 'await-apply' || c.target !== hostIndex || c.proposedIndex !== entry.index || c.generation !== generation) continue;
      if (entry.term !== c.proposedTerm) {
        this.retry(c, nowTick, 'overwritten');
        continue;
      }
      let result = outcome;
      if (result.kind === 'duplicate') {
        this.stats.duplicates++;
        result = result.outcome;
      }
      const op = c.op as ClientOperation;
      switch (result.kind) {
        case 'ok':
          if (op.kind === 'put' || op.kind === 'cas') c.seen.set(op.key, op.value);
          if (op.kind === 'delete') c.seen.set(op.key, null);
          this.answer(c, 'ok', undefined);
          break;
        case 'cas-mismatch':
          c.seen.set(op.key, result.current);
          this.answer(c, 'fail', 'cas-mismatch');
          break;
        case 'stale':
          // The session already moved past this seq: impossible for the latest op of a
          // sequential client, so the outcome is reported as unknown rather than guessed.
          this.answer(c, 'info', 'stale');
          break;
      }
    }
  }

  /** Emits the answers found while handling a Ready; the host calls it right after `advance`. */
  flushCompletions(nowTick: number): void {
    for (let i = 0; i < this.completing.length; i++) {
      const c = this.completing[i] as Client;
      this.complete(c, nowTick, c.completion, c.completionDetail);
    }
    this.completing.length = 0;
  }

  private answer(c: Client, kind: 'ok' | 'fail' | 'info', detail: string | undefined): void {
    this.unawait(c);
    c.phase = 'completing';
    c.completion = kind;
    c.completionDetail = detail;
    this.completing.push(c);
  }

  /** A ReadState came out of the host's Ready: the read may be answered once that index is applied. */
  onReadState(hostIndex: number, readState: ReadState): void {
    const generation = (this.hosts[hostIndex] as ClientHostView).generation;
    for (const c of this.clients) {
      if (c.phase === 'await-read' && c.target === hostIndex && c.readCtx === readState.ctx && c.generation === generation) {
        c.readIndex = readState.index;
      }
    }
  }

  /** Number of clients. */
  get size(): number {
    return this.clients.length;
  }

  /** True when client `clientIndex` has no operation in progress. */
  isIdle(clientIndex: number): boolean {
    return this.clients[clientIndex]?.phase === 'idle';
  }

  /** Id of client `clientIndex` (`c1` …). */
  clientId(clientIndex: number): string {
    return (this.clients[clientIndex] as Client).id;
  }

  /**
   * Starts `op` now on idle client `clientIndex`, sent first to host `hostIndex`; from there it
   * follows leader hints and retries like any other operation. Works while draining too (the
   * conformance suite drives clients by hand and never lets them start operations themselves).
   * Returns the operation id.
   */
  submit(clientIndex: number, op: ClientOperation, hostIndex: number, nowTick: number): number {
    const c = this.clients[clientIndex];
    assert(c !== undefined && c.phase === 'idle', () => `submit: client ${clientIndex} is not idle`);
    assert(hostIndex >= 0 && hostIndex < this.hosts.length, () => `submit: no host ${hostIndex}`);
    c.target = hostIndex;
    this.invoke(c, nowTick, op);
    return c.opId;
  }

  private invoke(c: Client, nowTick: number, given?: ClientOperation): void {
    const op = given ?? this.drawOperation(c);
    c.op = op;
    c.opId++;
    if (op.kind !== 'get') c.seq++;
    c.attempts = 0;
    c.redirects = 0;
    this.stats.invoked++;
    this.sink?.({ ev: 'invoke', client: c.id, opId: c.opId, op, node: (this.hosts[c.target] as ClientHostView).id });
    c.phase = 'send';
    this.attempt(c, nowTick);
  }

  /** Sends the operation to the current target; on refusal, moves to the hinted leader. */
  private attempt(c: Client, nowTick: number): void {
    const op = c.op as ClientOperation;
    const host = this.hosts[c.target] as ClientHostView;
    const node = host.node;
    if (node === null) {
      this.redirect(c, nowTick, null);
      return;
    }
    c.generation = host.generation;
    if (op.kind === 'get') {
      c.readCtx = `${c.id}/${c.opId}/${c.attempts + c.redirects}`;
      c.readIndex = -1;
      const result = node.readIndex(c.readCtx);
      if (!result.ok) {
        this.redirect(c, nowTick, result.leaderHint);
        return;
      }
      this.accepted(c);
      c.phase = 'await-read';
      c.wakeTick = nowTick + this.options.requestTimeoutTicks;
      return;
    }
    const result = node.propose(encodeCommand({ clientId: c.id, seq: c.seq, op }));
    if (!result.ok) {
      this.redirect(c, nowTick, result.leaderHint);
      return;
    }
    this.accepted(c);
    c.phase = 'await-apply';
    c.proposedIndex = result.index;
    c.proposedTerm = result.term;
    c.wakeTick = nowTick + this.options.requestTimeoutTicks;
    this.awaiting[c.target] = (this.awaiting[c.target] as number) + 1;
  }

  private accepted(c: Client): void {
    c.attempts++;
    if (c.attempts > 1) this.stats.retries++;
  }

  /** Refused or down: try the hinted leader next tick, or the next node after a backoff. */
  private redirect(c: Client, nowTick: number, leaderHint: string | null): void {
    c.redirects++;
    this.stats.redirects++;
    if (c.redirects >= this.options.maxRedirects) {
      this.complete(c, nowTick, (c.op as ClientOperation).kind === 'get' ? 'fail' : 'info', `no leader found in ${c.redirects} tries`);
      return;
    }
    const hinted = leaderHint === null ? -1 : this.hosts.findIndex((h) => h.id === leaderHint);
    if (hinted >= 0 && hinted !== c.target) {
      c.target = hinted;
      c.wakeTick = nowTick + 1;
    } else {
      c.target = (c.target + 1) % this.hosts.length;
      c.wakeTick = nowTick + this.options.retryBackoffTicks;
    }
    c.phase = 'send';
  }

  /** The attempt's outcome is unknown: try again (same seq) or give up. */
  private retry(c: Client, nowTick: number, why: 'timeout' | 'lost' | 'overwritten'): void {
    this.unawait(c);
    if (c.attempts >= this.options.maxAttempts) {
      const op = c.op as ClientOperation;
      // A read has no effect: giving up on it is a definite failure. A write may have committed.
      if (op.kind === 'get') this.complete(c, nowTick, 'fail', `gave up after ${c.attempts} attempts (${why})`);
      else this.complete(c, nowTick, 'info', `gave up after ${c.attempts} attempts (${why})`);
      return;
    }
    // A timeout suggests the target lost leadership or is cut off: look elsewhere.
    if (why === 'timeout') c.target = (c.target + 1) % this.hosts.length;
    c.wakeTick = nowTick + (why === 'timeout' ? 0 : 1);
    c.phase = 'send';
  }

  /** Leaves `await-apply` (to `send`; the caller moves on from there), keeping `awaiting` exact. */
  private unawait(c: Client): void {
    if (c.phase === 'await-apply') {
      this.awaiting[c.target] = (this.awaiting[c.target] as number) - 1;
      assert((this.awaiting[c.target] as number) >= 0, 'workload: awaiting count below zero');
      c.phase = 'send';
    }
  }

  private complete(c: Client, nowTick: number, kind: 'ok' | 'fail' | 'info', detail: string | null | undefined): void {
    this.unawait(c);
    assert(c.phase !== 'idle' && c.op !== null, () => `client ${c.id} completes op ${c.opId} twice`);
    const sink = this.sink;
    if (kind === 'ok') {
      this.stats.ok++;
      if (sink !== undefined) {
        if ((c.op as ClientOperation).kind === 'get') sink({ ev: 'ok', client: c.id, opId: c.opId, value: detail ?? null });
        else sink({ ev: 'ok', client: c.id, opId: c.opId });
      }
    } else if (kind === 'fail') {
      this.stats.fail++;
      sink?.({ ev: 'fail', client: c.id, opId: c.opId, error: detail ?? 'failed' });
    } else {
      this.stats.info++;
      sink?.({ ev: 'info', client: c.id, opId: c.opId, ...(detail === undefined || detail === null ? {} : { error: detail }) });
    }
    c.phase = 'idle';
    c.op = null;
    c.wakeTick = nowTick + (this.options.thinkTicksMax > 0 ? this.rng.int(0, this.options.thinkTicksMax) : 0);
  }

  private drawOperation(c: Client): ClientOperation {
    const rng = this.rng;
    const key = this.keyNames[rng.int(0, this.keyNames.length - 1)] as string;
    switch (rng.weighted(this.weightList)) {
      case 0:
        return { kind: 'get', key };
      case 1:
        // Values are unique per client (`c1-17`), so a read tells which write it saw (CL-LIN).
        return { kind: 'put', key, value: `${c.id}-${++c.valueCounter}` };
      case 2:
        return { kind: 'delete', key };
      default: {
        // Expect what this client last saw (often right, so some cas succeed), else absent.
        const expected = c.seen.get(key) ?? null;
        return { kind: 'cas', key, expected, value: `${c.id}-${++c.valueCounter}` };
      }
    }
  }
}
