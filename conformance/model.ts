/**
 * The model of a conformance run: abstract facts only — what the clients were told, how far the
 * committed prefix has been seen to reach, who led which term — never a second Raft. Commands
 * resolve their index parameters against it (`view`, refreshed after every command), so a command
 * list stays valid while fast-check shrinks it.
 */
import type { ClientOperation } from '../spec/schemas/client.ts';
import type { NodeId } from '../spec/schemas/primitives.ts';
import type { TraceEvent } from '../spec/schemas/trace-events.ts';
import type { ClusterView } from './cut.ts';

export class ConformanceModel {
  view: ClusterView;
  readonly keys: readonly string[];
  /** Writes a client was told succeeded. */
  acknowledgedWrites = 0;
  /** Per key: the value of the latest acknowledged write or read (what a cas expects). */
  readonly lastKnown = new Map<string, string | null>();
  /** Keys with an acknowledged write (each must be readable after the liveness phase). */
  readonly writtenKeys = new Set<string>();
  /** Highest commit index any node has announced. */
  committedIndex = 0;
  readonly leadersByTerm = new Map<number, NodeId>();
  /** Operations invoked and not yet answered, by `client/opId`. */
  readonly open = new Map<string, ClientOperation>();
  /** Outcomes counted (ok, fail, info). */
  readonly outcomes = { ok: 0, fail: 0, info: 0 };
  private valueCounter = 0;

  constructor(view: ClusterView, keys: number) {
    this.view = view;
    this.keys = Array.from({ length: keys }, (_, i) => `k${i}`);
  }

  get nodes(): readonly NodeId[] {
    return this.view.nodes.map((n) => n.id);
  }

  /** A value never written before (so a read tells which write it saw). */
  freshValue(client: string): string {
    return `${client}-v${++this.valueCounter}`;
  }

  /** Folds the new events in. */
  observe(events: readonly TraceEvent[]): void {
    for (const e of events) {
      switch (e.ev) {
        case 'role':
          if (e.role === 'leader') this.leadersByTerm.set(e.term, e.node);
          break;
        case 'commit':
          if (e.commitIndex > this.committedIndex) this.committedIndex = e.commitIndex;
          break;
        case 'invoke':
          this.open.set(`${e.client}/${e.opId}`, e.op);
          break;
        case 'ok': {
          const key = `${e.client}/${e.opId}`;
          const op = this.open.get(key);
          this.open.delete(key);
          this.outcomes.ok++;
          if (op === undefined) break;
          if (op.kind === 'get') this.lastKnown.set(op.key, e.value ?? null);
          else {
            this.acknowledgedWrites++;
            this.writtenKeys.add(op.key);
            this.lastKnown.set(op.key, op.kind === 'delete' ? null : op.value);
          }
          break;
        }
        case 'fail':
        case 'info':
          this.open.delete(`${e.client}/${e.opId}`);
          this.outcomes[e.ev]++;
          break;
        default:
          break;
      }
    }
  }
}
