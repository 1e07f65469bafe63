/**
 * The cluster under test (CUT): what the conformance suite needs from an implementation of Raft
 * with a key-value state machine. The reference implementation on the seeded simulator
 * (adapters/sim.ts) is the first adapter; others plug in by implementing this interface.
 *
 * Every action is asynchronous (a real cluster answers over a network); `view` is a synchronous
 * snapshot of what the adapter knows, used to resolve commands' index parameters against the
 * current state. Time is abstract: `advance(ticks)` lets the cluster run that long.
 *
 * Client operations follow redirect/retry semantics: the operation is sent to the chosen node,
 * follows leader hints on refusal, retries (exactly once: same session sequence) when its outcome is
 * unknown, and ends with `ok`, `fail` (definitely no effect) or `info` (unknown) — all recorded as
 * trace events (`invoke` … `ok`/`fail`/`info`), which `collectEvents` hands back.
 */
import type { ClientOperation } from '../spec/schemas/client.ts';
import type { NodeId, Role } from '../spec/schemas/primitives.ts';
import type { TraceEvent } from '../spec/schemas/trace-events.ts';

export interface NodeView {
  readonly id: NodeId;
  readonly up: boolean;
  readonly role: Role | 'down';
  readonly term: number;
  readonly commitIndex: number;
}

export interface ClusterView {
  readonly nodes: readonly NodeView[];
  /** Number of clients; `idleClients` are the indices of those with no operation in progress. */
  readonly clients: number;
  readonly idleClients: readonly number[];
  /** Messages in flight (0 when the adapter cannot see the network). */
  readonly inFlight: number;
  readonly now: number;
}

export interface ClientOpRequest {
  /** Index of an idle client. */
  readonly client: number;
  /** Node the client sends to first. */
  readonly node: NodeId;
  readonly op: ClientOperation;
}

/** Optional: direct control over messages in flight (positions are in delivery order). */
export interface NetworkControl {
  deliver(position: number): Promise<void>;
  drop(position: number): Promise<void>;
  duplicate(position: number): Promise<void>;
  /** Shuffles in-flight messages with a PRNG seeded by `seed`; returns how many moved. */
  reorder(seed: number): Promise<number>;
  describe(position: number): string;
}

export interface ClusterUnderTest {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  crash(node: NodeId): Promise<void>;
  restart(node: NodeId): Promise<void>;
  /** Nodes in different groups cannot reach each other; replaces any earlier partition. */
  partition(groups: readonly (readonly NodeId[])[]): Promise<void>;
  /** Blocks messages from `from` to `to` only. */
  partitionOneWay(from: NodeId, to: NodeId): Promise<void>;
  heal(): Promise<void>;
  /** Starts a client operation; it completes (in the events) while time advances. Returns the op id. */
  clientOp(request: ClientOpRequest): Promise<number>;
  advance(ticks: number): Promise<void>;
  /** Events since the last call, in order (the first call starts with the header). */
  collectEvents(): TraceEvent[];
  view(): ClusterView;
  /**
   * The liveness phase: heal the network, restart every crashed node, stop faults; then within
   * `maxTicks` one leader and converged logs. Rejects with a LivenessFailure otherwise.
   */
  settle(maxTicks: number): Promise<number>;
  readonly network?: NetworkControl | undefined;
  /** Optional: make `node` take a snapshot (log compaction) now; false when there is nothing to compact. */
  snapshot?(node: NodeId): Promise<boolean>;
}

/** A failure the cluster under test itself detected (a cheap invariant, an assertion, liveness). */
export class CutFailure extends Error {
  override readonly name = 'CutFailure';
  constructor(
    readonly rule: string,
    message: string,
  ) {
    super(`${rule}: ${message}`);
  }
}
