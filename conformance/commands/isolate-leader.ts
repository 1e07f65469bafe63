/**
 * IsolateLeader(i): cut the current leader off from every other node (a partition {leader} | {rest};
 * with no leader, the i-th node). The fault behind stale reads and Figure 8: the deposed leader
 * still believes it leads while the majority elects another — random partitions produce this
 * shape too rarely for a run of a few dozen commands to hit it.
 */
import type { ClusterUnderTest } from '../cut.ts';
import type { ConformanceModel } from '../model.ts';
import { ConformanceCommand, describeNode, pick } from './base.ts';

export class IsolateLeader extends ConformanceCommand {
  readonly kind = 'isolate-leader';
  constructor(readonly fallback: number) {
    super();
  }
  protected async act(model: ConformanceModel, cut: ClusterUnderTest): Promise<string> {
    const nodes = model.view.nodes;
    if (nodes.length < 2) return 'isolate: fewer than two nodes';
    const leaders = nodes.filter((n) => n.up && n.role === 'leader').sort((a, b) => b.term - a.term);
    const target = leaders[0] ?? pick(nodes, this.fallback);
    if (target === undefined) return 'isolate: no node';
    await cut.partition([[target.id], nodes.filter((n) => n.id !== target.id).map((n) => n.id)]);
    return `isolate ${describeNode(target)}${leaders.length === 0 ? ' (no leader: node #' + String(this.fallback % nodes.length) + ')' : ''}`;
  }
  protected label(): string {
    return `isolate leader (else node #${this.fallback})`;
  }
}
