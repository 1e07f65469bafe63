/** PartitionOneWay(from, to): block one direction of one link. */
import type { ClusterUnderTest } from '../cut.ts';
import type { ConformanceModel } from '../model.ts';
import { ConformanceCommand, describeNode, pick } from './base.ts';

export class PartitionOneWay extends ConformanceCommand {
  readonly kind = 'partition-one-way';
  constructor(readonly from: number, readonly to: number) {
    super();
  }
  protected async act(model: ConformanceModel, cut: ClusterUnderTest): Promise<string> {
    const nodes = model.view.nodes;
    const from = pick(nodes, this.from);
    const to = pick(nodes, this.from + 1 + (this.to % Math.max(1, nodes.length - 1)));
    if (from === undefined || to === undefined || from.id === to.id) return 'cut: fewer than two nodes';
    await cut.partitionOneWay(from.id, to.id);
    return `cut ${describeNode(from)} → ${to.id}`;
  }
  protected label(): string {
    return `cut #${this.from} → #${this.to}`;
  }
}
