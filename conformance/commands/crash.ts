/** Crash(node): crash the i-th node that is up (it loses what it had not synced). */
import type { ClusterUnderTest } from '../cut.ts';
import type { ConformanceModel } from '../model.ts';
import { ConformanceCommand, describeNode, pick } from './base.ts';

export class Crash extends ConformanceCommand {
  readonly kind = 'crash';
  constructor(readonly node: number) {
    super();
  }
  override check(model: Readonly<ConformanceModel>): boolean {
    return model.view.nodes.some((n) => n.up);
  }
  protected async act(model: ConformanceModel, cut: ClusterUnderTest): Promise<string> {
    const node = pick(model.view.nodes.filter((n) => n.up), this.node);
    if (node === undefined) return 'crash: every node is down';
    await cut.crash(node.id);
    return `crash ${describeNode(node)}`;
  }
  protected label(): string {
    return `crash up node #${this.node}`;
  }
}
