/**
 * The network between the nodes of a real-time target (an implementation with its own timers):
 * every message a node sends goes through here, so figure2 decides what each link does — deliver
 * after a seeded delay, lose, duplicate, reorder, partition, cut one way — and the adapter sees
 * every send and delivery (the `send`/`recv` events of its trace).
 *
 * It carries opaque payloads (a liferaft packet, a PySyncObj message): the adapter translates
 * them. Time is the wall clock (`performance.now()`); one timer is armed for the earliest due
 * message. Faults are drawn from the run's seed, but *when* a message is due depends on real
 * time, so runs are as reproducible as the target's own timers allow (the report says how often).
 */
import type { NodeId } from '../../spec/schemas/primitives.ts';
import type { NetworkControl } from '../cut.ts';
import { createPrng, type Prng } from '../prng.ts';

export interface RoutedNetworkOptions {
  readonly seed: number;
  /** Delivery delay of each message, in ms, uniform in [min, max]. */
  readonly delayMs?: { readonly min: number; readonly max: number } | undefined;
  readonly lossProbability?: number | undefined;
  readonly duplicateProbability?: number | undefined;
  /** Probability that a message is held back by up to `reorderDelayMsMax` more (overtaken by later ones). */
  readonly reorderProbability?: number | undefined;
  readonly reorderDelayMsMax?: number | undefined;
  /**
   * Keep each link's messages in send order, as one TCP connection does: a message is never due
   * before the one sent ahead of it on the same link, except when held back by a reorder draw or
   * shuffled by the suite. For targets whose transport is TCP (PySyncObj); liferaft's is the adapter's.
   */
  readonly fifoLinks?: boolean | undefined;
}

export interface Routed<P> {
  /** Send order, from 1 (a duplicate gets its own). */
  readonly seq: number;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly payload: P;
  /** performance.now() at which it is due. */
  dueAt: number;
}

export interface RoutedNetworkHandlers<P> {
  /** Hands the message to its receiver (the adapter emits `recv` and calls into the target). */
  deliver(message: Routed<P>): void;
  /** A message lost (fault, partition, a node down); the adapter may emit a `drop` event. */
  dropped?(message: Routed<P>, why: string): void;
  /** One line for a payload ("AppendEntries t3 prev 4/2, 1 entry"), for command descriptions. */
  describe(payload: P): string;
}

const DEFAULT_DELAY = { min: 1, max: 4 } as const;

export class RoutedNetwork<P> {
  private readonly prng: Prng;
  private queue: Routed<P>[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private readonly down = new Set<NodeId>();
  /** Blocked directed links, `from→to`. */
  private readonly blocked = new Set<string>();
  private closed = false;
  /** Per link `from→to`: the due time of the last message sent on it (fifoLinks). */
  private readonly lastDue = new Map<string, number>();
  /** Counters for the report. */
  readonly counts = { sent: 0, delivered: 0, lost: 0, duplicated: 0, blocked: 0 };
  readonly control: NetworkControl;

  constructor(
    private readonly options: RoutedNetworkOptions,
    private readonly handlers: RoutedNetworkHandlers<P>,
  ) {
    this.prng = createPrng(options.seed);
    this.control = {
      deliver: async (i) => {
        const m = this.takeAt(i);
        if (m !== undefined) this.hand(m);
      },
      drop: async (i) => {
        const m = this.takeAt(i);
        if (m !== undefined) this.lose(m, 'dropped by the suite');
      },
      duplicate: async (i) => {
        const m = this.pending()[i];
        if (m !== undefined) this.enqueue({ ...m, seq: ++this.seq });
      },
      reorder: async (seed) => this.reorder(seed),
      describe: (i) => {
        const m = this.pending()[i];
        return m === undefined ? `#${i}` : `${this.handlers.describe(m.payload)} ${m.from}→${m.to}`;
      },
    };
  }

  /** A node sends: the message is lost, or queued with a seeded delay (and maybe a duplicate). */
  send(from: NodeId, to: NodeId, payload: P): void {
    if (this.closed) return;
    this.counts.sent++;
    const message: Routed<P> = { seq: ++this.seq, from, to, payload, dueAt: this.dueTime(from, to) };
    const why = this.unreachable(from, to);
    if (why !== undefined) return this.lose(message, why);
    if (this.prng.chance(this.options.lossProbability ?? 0)) return this.lose(message, 'lost (random loss)');
    this.enqueue(message);
    if (this.prng.chance(this.options.duplicateProbability ?? 0)) {
      this.counts.duplicated++;
      this.enqueue({ ...message, seq: ++this.seq, dueAt: this.dueTime(from, to) });
    }
  }

  /** In flight, in delivery order. */
  pending(): readonly Routed<P>[] {
    return this.queue;
  }

  /** Groups that cannot reach each other; replaces earlier partitions and one-way cuts. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    this.blocked.clear();
    const groupOf = new Map<NodeId, number>();
    groups.forEach((g, i) => g.forEach((n) => groupOf.set(n, i)));
    for (const [a, ga] of groupOf) for (const [b, gb] of groupOf) if (ga !== gb) this.blocked.add(`${a}→${b}`);
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.blocked.add(`${from}→${to}`);
  }

  heal(): void {
    this.blocked.clear();
  }

  /** A crashed node neither sends nor receives; what was in flight to it is lost at delivery. */
  setDown(node: NodeId, down: boolean): void {
    if (down) this.down.add(node);
    else this.down.delete(node);
  }

  /** Stops: nothing more is delivered, timers are cleared. */
  close(): void {
    this.closed = true;
    this.queue = [];
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private unreachable(from: NodeId, to: NodeId): string | undefined {
    if (this.down.has(from)) return `${from} is down`;
    if (this.down.has(to)) return `${to} is down`;
    if (this.blocked.has(`${from}→${to}`)) return `link ${from}→${to} is cut`;
    return undefined;
  }

  /** When a message sent now on from→to is due: a seeded delay, kept in link order with fifoLinks. */
  private dueTime(from: NodeId, to: NodeId): number {
    const { min, max } = this.options.delayMs ?? DEFAULT_DELAY;
    const now = performance.now();
    let due = now + this.prng.int(min, max);
    const held = this.prng.chance(this.options.reorderProbability ?? 0);
    if (this.options.fifoLinks === true && !held) {
      const link = `${from}→${to}`;
      due = Math.max(due, this.lastDue.get(link) ?? 0);
      this.lastDue.set(link, due);
    }
    return held ? due + this.prng.int(1, this.options.reorderDelayMsMax ?? 20) : due;
  }

  private enqueue(message: Routed<P>): void {
    // Keep delivery order (due time, then send order): binary search for the slot.
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.queue[mid] as Routed<P>;
      if (m.dueAt < message.dueAt || (m.dueAt === message.dueAt && m.seq < message.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, message);
    this.arm();
  }

  private takeAt(i: number): Routed<P> | undefined {
    const [m] = this.queue.splice(i, 1);
    return m;
  }

  private arm(): void {
    const first = this.queue[0];
    if (this.closed || first === undefined) return;
    if (this.timer !== undefined && this.timerAt <= first.dueAt) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = first.dueAt;
    this.timer = setTimeout(() => this.pump(), Math.max(0, first.dueAt - performance.now()));
  }

  /** Delivers every message that is due, then re-arms for the next. */
  private pump(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = performance.now();
    while (!this.closed) {
      const first = this.queue[0];
      if (first === undefined || first.dueAt > now) break;
      this.queue.shift();
      this.hand(first);
    }
    this.arm();
  }

  /** Reachability is checked again at delivery: a partition made while it was in flight loses it. */
  private hand(message: Routed<P>): void {
    const why = this.unreachable(message.from, message.to);
    if (why !== undefined) return this.lose(message, why);
    this.counts.delivered++;
    this.handlers.deliver(message);
  }

  private lose(message: Routed<P>, why: string): void {
    if (why.startsWith('link')) this.counts.blocked++;
    else this.counts.lost++;
    this.handlers.dropped?.(message, why);
  }

  /** Shuffles the due times of what is in flight (seeded); returns how many changed position. */
  private reorder(seed: number): number {
    const prng = createPrng(seed);
    const before = this.queue.map((m) => m.seq);
    const dues = this.queue.map((m) => m.dueAt);
    for (let i = dues.length - 1; i > 0; i--) {
      const j = prng.int(0, i);
      [dues[i], dues[j]] = [dues[j] as number, dues[i] as number];
    }
    this.queue.forEach((m, i) => (m.dueAt = dues[i] as number));
    this.queue.sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.arm();
    return this.queue.filter((m, i) => m.seq !== before[i]).length;
  }
}
