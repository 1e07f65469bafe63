/**
 * The simulated network's semantics, one fault at a time: delay, loss, duplication, reordering,
 * partitions, one-way cuts, the in-flight bound — and the deterministic delivery order that
 * makes a run replay from its seed.
 */
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../../impl/core/types.ts';
import { createPrng } from '../../../conformance/prng.ts';
import { SimAssertionError } from '../../../conformance/sim/assert.ts';
import { DEFAULT_NETWORK_OPTIONS, SimNetwork, validateNetworkOptions, type NetworkOptions } from '../../../conformance/sim/network.ts';
import type { TraceEvent } from '../../../spec/schemas/trace-events.ts';

const NODES = ['n1', 'n2', 'n3'];

function network(options: Partial<Omit<NetworkOptions, 'nodes'>> = {}, seed = 1, events?: TraceEvent[]): SimNetwork {
  return new SimNetwork(
    { ...DEFAULT_NETWORK_OPTIONS, delayTicksMin: 1, delayTicksMax: 1, ...options, nodes: NODES },
    { rng: createPrng(seed), sink: events === undefined ? undefined : (e) => void events.push(e) },
  );
}

/** A message whose term field carries a label, so tests can tell messages apart. */
function msg(from: string, to: string, label: number): Envelope {
  return { from, to, msg: { type: 'RequestVoteResponse', term: label, voteGranted: true } };
}

/** Every delivery from tick 1 to `ticks`, as [tick, label]. */
function drain(net: SimNetwork, ticks: number): [number, number][] {
  const out: [number, number][] = [];
  for (let t = 0; t <= ticks; t++) {
    for (let e = net.popDue(t); e !== undefined; e = net.popDue(t)) out.push([t, e.msg.term]);
  }
  return out;
}

describe('SimNetwork', () => {
  it('delivers after the delay, never in the tick it was sent, in send order when delays are equal', () => {
    const net = network({ delayTicksMin: 3, delayTicksMax: 3 });
    for (let i = 1; i <= 5; i++) net.send(msg('n1', 'n2', i), 10);
    expect(net.popDue(12)).toBeUndefined();
    expect(drain(net, 20)).toEqual([1, 2, 3, 4, 5].map((i) => [13, i]));
    expect(net.stats).toMatchObject({ sent: 5, delivered: 5 });
  });

  it('draws delays from [min, max] and delivers by (tick, sequence number)', () => {
    const net = network({ delayTicksMin: 1, delayTicksMax: 8 }, 3);
    for (let i = 0; i < 500; i++) net.send(msg('n1', 'n2', i), 0);
    const got = drain(net, 10);
    expect(got).toHaveLength(500);
    const ticks = got.map(([t]) => t);
    expect(Math.min(...ticks)).toBe(1);
    expect(Math.max(...ticks)).toBe(8);
    // Sorted by tick, and within a tick by send order.
    for (let i = 1; i < got.length; i++) {
      const [t0, l0] = got[i - 1] as [number, number];
      const [t1, l1] = got[i] as [number, number];
      expect(t1 > t0 || (t1 === t0 && l1 > l0)).toBe(true);
    }
  });

  it('loses about the configured share of messages, each recorded as a drop after its send', () => {
    const events: TraceEvent[] = [];
    const net = network({ lossProbability: 0.25 }, 5, events);
    for (let i = 0; i < 4000; i++) net.send(msg('n1', 'n3', i), 0);
    const got = drain(net, 2);
    expect(got.length + net.stats.droppedLoss).toBe(4000);
    expect(net.stats.droppedLoss / 4000).toBeGreaterThan(0.22);
    expect(net.stats.droppedLoss / 4000).toBeLessThan(0.28);
    expect(events).toHaveLength(net.stats.droppedLoss);
    expect(events[0]).toMatchObject({ ev: 'drop', from: 'n1', to: 'n3', reason: 'loss' });
  });

  it('duplicates: a copy arrives too, with its own delay', () => {
    const net = network({ duplicateProbability: 1, delayTicksMin: 1, delayTicksMax: 4 }, 2);
    net.send(msg('n1', 'n2', 7), 0);
    expect(net.inFlight).toBe(2);
    const got = drain(net, 10);
    expect(got.map(([, l]) => l)).toEqual([7, 7]);
    expect(net.stats).toMatchObject({ duplicated: 1, delivered: 2 });
  });

  it('reorders: a held-back message is overtaken by later ones', () => {
    const net = network({ reorderProbability: 0.5, reorderDelayTicksMax: 10 }, 9);
    for (let i = 0; i < 200; i++) net.send(msg('n1', 'n2', i), 0);
    const labels = drain(net, 20).map(([, l]) => l);
    expect(labels).toHaveLength(200);
    expect(labels).not.toEqual([...labels].sort((a, b) => a - b));
    expect(net.stats.reordered).toBeGreaterThan(60);
  });

  it('partitions: messages between groups are lost, within a group they flow; heal restores all', () => {
    const events: TraceEvent[] = [];
    const net = network({}, 1, events);
    net.partition([['n1', 'n2'], ['n3']]);
    expect(net.isBlocked({ from: 'n1', to: 'n3' })).toBe(true);
    expect(net.isBlocked({ from: 'n3', to: 'n2' })).toBe(true);
    expect(net.isBlocked({ from: 'n1', to: 'n2' })).toBe(false);
    net.send(msg('n1', 'n2', 1), 0);
    net.send(msg('n1', 'n3', 2), 0);
    net.send(msg('n3', 'n1', 3), 0);
    expect(drain(net, 1).map(([, l]) => l)).toEqual([1]);
    expect(net.stats.droppedPartition).toBe(2);
    expect(events.map((e) => (e.ev === 'drop' ? e['reason'] : e.ev))).toEqual(['partition', 'partition']);
    net.heal();
    net.send(msg('n1', 'n3', 4), 1);
    expect(drain(net, 2).map(([, l]) => l)).toEqual([4]);
  });

  it('decides partitions at delivery: a message sent before the split and arriving after it is lost', () => {
    const net = network({ delayTicksMin: 5, delayTicksMax: 5 });
    net.send(msg('n1', 'n2', 1), 0);
    net.partition([['n1'], ['n2', 'n3']]);
    expect(drain(net, 10)).toEqual([]);
    expect(net.stats.droppedPartition).toBe(1);
  });

  it('one-way cuts: a→b blocked while b→a stays open', () => {
    const net = network();
    net.cutLink({ from: 'n1', to: 'n2' });
    net.send(msg('n1', 'n2', 1), 0);
    net.send(msg('n2', 'n1', 2), 0);
    net.send(msg('n1', 'n3', 3), 0);
    expect(drain(net, 1).map(([, l]) => l)).toEqual([2, 3]);
    expect(net.isBlocked({ from: 'n1', to: 'n2' })).toBe(true);
    expect(net.isBlocked({ from: 'n2', to: 'n1' })).toBe(false);
  });

  it('rejects a partition that leaves a node out or lists it twice', () => {
    const net = network();
    expect(() => net.partition([['n1'], ['n2']])).toThrow(SimAssertionError);
    expect(() => net.partition([['n1', 'n2'], ['n2', 'n3']])).toThrow(/two groups/);
    expect(() => net.partition([['n1', 'x'], ['n2', 'n3']])).toThrow(/unknown node x/);
  });

  it('is bounded: beyond maxInFlightMessages a send is dropped, and its drop event waits for flushDrops', () => {
    const events: TraceEvent[] = [];
    const net = network({ maxInFlightMessages: 3 }, 1, events);
    for (let i = 0; i < 5; i++) net.send(msg('n1', 'n2', i), 0);
    expect(net.inFlight).toBe(3);
    expect(net.stats.droppedOverflow).toBe(2);
    // Held back: the core emits `send` at advance, after the host sent, and a drop must follow its send.
    expect(events).toEqual([]);
    net.flushDrops();
    expect(events.map((e) => (e.ev === 'drop' ? [e['reason'], e.msg?.term] : []))).toEqual([
      ['overflow', 3],
      ['overflow', 4],
    ]);
    expect(drain(net, 1).map(([, l]) => l)).toEqual([0, 1, 2]);
  });

  it('counts a message that reached a down node as a drop, not a delivery', () => {
    const net = network();
    net.send(msg('n1', 'n2', 1), 0);
    const e = net.popDue(1);
    expect(e).toBeDefined();
    net.dropAtDownNode(e as Envelope);
    expect(net.stats).toMatchObject({ delivered: 0, droppedDown: 1 });
  });

  it('replays: the same seed gives the same deliveries, another seed others', () => {
    const run = (seed: number): [number, number][] => {
      const net = network({ delayTicksMin: 1, delayTicksMax: 5, lossProbability: 0.1, duplicateProbability: 0.1, reorderProbability: 0.2 }, seed);
      const out: [number, number][] = [];
      for (let t = 0; t < 100; t++) {
        for (let i = 0; i < 5; i++) net.send(msg(NODES[i % 3] as string, NODES[(i + 1) % 3] as string, t * 10 + i), t);
        for (let e = net.popDue(t); e !== undefined; e = net.popDue(t)) out.push([t, e.msg.term]);
      }
      return out;
    };
    expect(run(4)).toEqual(run(4));
    expect(run(5)).not.toEqual(run(4));
  });

  it('keeps its wheel ordered under a random workload: each tick delivers in send order, within the delay window', () => {
    const rng = createPrng(11);
    const net = network({ delayTicksMin: 1, delayTicksMax: 50, maxInFlightMessages: 10_000 }, 12);
    const sentAt: number[] = [];
    const deliveredAt = new Map<number, number>();
    let lastTick = -1;
    let lastLabel = -1;
    const take = (t: number): void => {
      for (let e = net.popDue(t); e !== undefined; e = net.popDue(t)) {
        const label = e.msg.term;
        // Popping every tick, everything delivered at t was due exactly at t: ties break by send order.
        if (t === lastTick) expect(label).toBeGreaterThan(lastLabel);
        lastTick = t;
        lastLabel = label;
        deliveredAt.set(label, t);
      }
    };
    for (let t = 0; t < 300; t++) {
      const sends = rng.int(0, 20);
      for (let i = 0; i < sends; i++) {
        sentAt.push(t);
        net.send(msg('n1', 'n2', sentAt.length - 1), t);
      }
      take(t);
    }
    for (let t = 300; t <= 400; t++) take(t);
    expect(net.inFlight).toBe(0);
    expect(deliveredAt.size).toBe(sentAt.length);
    sentAt.forEach((t, label) => {
      const at = deliveredAt.get(label) as number;
      expect(at - t).toBeGreaterThanOrEqual(1);
      expect(at - t).toBeLessThanOrEqual(50);
    });
  });

  it('grows its wheel when sends run far ahead of deliveries, keeping the order', () => {
    const net = network({ delayTicksMin: 2, delayTicksMax: 2 });
    net.send(msg('n1', 'n2', 1), 0);
    net.send(msg('n1', 'n2', 2), 100);
    net.send(msg('n1', 'n2', 3), 1000);
    net.send(msg('n1', 'n2', 4), 0);
    expect(net.nextDeliveryTick()).toBe(2);
    expect(drain(net, 2000)).toEqual([
      [2, 1],
      [2, 4],
      [102, 2],
      [1002, 3],
    ]);
    expect(net.nextDeliveryTick()).toBeUndefined();
  });

  it('refuses a message due before what it already delivered (time going back)', () => {
    const net = network();
    net.send(msg('n1', 'n2', 1), 10);
    expect(net.popDue(11)?.msg.term).toBe(1);
    net.send(msg('n1', 'n2', 2), 20);
    net.send(msg('n1', 'n2', 3), 40);
    expect(net.popDue(30)?.msg.term).toBe(2);
    expect(() => net.send(msg('n1', 'n2', 4), 5)).toThrow(/time went back/);
    expect(net.popDue(41)?.msg.term).toBe(3);
  });

  it('validates its options', () => {
    expect(validateNetworkOptions({ ...DEFAULT_NETWORK_OPTIONS, nodes: NODES })).toEqual([]);
    expect(validateNetworkOptions({ ...DEFAULT_NETWORK_OPTIONS, nodes: NODES, delayTicksMin: 0 })).toEqual(['delayTicksMin must be an integer ≥ 1']);
    expect(validateNetworkOptions({ ...DEFAULT_NETWORK_OPTIONS, nodes: NODES, lossProbability: 2 })[0]).toMatch(/lossProbability/);
    expect(() => network({ delayTicksMin: 0 })).toThrow(/invalid network options/);
  });
});

describe('SimNetwork: in-flight control (the conformance suite’s Deliver/Drop/Duplicate/Reorder)', () => {
  /** Five messages sent at tick 0 with delays 1..5 (labels 1..5), so delivery order = label order. */
  function five(events?: TraceEvent[]): SimNetwork {
    const net = network({ delayTicksMin: 1, delayTicksMax: 1 }, 1, events);
    for (let i = 1; i <= 5; i++) {
      // Send at tick i-1 with delay 1: due at tick i.
      net.send(msg('n1', 'n2', i), i - 1);
    }
    return net;
  }

  it('pending() lists the messages in flight in delivery order, with their due ticks', () => {
    const net = five();
    expect(net.pending().map((p) => [p.tick, p.envelope.msg.term])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
      [5, 5],
    ]);
    expect(net.inFlightCount()).toBe(5);
  });

  it('dropAt(i) loses exactly that message, with a drop event', () => {
    const events: TraceEvent[] = [];
    const net = five(events);
    expect(net.dropAt(2).msg.term).toBe(3);
    expect(net.inFlightCount()).toBe(4);
    expect(drain(net, 10).map(([, label]) => label)).toEqual([1, 2, 4, 5]);
    expect(events.filter((e) => e.ev === 'drop')).toHaveLength(1);
  });

  it('duplicateAt(i) delivers a copy at the next tick and keeps the original', () => {
    const net = five();
    expect(net.duplicateAt(4, 0)).toBe(true);
    expect(drain(net, 10)).toEqual([
      [1, 1],
      [1, 5],
      [2, 2],
      [3, 3],
      [4, 4],
      [5, 5],
    ]);
  });

  it('deliverNowAt(i) moves that message to the front of the next deliveries', () => {
    const net = five();
    expect(net.deliverNowAt(3, 0).msg.term).toBe(4);
    const order = drain(net, 10);
    expect(order[0]).toEqual([1, 4]);
    expect(order.map(([, label]) => label).sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('reorder keeps every message and every due tick, and is deterministic per seed', () => {
    const a = five();
    const b = five();
    expect(a.reorder(createPrng(9))).toBe(5);
    b.reorder(createPrng(9));
    const ticksBefore = [1, 2, 3, 4, 5];
    expect(a.pending().map((p) => p.tick)).toEqual(ticksBefore);
    expect(a.pending().map((p) => p.envelope.msg.term).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(b.pending().map((p) => p.envelope.msg.term)).toEqual(a.pending().map((p) => p.envelope.msg.term));
    // And it does reorder: some seed puts the messages in another order.
    const orders = [1, 2, 3, 4, 5, 6].map((seed) => {
      const n = five();
      n.reorder(createPrng(seed));
      return n.pending().map((p) => p.envelope.msg.term).join(',');
    });
    expect(orders.some((o) => o !== '1,2,3,4,5')).toBe(true);
  });

  it('refuses a position that is not in flight', () => {
    const net = five();
    expect(() => net.dropAt(5)).toThrow(SimAssertionError);
  });
});
