/** Reorder: shuffle which message in flight is delivered when. */
import type { ClusterUnderTest } from '../cut.ts';
import type { ConformanceModel } from '../model.ts';
import { ConformanceCommand } from './base.ts';

export class Reorder extends ConformanceCommand {
  readonly kind = 'reorder';
  constructor(readonly seed: number) {
    super();
  }
  override check(model: Readonly<ConformanceModel>): boolean {
    return model.view.inFlight > 1;
  }
  protected async act(_model: ConformanceModel, cut: ClusterUnderTest): Promise<string> {
    if (cut.network === undefined) return 'reorder: no network control';
    const moved = await cut.network.reorder(this.seed);
    return `reorder ${moved} messages (seed ${this.seed})`;
  }
  protected label(): string {
    return `reorder (seed ${this.seed})`;
  }
}
