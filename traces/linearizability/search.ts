/**
 * CL-LIN: the core search — is one key's sub-history linearizable?
 *
 * This is the Wing & Gong (1993) depth-first search over linearization points with Lowe's
 * (2017) memoization, in the "just-in-time" form Porcupine uses:
 *
 * - Invocations and completions are laid out in time order in a doubly linked list. The search
 *   walks the list from the front; at an invocation it tries to linearize that operation now
 *   (apply it to the model; if the model accepts its output, remove the operation's two entries
 *   from the list and start again from the front). Reaching a completion of an operation not yet
 *   linearized means the current prefix cannot be extended: backtrack (undo the last
 *   linearization, restore its entries, try the next invocation after it).
 * - Lowe's cache: two search nodes with the same set of linearized operations and the same model
 *   state have the same future, so each (set, state) pair is explored once. The set is a bitset;
 *   its hash is kept incrementally (Zobrist: XOR of a random word per operation), so a step costs
 *   O(1) plus the model's own hash. Extended with dominance for operations of unknown outcome
 *   (see StateCache).
 * - `info` and `pending` operations have no completion entry: they may be linearized at any
 *   point after their invocation, or never — the search succeeds once every `ok` operation is
 *   linearized, whatever is left over. Read-only ones are dropped up front (they constrain
 *   nothing). An unknown-outcome operation *with* a `ret` (the shrinker's relaxation) may take
 *   effect only up to `ret`: when the walk reaches its completion entry it is marked as not
 *   having taken effect, a forced move.
 *
 * The search does no I/O and reads no clock of its own: the deadline is checked through the
 * injected `now`, and every loop is bounded by the step budget.
 */
import type { HistoryOp, Model, UnknownReason } from './types.ts';

/** A budget shared by several searches; `steps` counts down. */
export interface SearchBudget {
  /** Model steps left. */
  steps: number;
  /** Absolute time (in `now`'s unit) after which searches give up; needs `now`. */
  readonly deadline?: number | undefined;
  readonly now?: (() => number) | undefined;
}

export type SearchOutcome = 'linearizable' | 'not-linearizable' | UnknownReason;

/** Steps between two reads of the clock: reading it every step would cost more than the step. */
const CLOCK_EVERY_STEPS = 4096;

/**
 * Decides whether `ops` (one key's sub-history) is linearizable with respect to `model`.
 * Consumes `budget.steps`; returns `step-budget` or `deadline` when it ran out before deciding.
 *
 * Preconditions (asserted; a violation is a caller bug): every `ok` operation has `ret >= call`.
 */
export function searchLinearization<S, I, O>(ops: readonly HistoryOp<I, O>[], model: Model<S, I, O>, budget: SearchBudget): SearchOutcome {
  const outcome = new KeySearch(ops, model).advance(budget, Number.POSITIVE_INFINITY);
  // With an unbounded slice the search cannot pause.
  if (outcome === 'running') throw new Error('CL-LIN: unbounded search paused');
  return outcome;
}

/**
 * One key's search as a resumable computation: `advance` runs it for a slice of steps and can be
 * called again. Checking several keys in turns (a slice each) finds a cheap violation on one key
 * without first exhausting the budget on another, expensive one — what Porcupine gets by checking
 * partitions in parallel and stopping at the first failure.
 */
export class KeySearch<S, I, O> {
  private readonly layout: Layout;
  private readonly inputs: readonly I[];
  private readonly outputs: readonly (O | undefined)[];
  private readonly isOk: Uint8Array;
  private readonly exactZobrist: Int32Array;
  private readonly bits: Uint32Array;
  private readonly cache: StateCache<S>;
  // The DFS stack: operations linearized so far, and the state before each.
  // Invariant: stackState.length === depth, and bit i of `bits` is set iff op i is on the stack.
  private readonly stackOp: Int32Array;
  /** 1 where the frame records a bounded operation that did not take effect (no alternative to try). */
  private readonly stackSkip: Uint8Array;
  private readonly stackState: S[] = [];
  private depth = 0;
  private state: S;
  private exactHash = 0;
  private okLeft: number;
  private entry: number;
  private done: SearchOutcome | undefined;
  /** Steps this search has taken, over all slices. */
  steps = 0;

  constructor(
    ops: readonly HistoryOp<I, O>[],
    private readonly model: Model<S, I, O>,
  ) {
    const n = ops.length;
    this.layout = layOut(ops, model);
    this.inputs = ops.map((op) => op.input);
    this.outputs = ops.map((op) => (op.status === 'ok' ? op.output : undefined));
    this.isOk = Uint8Array.from(ops, (op) => (op.status === 'ok' ? 1 : 0));
    // Operations with a completion entry (ok, and bounded unknown-outcome ones) must match
    // exactly between cache nodes; unbounded unknown-outcome ones are compared by dominance. The
    // linearized set is hashed over the exact part only, so that nodes differing only in which
    // unbounded operations were applied meet in one bucket, where dominance is decided.
    const exact = ops.map((op) => op.status === 'ok' || op.ret !== undefined);
    this.exactZobrist = zobristWords(n).map((z, i) => (exact[i] === true ? z : 0));
    this.bits = new Uint32Array(Math.max(1, Math.ceil(n / 32)));
    const exactMask = new Uint32Array(this.bits.length);
    exact.forEach((e, i) => {
      if (e) exactMask[i >>> 5]! |= 1 << (i & 31);
    });
    this.cache = new StateCache<S>(exactMask, n, model);
    this.stackOp = new Int32Array(n);
    this.stackSkip = new Uint8Array(n);
    this.state = model.init();
    this.okLeft = this.layout.okCount;
    this.entry = this.layout.next[this.layout.head]!;
  }

  /**
   * Runs at most `sliceSteps` model steps (and never past the budget). Answers the verdict, the
   * reason the budget stopped it, or `running` when the slice ended first.
   */
  advance(budget: SearchBudget, sliceSteps: number): SearchOutcome | 'running' {
    if (this.done !== undefined) return this.done;
    if (budget.now !== undefined && budget.deadline !== undefined && budget.now() > budget.deadline) return 'deadline';
    const { next, prev, entryOp, isCall, callEntry, retEntry, head } = this.layout;
    const { model, inputs, outputs, isOk, exactZobrist, bits, cache, stackOp, stackSkip, stackState } = this;
    let { depth, state, exactHash, okLeft, entry } = this;
    const sliceEnd = Math.max(0, budget.steps - sliceSteps);
    let outcome: SearchOutcome | 'running' = 'linearizable';

    const unlink = (x: number): void => {
      const p = prev[x]!;
      const q = next[x]!;
      next[p] = q;
      if (q !== -1) prev[q] = p;
    };
    // Dancing links: a removed entry still knows its neighbours, so relinking in reverse order of
    // removal restores the list exactly.
    const relink = (x: number): void => {
      const p = prev[x]!;
      const q = next[x]!;
      next[p] = x;
      if (q !== -1) prev[q] = x;
    };

    /** Linearizes `op` (or records that it was skipped) leading to `after`, unless the cache prunes that node. */
    const push = (op: number, after: S, skip: number): boolean => {
      const word = op >>> 5;
      const mask = 1 << (op & 31);
      bits[word]! |= mask;
      const nextHash = exactHash ^ exactZobrist[op]!;
      if (!cache.addIfNew(mix(nextHash, model.hash(after)), bits, after)) {
        bits[word]! &= ~mask;
        return false;
      }
      stackOp[depth] = op;
      stackSkip[depth] = skip;
      stackState.push(state);
      depth++;
      state = after;
      exactHash = nextHash;
      okLeft -= isOk[op]!;
      unlink(callEntry[op]!);
      const r = retEntry[op]!;
      if (r !== -1) unlink(r);
      entry = next[head]!;
      return true;
    };

    while (okLeft > 0) {
      if (entry >= 0 && isCall[entry] === 1) {
        // An invocation: try to linearize the operation here.
        if (budget.steps <= sliceEnd) {
          outcome = budget.steps <= 0 ? 'step-budget' : 'running';
          break;
        }
        budget.steps--;
        this.steps++;
        if (budget.now !== undefined && budget.deadline !== undefined && budget.steps % CLOCK_EVERY_STEPS === 0 && budget.now() > budget.deadline) {
          outcome = 'deadline';
          break;
        }
        const op = entryOp[entry]!;
        const result = model.step(state, inputs[op] as I, outputs[op]);
        if (result.ok && push(op, result.state, 0)) continue;
        entry = next[entry]!;
        continue;
      }
      if (entry >= 0 && isOk[entryOp[entry]!] === 0) {
        // The window of a bounded operation of unknown outcome closes before it was linearized:
        // it did not take effect. Forced, so it is a move with no alternative.
        if (push(entryOp[entry]!, state, 1)) continue;
      }
      // A completion of an operation not yet linearized (or a dead end): nothing before it can be
      // extended. Undo linearizations until one has an alternative (skips have none).
      let skipped = 1;
      while (skipped === 1 && depth > 0) {
        depth--;
        const op = stackOp[depth]!;
        skipped = stackSkip[depth]!;
        state = stackState.pop() as S;
        bits[op >>> 5]! &= ~(1 << (op & 31));
        exactHash ^= exactZobrist[op]!;
        const r = retEntry[op]!;
        if (r !== -1) relink(r);
        relink(callEntry[op]!);
        okLeft += isOk[op]!;
        entry = next[callEntry[op]!]!;
      }
      if (skipped === 1) {
        outcome = 'not-linearizable';
        break;
      }
    }
    // Invariants of the two verdicts: every completed operation placed; or every move undone.
    if (outcome === 'linearizable' && okLeft !== 0) throw new Error(`CL-LIN: search bug: linearizable with ${okLeft} operations unplaced`);
    if (outcome === 'not-linearizable' && (depth !== 0 || stackState.length !== 0)) throw new Error('CL-LIN: search bug: refuted with moves still on the stack');
    this.depth = depth;
    this.state = state;
    this.exactHash = exactHash;
    this.okLeft = okLeft;
    this.entry = entry;
    if (outcome === 'linearizable' || outcome === 'not-linearizable') this.done = outcome;
    return outcome;
  }
}

/** The time-ordered entry list as typed arrays; entry `head` is the sentinel. */
interface Layout {
  readonly head: number;
  readonly next: Int32Array;
  readonly prev: Int32Array;
  readonly entryOp: Int32Array;
  readonly isCall: Uint8Array;
  readonly callEntry: Int32Array;
  /** -1 for operations without a completion entry (unbounded info, pending, dropped reads). */
  readonly retEntry: Int32Array;
  readonly okCount: number;
}

/**
 * Lays out the invocations and completions (of `ok` operations and bounded unknown-outcome ones)
 * in time order. At equal times invocations come first, so operations that touch the same
 * instant are concurrent — the permissive reading, as in Porcupine. Read-only operations with
 * unknown outcome are left out: linearizing them cannot change the state, so they never help.
 */
function layOut<I, O>(ops: readonly HistoryOp<I, O>[], model: Model<unknown, I, O>): Layout {
  const times: number[] = [];
  const kinds: number[] = [];
  const owners: number[] = [];
  let okCount = 0;
  ops.forEach((op, i) => {
    if (!Number.isFinite(op.call)) throw new RangeError(`CL-LIN: operation ${String(op.opId)} of client ${String(op.client)} has call time ${op.call}`);
    if (op.status === 'ok') {
      if (op.ret === undefined || !(op.ret >= op.call)) {
        throw new RangeError(`CL-LIN: operation ${String(op.opId)} of client ${String(op.client)} is ok but returns at ${String(op.ret)}, before its call at ${op.call}`);
      }
      okCount++;
      times.push(op.call, op.ret);
      kinds.push(0, 1);
      owners.push(i, i);
    } else if (model.readOnly?.(op.input) !== true) {
      times.push(op.call);
      kinds.push(0);
      owners.push(i);
      if (op.ret !== undefined) {
        // Bounded: if it took effect, it did so by `ret` (the shrinker's relaxation).
        if (!(op.ret >= op.call)) throw new RangeError(`CL-LIN: operation ${String(op.opId)} of client ${String(op.client)} returns at ${op.ret}, before its call at ${op.call}`);
        times.push(op.ret);
        kinds.push(1);
        owners.push(i);
      }
    }
  });
  const m = times.length;
  const order = Array.from({ length: m }, (_, e) => e).sort((a, b) => times[a]! - times[b]! || kinds[a]! - kinds[b]! || owners[a]! - owners[b]!);
  const head = m;
  const next = new Int32Array(m + 1).fill(-1);
  const prev = new Int32Array(m + 1).fill(-1);
  const entryOp = Int32Array.from(owners);
  const isCall = Uint8Array.from(kinds, (k) => (k === 0 ? 1 : 0));
  const callEntry = new Int32Array(ops.length).fill(-1);
  const retEntry = new Int32Array(ops.length).fill(-1);
  let last = head;
  for (const e of order) {
    next[last] = e;
    prev[e] = last;
    last = e;
    if (kinds[e] === 0) callEntry[owners[e]!] = e;
    else retEntry[owners[e]!] = e;
  }
  return { head, next, prev, entryOp, isCall, callEntry, retEntry, okCount };
}

/** Combines the bitset's and the state's hashes into one 32-bit key. */
function mix(bitsHash: number, stateHash: number): number {
  let h = bitsHash ^ Math.imul(stateHash | 0, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h | 0;
}

/** Deterministic random words (splitmix32), one per operation: the search must not depend on Math.random. */
function zobristWords(n: number): Int32Array {
  const out = new Int32Array(n);
  let s = 0x2545f491;
  for (let i = 0; i < n; i++) {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    out[i] = z ^ (z >>> 16);
  }
  return out;
}

/**
 * Lowe's cache, with dominance for operations of unknown outcome. A node is (linearized set,
 * model state). Every node the search has entered and is still searching past has failed, or is
 * an ancestor being explored exhaustively; so a node can be skipped when one entered before is the
 * same (Lowe) — or when one entered before agrees on the operations that have a completion entry
 * (ok, and bounded unknown-outcome ones) and on the state, and applied a subset of the unbounded
 * unknown-outcome operations: its futures are a superset, since each of those may still be
 * applied or not, and the completion entries that limit the walk are the same. Without dominance
 * k such operations multiply the nodes by up to 2^k; with it, applying one that changes nothing
 * (a cas that does not match) is pruned at once, and so are most orders of applying several
 * (the etcd histories need 3–7× fewer steps). Bounded operations must match exactly: the walk
 * cannot get past a bounded operation's completion without marking it, so a node with it still
 * unmarked would wrongly prune its own continuation.
 *
 * Entries with one (exact part, state) share a hash chain, kept an antichain — an entry that a
 * new one dominates is unlinked — so lookups stay short. Bitsets are copied into one growing pool
 * rather than kept as separate arrays, which keeps millions of entries affordable.
 */
class StateCache<S> {
  /** Open hash table: slot → first entry id + 1 (0: empty); entries chain through `chain`. */
  private slots: Int32Array;
  private slotMask: number;
  private chain: Int32Array;
  private hashes: Int32Array;
  /**
   * Per entry, its unknown-outcome bits folded into one word (bit i mod 32): a subset of another
   * set folds into a subset, so a failed test on the fold rules an entry out in one instruction.
   */
  private folds: Int32Array;
  private pool: Uint32Array;
  private readonly states: S[] = [];
  private readonly words: number;
  /** True when some operation is compared by dominance: only then is dominance more than equality. */
  private readonly anyUnknown: boolean;

  constructor(
    /** Bit i set iff operation i must match exactly (ok, or bounded); the other bits are compared by dominance. */
    private readonly exactMask: Uint32Array,
    opCount: number,
    private readonly model: Model<S, unknown, unknown>,
  ) {
    this.words = exactMask.length;
    const initial = 1024;
    this.slots = new Int32Array(initial * 2);
    this.slotMask = initial * 2 - 1;
    this.chain = new Int32Array(initial);
    this.hashes = new Int32Array(initial);
    this.folds = new Int32Array(initial);
    this.pool = new Uint32Array(this.words * initial);
    let exactCount = 0;
    for (const w of exactMask) exactCount += popcount(w);
    this.anyUnknown = exactCount < opCount;
  }

  /**
   * Adds the node and answers true, or answers false when an entered node equals or dominates it.
   * `hash` covers the state and the exactly-compared part of `bits` (not the dominance part, so
   * that nodes differing only there share a chain).
   */
  addIfNew(hash: number, bits: Uint32Array, state: S): boolean {
    const fold = this.fold(bits);
    const slot = hash & this.slotMask;
    const { chain, hashes, folds } = this;
    for (let id = this.slots[slot]! - 1; id >= 0; id = chain[id]!) {
      if (hashes[id] === hash && (folds[id]! & ~fold) === 0 && this.covers(id, bits, state)) return false;
    }
    const id = this.store(hash, bits, state, fold);
    if (this.anyUnknown) this.dropDominatedBy(id);
    return true;
  }

  /** Keeps each chain an antichain under dominance, so that lookups stay short. */
  private dropDominatedBy(id: number): void {
    const hash = this.hashes[id]!;
    const fold = this.folds[id]!;
    let prev = id;
    for (let other = this.chain[id]!; other >= 0; other = this.chain[other]!) {
      if (this.hashes[other] === hash && (fold & ~this.folds[other]!) === 0 && this.coversEntry(id, other)) {
        this.chain[prev] = this.chain[other]!;
      } else {
        prev = other;
      }
    }
  }

  private fold(bits: Uint32Array): number {
    let f = 0;
    for (let w = 0; w < this.words; w++) f |= bits[w]! & ~this.exactMask[w]!;
    return f;
  }

  /** Entry `id` has the same exact part and state as (`bits`, `state`), and applied only unknown-outcome operations that it applied too. */
  private covers(id: number, bits: Uint32Array, state: S): boolean {
    const base = id * this.words;
    const pool = this.pool;
    const exactMask = this.exactMask;
    for (let w = 0; w < this.words; w++) {
      const old = pool[base + w]!;
      const cur = bits[w]!;
      if (old !== cur && ((old & ~cur) !== 0 || (cur & ~old & exactMask[w]!) !== 0)) return false;
    }
    return this.model.equal(this.states[id] as S, state);
  }

  /** Entry `a` covers entry `b`. */
  private coversEntry(a: number, b: number): boolean {
    return this.covers(a, this.pool.subarray(b * this.words, (b + 1) * this.words), this.states[b] as S);
  }

  private store(hash: number, bits: Uint32Array, state: S, fold: number): number {
    const id = this.states.length;
    if (id >= this.chain.length) this.grow();
    this.pool.set(bits, id * this.words);
    this.folds[id] = fold;
    this.hashes[id] = hash;
    this.states.push(state);
    const slot = hash & this.slotMask;
    this.chain[id] = this.slots[slot]! - 1;
    this.slots[slot] = id + 1;
    return id;
  }

  /** Doubles every per-entry array and rehashes the slots (entries dropped from chains stay dropped). */
  private grow(): void {
    const size = this.chain.length * 2;
    const widen = <T extends Int32Array | Uint32Array>(a: T, n: number): T => {
      const b = new (a.constructor as new (n: number) => T)(n);
      b.set(a);
      return b;
    };
    this.hashes = widen(this.hashes, size);
    this.folds = widen(this.folds, size);
    this.pool = widen(this.pool, size * this.words);
    const live = new Uint8Array(this.states.length);
    for (let s = 0; s < this.slots.length; s++) for (let id = this.slots[s]! - 1; id >= 0; id = this.chain[id]!) live[id] = 1;
    this.chain = new Int32Array(size);
    this.slots = new Int32Array(size * 2);
    this.slotMask = size * 2 - 1;
    for (let id = 0; id < this.states.length; id++) {
      if (live[id] === 0) continue;
      const slot = this.hashes[id]! & this.slotMask;
      this.chain[id] = this.slots[slot]! - 1;
      this.slots[slot] = id + 1;
    }
  }
}

function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}
