/** Tick(n): let the cluster run n ticks. */
import type { ClusterUnderTest } from '../cut.ts';
import type { ConformanceModel } from '../model.ts';
import { ConformanceCommand } from './base.ts';

export class Tick extends ConformanceCommand {
  readonly kind = 'tick';
  constructor(readonly ticks: number) {
    super();
  }
  protected async act(_model: ConformanceModel, cut: ClusterUnderTest): Promise<string> {
    await cut.advance(this.ticks);
    return `tick ${this.ticks}`;
  }
  protected label(): string {
    return `tick ${this.ticks}`;
  }
}
