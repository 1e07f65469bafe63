/**
 * The channel between the liferaft adapter (the parent, liferaft.ts) and one liferaft node in its
 * own child process (node-main.ts): Node's IPC, JSON-serialized — as liferaft's packets would be
 * on any real transport (a packet that is not plain data arrives as what JSON makes of it).
 */
import type { ClientOperation } from '../../../spec/schemas/client.ts';
import type { NodeId, Role } from '../../../spec/schemas/primitives.ts';
import type { TraceEvent } from '../../../spec/schemas/trace-events.ts';
import type { KvResult } from '../../realtime/clients.ts';

export interface ChildConfig {
  readonly id: NodeId;
  /** 1 at first boot, +1 at every restart: request ids are unique across incarnations. */
  readonly incarnation: number;
  readonly peers: readonly NodeId[];
  /** The node's LevelDB directory (kept across restarts). */
  readonly path: string;
  readonly heartbeatMs: number;
  readonly electionMinMs: number;
  readonly electionMaxMs: number;
}

/** What the harness proposes through `raft.command()`: `id` is unique per proposal (the entries' digest). */
export interface LiferaftCommand {
  readonly id: string;
  readonly op: ClientOperation;
}

/** Requests are answered through liferaft's write callback: a reply names the request it answers. */
export type WireKind = 'request' | 'reply';

export type ToChild =
  /** Start liferaft (its timers): sent to every node once all have booted, so no node campaigns alone. */
  | { readonly t: 'go' }
  | { readonly t: 'deliver'; readonly from: NodeId; readonly kind: WireKind; readonly reqId: number; readonly packet: unknown; readonly traceId: string | undefined }
  | { readonly t: 'command'; readonly ref: number; readonly command: LiferaftCommand };

export interface ChildStatus {
  readonly role: Role | 'stopped';
  readonly term: number;
  readonly commitIndex: number;
  /** End of the contiguous log as stored (what the trace shows). */
  readonly lastIndex: number;
  /** Highest index stored; above lastIndex when the store has a hole. */
  readonly highestStored: number;
  /** Store operations not yet completed (a hole is only real when none are). */
  readonly storeOpsPending: number;
}

export type FromChild =
  /** Booted (its `init` is out); liferaft starts on `go`. */
  | { readonly t: 'ready' }
  | { readonly t: 'event'; readonly event: TraceEvent }
  /** `traceId`: the trace `id` of a Raft request (RequestVote, AppendEntries), which its receiver's `recv` carries too. */
  | { readonly t: 'send'; readonly to: NodeId; readonly kind: WireKind; readonly reqId: number; readonly packet: unknown; readonly label: string; readonly traceId: string | undefined }
  | { readonly t: 'status'; readonly status: ChildStatus }
  | { readonly t: 'accepted'; readonly ref: number }
  | { readonly t: 'refused'; readonly ref: number; readonly error: string; readonly leader: string }
  | { readonly t: 'applied'; readonly commandId: string; readonly result: KvResult }
  | { readonly t: 'target-error'; readonly message: string };
