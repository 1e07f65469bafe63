/**
 * The simulated network: messages in flight between nodes, delivered after a per-message delay in
 * ticks, possibly lost, duplicated or reordered, and blocked by partitions and one-way cuts — all
 * drawn from the one seeded PRNG the simulator hands it, so a run replays exactly from its seed.
 *
 * Hot path. Every message of a simulation goes through `send` and `popDue`, so in-flight messages
 * live in a timing wheel: a ring of W reusable arrays, one per tick, W a power of two above the
 * longest delay, so that every pending message's tick falls in [cursorTick, cursorTick + W) and
 * each bucket holds one tick's messages in send order. Send and delivery are O(1), with no
 * per-message closures, objects or JSON (a binary heap cost 3× more here). Deliveries come out in
 * (delivery tick, send sequence) order, which makes the order total and deterministic.
 *
 * Where faults are decided, and why:
 *  - delay, reordering and duplication at `send` (they shape what is on the wire);
 *  - loss and partitions at delivery: a message crossing a link that is cut when it arrives is
 *    lost, and deciding at delivery keeps every `drop` event after the `send` event it refers to
 *    (the core emits `send` only when the host acknowledges the Ready, after it sent);
 *  - the in-flight bound at `send`: beyond `maxInFlightMessages` a message is dropped. Its `drop`
 *    event is held back until `flushDrops()`, which the host calls after `advance`, for the same
 *    reason.
 */
import type { NodeId } from '../../spec/schemas/primitives.ts';
import type { Envelope, TraceSink } from '../../impl/core/types.ts';
import type { Prng } from '../prng.ts';
import { assert } from './assert.ts';
import { IDENTITY_DIGEST, traceMessage, type TraceDigest } from '../../impl/core/trace.ts';

/** Why a message did not arrive; recorded in `drop` events as the extra field `reason`. */
export type DropReason = 'loss' | 'partition' | 'overflow' | 'down';

export interface NetworkOptions {
  /** Every node that may send or receive, in a fixed order (their index is their position). */
  readonly nodes: readonly NodeId[];
  /** Delivery delay, drawn uniformly per message from [min, max] ticks; min ≥ 1, so nothing arrives in the tick it was sent. */
  readonly delayTicksMin: number;
  readonly delayTicksMax: number;
  /** Probability that a message is lost. */
  readonly lossProbability: number;
  /** Probability that a message is delivered twice (the copy gets its own delay). */
  readonly duplicateProbability: number;
  /** Probability that a message is held back by an extra delay from [1, reorderDelayTicksMax], so later messages overtake it. */
  readonly reorderProbability: number;
  readonly reorderDelayTicksMax: number;
  /** Bound on messages in flight; a send beyond it is dropped (reason `overflow`). */
  readonly maxInFlightMessages: number;
}

export const DEFAULT_NETWORK_OPTIONS: Omit<NetworkOptions, 'nodes'> = Object.freeze({
  delayTicksMin: 1,
  delayTicksMax: 3,
  lossProbability: 0,
  duplicateProbability: 0,
  reorderProbability: 0,
  reorderDelayTicksMax: 10,
  maxInFlightMessages: 4096,
});

/** Counters, for the run's summary. */
export interface NetworkStats {
  sent: number;
  delivered: number;
  duplicated: number;
  reordered: number;
  droppedLoss: number;
  droppedPartition: number;
  droppedOverflow: number;
  droppedDown: number;
}

/** Checks options; returns what is wrong, one line per field (empty: valid). */
export function validateNetworkOptions(options: NetworkOptions): readonly string[] {
  const problems: string[] = [];
  const probability = (name: keyof NetworkOptions, p: number): void => {
    if (!(p >= 0 && p <= 1)) problems.push(`${name} must be a probability in [0, 1], got ${p}`);
  };
  if (options.nodes.length === 0) problems.push('nodes must not be empty');
  if (new Set(options.nodes).size !== options.nodes.length) problems.push('nodes must be distinct');
  if (!Number.isInteger(options.delayTicksMin) || options.delayTicksMin < 1) problems.push('delayTicksMin must be an integer ≥ 1');
  if (!Number.isInteger(options.delayTicksMax) || options.delayTicksMax < options.delayTicksMin) {
    problems.push('delayTicksMax must be an integer ≥ delayTicksMin');
  }
  probability('lossProbability', options.lossProbability);
  probability('duplicateProbability', options.duplicateProbability);
  probability('reorderProbability', options.reorderProbability);
  if (!Number.isInteger(options.reorderDelayTicksMax) || options.reorderDelayTicksMax < 1) {
    problems.push('reorderDelayTicksMax must be an integer ≥ 1');
  }
  if (!Number.isInteger(options.maxInFlightMessages) || options.maxInFlightMessages < 1) {
    problems.push('maxInFlightMessages must be an integer ≥ 1');
  }
  return problems;
}

export class SimNetwork {
  readonly options: NetworkOptions;
  readonly stats: NetworkStats = {
    sent: 0,
    delivered: 0,
    duplicated: 0,
    reordered: 0,
    droppedLoss: 0,
    droppedPartition: 0,
    droppedOverflow: 0,
    droppedDown: 0,
  };

  private readonly rng: Prng;
  // The fault rates start as the options say; the liveness phase turns them off.
  private lossProbability: number;
  private duplicateProbability: number;
  private reorderProbability: number;
  private readonly sink: TraceSink | undefined;
  private readonly traceDigest: TraceDigest;
  private readonly nodeCount: number;
  private readonly indexOf = new Map<NodeId, number>();

  // The wheel. Invariant: every pending message is due in [cursorTick, cursorTick + wheel.length),
  // bucket (t & wheelMask) holds exactly the messages due at t, in send order, and the bucket at
  // cursorTick has been read up to bucketReadPos. 0 ≤ size ≤ maxInFlightMessages.
  private wheel: Envelope[][];
  private wheelMask: number;
  private cursorTick = 0;
  private bucketReadPos = 0;
  private size = 0;

  // Links: groupOf[i] is node i's partition group (all 0 when healed); cut[a * n + b] = 1 blocks a→b.
  private readonly groupOf: Int32Array;
  private readonly cut: Uint8Array;
  /** True while any partition or cut is in place: lets the fault-free path skip node lookups. */
  private linksFaulty = false;
  /** Overflow drops waiting for `flushDrops` (only kept when tracing). */
  private readonly deferredDrops: Envelope[] = [];

  constructor(options: NetworkOptions, deps: { readonly rng: Prng; readonly sink?: TraceSink | undefined; readonly traceDigest?: TraceDigest | undefined }) {
    const problems = validateNetworkOptions(options);
    assert(problems.length === 0, () => `invalid network options: ${problems.join('; ')}`);
    this.options = options;
    this.rng = deps.rng;
    this.lossProbability = options.lossProbability;
    this.duplicateProbability = options.duplicateProbability;
    this.reorderProbability = options.reorderProbability;
    this.sink = deps.sink;
    this.traceDigest = deps.traceDigest ?? IDENTITY_DIGEST;
    this.nodeCount = options.nodes.length;
    options.nodes.forEach((id, i) => this.indexOf.set(id, i));
    const slots = wheelSlotsFor(options.delayTicksMax + options.reorderDelayTicksMax);
    this.wheel = Array.from({ length: slots }, () => []);
    this.wheelMask = slots - 1;
    this.groupOf = new Int32Array(this.nodeCount);
    this.cut = new Uint8Array(this.nodeCount * this.nodeCount);
  }

  /** Messages in flight now (duplicates count twice). */
  get inFlight(): number {
    return this.size;
  }

  /** Delivery tick of the next message, or undefined when nothing is in flight. */
  nextDeliveryTick(): number | undefined {
    if (this.size === 0) return undefined;
    for (let t = this.cursorTick; t < this.cursorTick + this.wheel.length; t++) {
      const bucket = this.wheel[t & this.wheelMask] as Envelope[];
      if (bucket.length > (t === this.cursorTick ? this.bucketReadPos : 0)) return t;
    }
    assert(false, 'network: messages in flight but no bucket holds one');
  }

  /** Total drops for any reason. */
  dropped(): number {
    const s = this.stats;
    return s.droppedLoss + s.droppedPartition + s.droppedOverflow + s.droppedDown;
  }

  /**
   * Puts a message on the wire at `nowTick`. It arrives (if nothing loses it) after a delay drawn
   * from the options, maybe twice, maybe late.
   */
  send(envelope: Envelope, nowTick: number): void {
    this.stats.sent++;
    const o = this.options;
    const rng = this.rng;
    // Each draw is skipped when its fault is off: fewer PRNG calls on the fault-free fast path,
    // and a run with a fault off draws the same numbers whatever that fault's other settings are.
    let delay = o.delayTicksMax === o.delayTicksMin ? o.delayTicksMin : rng.int(o.delayTicksMin, o.delayTicksMax);
    if (this.reorderProbability > 0 && rng.chance(this.reorderProbability)) {
      delay += rng.int(1, o.reorderDelayTicksMax);
      this.stats.reordered++;
    }
    if (!this.push(envelope, nowTick, nowTick + delay)) return;
    if (this.duplicateProbability > 0 && rng.chance(this.duplicateProbability)) {
      const copyDelay = o.delayTicksMax === o.delayTicksMin ? o.delayTicksMin : rng.int(o.delayTicksMin, o.delayTicksMax);
      // A copy that does not fit is simply not made: nothing was lost.
      if (this.size < o.maxInFlightMessages) {
        this.push(envelope, nowTick, nowTick + copyDelay);
        this.stats.duplicated++;
      }
    }
  }

  /**
   * The next message due at or before `nowTick` that survives loss and partitions, or undefined
   * when none is due. Lost messages are recorded (`drop`) and skipped. Call until undefined.
   */
  popDue(nowTick: number): Envelope | undefined {
    const lossProbability = this.lossProbability;
    const wheel = this.wheel;
    while (this.size > 0 && this.cursorTick <= nowTick) {
      const bucket = wheel[this.cursorTick & this.wheelMask] as Envelope[];
      if (this.bucketReadPos >= bucket.length) {
        // This tick is done: recycle its bucket and move on.
        bucket.length = 0;
        this.bucketReadPos = 0;
        this.cursorTick++;
        continue;
      }
      const envelope = bucket[this.bucketReadPos++] as Envelope;
      this.size--;
      if (this.linksFaulty && this.blockedEnvelope(envelope)) {
        this.stats.droppedPartition++;
        if (this.sink !== undefined) this.emitDrop(envelope, 'partition');
        continue;
      }
      if (lossProbability > 0 && this.rng.chance(lossProbability)) {
        this.stats.droppedLoss++;
        if (this.sink !== undefined) this.emitDrop(envelope, 'loss');
        continue;
      }
      this.stats.delivered++;
      return envelope;
    }
    return undefined;
  }

  /** Records a message that arrived at a node that is down (the host decides that). */
  dropAtDownNode(envelope: Envelope): void {
    this.stats.delivered--;
    this.stats.droppedDown++;
    if (this.sink !== undefined) this.emitDrop(envelope, 'down');
  }

  /** Emits the `drop` events of sends refused since the last flush (call after the Ready's `advance`). */
  flushDrops(): void {
    if (this.deferredDrops.length === 0) return;
    for (const envelope of this.deferredDrops) this.emitDrop(envelope, 'overflow');
    this.deferredDrops.length = 0;
  }

  /** Changes the loss, duplication and reordering rates from now on. */
  setFaultProbabilities(p: Pick<NetworkOptions, 'lossProbability' | 'duplicateProbability' | 'reorderProbability'>): void {
    for (const [name, value] of Object.entries(p)) assert(value >= 0 && value <= 1, () => `${name} must be a probability in [0, 1]`);
    this.lossProbability = p.lossProbability;
    this.duplicateProbability = p.duplicateProbability;
    this.reorderProbability = p.reorderProbability;
  }

  /**
   * Splits the nodes into groups that cannot reach each other (messages inside a group flow).
   * Every node must be in exactly one group. Replaces any earlier partition; one-way cuts stay.
   */
  partition(groups: readonly (readonly NodeId[])[]): void {
    const seen = new Set<NodeId>();
    groups.forEach((group, g) => {
      for (const id of group) {
        assert(!seen.has(id), () => `partition: node ${id} is in two groups`);
        seen.add(id);
        this.groupOf[this.nodeIndex(id)] = g;
      }
    });
    assert(seen.size === this.nodeCount, () => `partition: ${this.nodeCount - seen.size} nodes are in no group`);
    this.linksFaulty = true;
  }

  /** Blocks messages from `from` to `to`; the other direction stays open (a one-way cut). */
  cutLink(options: { readonly from: NodeId; readonly to: NodeId }): void {
    assert(options.from !== options.to, 'cutLink: a node always reaches itself');
    this.cut[this.nodeIndex(options.from) * this.nodeCount + this.nodeIndex(options.to)] = 1;
    this.linksFaulty = true;
  }

  /** Removes every partition and cut. Messages already in flight keep their delivery ticks. */
  heal(): void {
    this.groupOf.fill(0);
    this.cut.fill(0);
    this.linksFaulty = false;
  }

  /** True when a message from `from` to `to` would be lost to a partition or cut right now. */
  isBlocked(options: { readonly from: NodeId; readonly to: NodeId }): boolean {
    return this.blocked(this.nodeIndex(options.from), this.nodeIndex(options.to));
  }

  /** True while some partition or cut is in place. */
  get partitioned(): boolean {
    return this.linksFaulty;
  }

  // ------------------------------------------------------------------------------------------
  // In-flight inspection and manipulation (the conformance suite's Deliver/Drop/Duplicate/Reorder).
  // Positions are in delivery order; every method keeps the wheel's invariant.

  /** Messages in flight now, in delivery order, with the tick each is due. */
  pending(): readonly { readonly envelope: Envelope; readonly tick: number }[] {
    const out: { envelope: Envelope; tick: number }[] = [];
    if (this.size === 0) return out;
    for (let t = this.cursorTick; t < this.cursorTick + this.wheel.length && out.length < this.size; t++) {
      const bucket = this.wheel[t & this.wheelMask] as Envelope[];
      for (let i = t === this.cursorTick ? this.bucketReadPos : 0; i < bucket.length; i++) out.push({ envelope: bucket[i] as Envelope, tick: t });
    }
    return out;
  }

  /** Number of messages in flight (same as `inFlight`). */
  inFlightCount(): number {
    return this.size;
  }

  /** Loses the message at position `i` now (a `drop` event, reason `loss`). */
  dropAt(i: number): Envelope {
    const envelope = this.removeAt(i);
    this.stats.droppedLoss++;
    if (this.sink !== undefined) this.emitDrop(envelope, 'loss');
    return envelope;
  }

  /** Delivers a copy of the message at position `i` too, at the next tick; false when the bound is reached. */
  duplicateAt(i: number, nowTick: number): boolean {
    const item = this.pending()[i];
    assert(item !== undefined, () => `network: no message at position ${i}`);
    if (this.size >= this.options.maxInFlightMessages) return false;
    this.push(item.envelope, nowTick, nowTick + 1);
    this.stats.duplicated++;
    return true;
  }

  /** Moves the message at position `i` to the front of the next tick's deliveries. */
  deliverNowAt(i: number, nowTick: number): Envelope {
    const envelope = this.removeAt(i);
    const tick = Math.max(nowTick + 1, this.size === 0 ? nowTick + 1 : this.cursorTick);
    this.push(envelope, nowTick, tick);
    const bucket = this.wheel[tick & this.wheelMask] as Envelope[];
    const front = tick === this.cursorTick ? this.bucketReadPos : 0;
    bucket.pop();
    bucket.splice(front, 0, envelope);
    return envelope;
  }

  /** Shuffles which in-flight message is due at which of the pending delivery ticks. */
  reorder(rng: Prng): number {
    const items = this.pending();
    if (items.length < 2) return 0;
    const ticks = items.map((x) => x.tick);
    const envelopes = items.map((x) => x.envelope);
    for (let k = envelopes.length - 1; k > 0; k--) {
      const j = rng.int(0, k);
      const tmp = envelopes[k] as Envelope;
      envelopes[k] = envelopes[j] as Envelope;
      envelopes[j] = tmp;
    }
    for (let t = this.cursorTick; t < this.cursorTick + this.wheel.length; t++) {
      const bucket = this.wheel[t & this.wheelMask] as Envelope[];
      if (t === this.cursorTick) bucket.length = this.bucketReadPos;
      else bucket.length = 0;
    }
    envelopes.forEach((e, k) => (this.wheel[(ticks[k] as number) & this.wheelMask] as Envelope[]).push(e));
    this.stats.reordered += envelopes.length;
    return envelopes.length;
  }

  /** Takes the message at position `i` off the wire (no event). */
  private removeAt(i: number): Envelope {
    assert(Number.isInteger(i) && i >= 0 && i < this.size, () => `network: no message at position ${i} (${this.size} in flight)`);
    let k = i;
    for (let t = this.cursorTick; t < this.cursorTick + this.wheel.length; t++) {
      const bucket = this.wheel[t & this.wheelMask] as Envelope[];
      const from = t === this.cursorTick ? this.bucketReadPos : 0;
      const n = bucket.length - from;
      if (k < n) {
        const [envelope] = bucket.splice(from + k, 1);
        this.size--;
        return envelope as Envelope;
      }
      k -= n;
    }
    assert(false, 'network: position not found');
  }

  private nodeIndex(id: NodeId): number {
    const i = this.indexOf.get(id);
    assert(i !== undefined, () => `network: unknown node ${id}`);
    return i;
  }

  private blocked(from: number, to: number): boolean {
    return this.groupOf[from] !== this.groupOf[to] || this.cut[from * this.nodeCount + to] === 1;
  }

  private blockedEnvelope(envelope: Envelope): boolean {
    return this.blocked(this.nodeIndex(envelope.from), this.nodeIndex(envelope.to));
  }

  private emitDrop(envelope: Envelope, reason: DropReason): void {
    (this.sink as TraceSink)({ ev: 'drop', from: envelope.from, to: envelope.to, msg: traceMessage(envelope.msg, this.traceDigest), reason });
  }

  /** Inserts a message sent at `nowTick`, due at `tick`; false (and a drop) when the bound is reached. */
  private push(envelope: Envelope, nowTick: number, tick: number): boolean {
    if (this.size >= this.options.maxInFlightMessages) {
      this.stats.droppedOverflow++;
      if (this.sink !== undefined) this.deferredDrops.push(envelope);
      return false;
    }
    if (this.size === 0) {
      // Nothing pending: the cursor may jump to the first tick anything sent now can be due
      // (delays are ≥ 1), so idle ticks are not walked one by one.
      (this.wheel[this.cursorTick & this.wheelMask] as Envelope[]).length = 0;
      this.bucketReadPos = 0;
      if (nowTick + 1 > this.cursorTick) this.cursorTick = nowTick + 1;
    }
    assert(tick >= this.cursorTick, () => `network: message due at tick ${tick}, before tick ${this.cursorTick} already delivered (time went back)`);
    if (tick >= this.cursorTick + this.wheel.length) this.grow(tick);
    (this.wheel[tick & this.wheelMask] as Envelope[]).push(envelope);
    this.size++;
    return true;
  }

  /**
   * Makes the wheel wide enough for `tick`: only when the caller sends far ahead of what it has
   * delivered (tests do; the cluster, delivering every tick, never does). Keeps each tick's order.
   */
  private grow(tick: number): void {
    const slots = wheelSlotsFor(tick - this.cursorTick);
    const wheel: Envelope[][] = Array.from({ length: slots }, () => []);
    const mask = slots - 1;
    for (let t = this.cursorTick; t < this.cursorTick + this.wheel.length; t++) {
      const bucket = this.wheel[t & this.wheelMask] as Envelope[];
      const from = t === this.cursorTick ? this.bucketReadPos : 0;
      const target = wheel[t & mask] as Envelope[];
      for (let i = from; i < bucket.length; i++) target.push(bucket[i] as Envelope);
    }
    this.wheel = wheel;
    this.wheelMask = mask;
    this.bucketReadPos = 0;
  }
}

/** A power of two strictly above `span` ticks (at least 16). */
function wheelSlotsFor(span: number): number {
  let slots = 16;
  while (slots <= span) slots *= 2;
  return slots;
}
