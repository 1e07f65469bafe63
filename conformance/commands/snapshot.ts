/** Snapshot(node): make the i-th up node compact its log now (InstallSnapshot follows for laggards). */
import type { ClusterUnderTest } from '../cut.ts';
import type { ConformanceModel } from '../model.ts';
import { ConformanceCommand, describeNode, pick } from './base.ts';

export class Snapshot extends ConformanceCommand {
  readonly kind = 'snapshot';
  constructor(readonly node: number) {
    super();
  }
  protected async act(model: ConformanceModel, cut: ClusterUnderTest): Promise<string> {
    const node = pick(model.view.nodes.filter((n) => n.up), this.node);
    if (node === undefined || cut.snapshot === undefined) return 'snapshot: no up node';
    const taken = await cut.snapshot(node.id);
    return `snapshot ${describeNode(node)}${taken ? '' : ': nothing to compact'}`;
  }
  protected label(): string {
    return `snapshot up node #${this.node}`;
  }
}
