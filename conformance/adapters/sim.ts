/**
 * The first adapter: the reference implementation (impl/core + impl/kv) on the seeded simulator.
 * Deterministic: the same options and the same calls give the same events.
 */
import type { NodeId } from '../../spec/schemas/primitives.ts';
import type { TraceEvent } from '../../spec/schemas/trace-events.ts';
import { createPrng } from '../prng.ts';
import { eventCollector, SimCluster, SimViolation, type ClusterOptions } from '../sim/cluster.ts';
import { CutFailure, type ClientOpRequest, type ClusterUnderTest, type ClusterView, type NetworkControl } from '../cut.ts';

export type SimAdapterOptions = Omit<ClusterOptions, 'trace'> & { readonly clients: NonNullable<ClusterOptions['clients']> };

export class SimClusterAdapter implements ClusterUnderTest {
  readonly name = 'reference (simulator)';
  readonly network: NetworkControl;
  private cluster: SimCluster | undefined;
  private readonly target = eventCollector();
  private readCursor = 0;

  constructor(private readonly options: SimAdapterOptions) {
    const self = this;
    this.network = {
      deliver: async (i) => guard(() => void self.sim.network.deliverNowAt(i, self.sim.now)),
      drop: async (i) => guard(() => void self.sim.network.dropAt(i)),
      duplicate: async (i) => guard(() => void self.sim.network.duplicateAt(i, self.sim.now)),
      reorder: async (seed) => guard(() => self.sim.network.reorder(createPrng(seed))),
      describe: (i) => {
        const item = self.sim.network.pending()[i];
        if (item === undefined) return `#${i}`;
        const msg = item.envelope.msg as { type: string; term?: number };
        return `${msg.type} ${item.envelope.from}→${item.envelope.to}${msg.term === undefined ? '' : ` t${msg.term}`}`;
      },
    };
  }

  /** The simulator itself (tests, and for counters). */
  get sim(): SimCluster {
    if (this.cluster === undefined) throw new Error('the cluster is not started');
    return this.cluster;
  }

  async start(): Promise<void> {
    guard(() => {
      this.cluster = new SimCluster({ ...this.options, trace: this.target });
      // The suite drives every client operation itself.
      this.cluster.workload.drain();
    });
  }

  async stop(): Promise<void> {
    this.cluster = undefined;
  }

  async crash(node: NodeId): Promise<void> {
    guard(() => this.sim.crash(node));
  }

  async restart(node: NodeId): Promise<void> {
    guard(() => this.sim.restart(node));
  }

  async partition(groups: readonly (readonly NodeId[])[]): Promise<void> {
    guard(() => this.sim.partition(groups));
  }

  async partitionOneWay(from: NodeId, to: NodeId): Promise<void> {
    guard(() => this.sim.cutLink({ from, to }));
  }

  async heal(): Promise<void> {
    guard(() => this.sim.healNetwork());
  }

  async clientOp(request: ClientOpRequest): Promise<number> {
    return guard(() => {
      const sim = this.sim;
      return sim.workload.submit(request.client, request.op, sim.ids.indexOf(request.node), sim.now);
    });
  }

  async advance(ticks: number): Promise<void> {
    guard(() => this.sim.run(ticks));
  }

  async settle(maxTicks: number): Promise<number> {
    return guard(() => this.sim.converge({ maxTicks }));
  }

  async snapshot(node: NodeId): Promise<boolean> {
    return guard(() => this.sim.snapshotNow(node));
  }

  collectEvents(): TraceEvent[] {
    const events = this.target.events.slice(this.readCursor);
    this.readCursor = this.target.events.length;
    return events;
  }

  /** Every event so far (for the failure artifact). */
  allEvents(): readonly TraceEvent[] {
    return this.target.events;
  }

  view(): ClusterView {
    const sim = this.sim;
    const idle: number[] = [];
    for (let i = 0; i < sim.workload.size; i++) if (sim.workload.isIdle(i)) idle.push(i);
    return {
      nodes: sim.ids.map((id) => {
        const h = sim.host(id);
        const s = h.node?.status();
        return { id, up: h.up, role: h.role, term: s?.currentTerm ?? 0, commitIndex: s?.commitIndex ?? 0 };
      }),
      clients: sim.workload.size,
      idleClients: idle,
      inFlight: sim.network.inFlightCount(),
      now: sim.now,
    };
  }
}

/** Turns what the simulator throws into a CutFailure with the rule it names. */
function guard<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof CutFailure) throw err;
    if (err instanceof SimViolation) throw new CutFailure(err.rule, err.message);
    throw new CutFailure('assertion', err instanceof Error ? err.message : String(err));
  }
}
