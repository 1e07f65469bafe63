/** Drop(i): drop the i-th message in flight (in delivery order, i modulo the number in flight). */
import type { ClusterUnderTest } from '../cut.ts';
import type { ConformanceModel } from '../model.ts';
import { ConformanceCommand } from './base.ts';

export class Drop extends ConformanceCommand {
  readonly kind = 'drop';
  constructor(readonly position: number) {
    super();
  }
  override check(model: Readonly<ConformanceModel>): boolean {
    return model.view.inFlight > 0;
  }
  protected async act(model: ConformanceModel, cut: ClusterUnderTest): Promise<string> {
    const network = cut.network;
    if (network === undefined || model.view.inFlight === 0) return 'drop: nothing in flight';
    const i = this.position % model.view.inFlight;
    const what = network.describe(i);
    await network.drop(i);
    return `drop #${i} of ${model.view.inFlight} (${what})`;
  }
  protected label(): string {
    return `drop #${this.position}`;
  }
}
