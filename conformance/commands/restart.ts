/** Restart(node): restart the i-th crashed node from its disk. */
import type { ClusterUnderTest } from '../cut.ts';
import type { ConformanceModel } from '../model.ts';
import { ConformanceCommand, pick } from './base.ts';

export class Restart extends ConformanceCommand {
  readonly kind = 'restart';
  constructor(readonly node: number) {
    super();
  }
  override check(model: Readonly<ConformanceModel>): boolean {
    return model.view.nodes.some((n) => !n.up);
  }
  protected async act(model: ConformanceModel, cut: ClusterUnderTest): Promise<string> {
    const node = pick(model.view.nodes.filter((n) => !n.up), this.node);
    if (node === undefined) return 'restart: no node is down';
    await cut.restart(node.id);
    return `restart ${node.id}`;
  }
  protected label(): string {
    return `restart down node #${this.node}`;
  }
}
