/** Heal: remove every partition and one-way cut. */
import type { ClusterUnderTest } from '../cut.ts';
import type { ConformanceModel } from '../model.ts';
import { ConformanceCommand } from './base.ts';

export class Heal extends ConformanceCommand {
  readonly kind = 'heal';
  protected async act(_model: ConformanceModel, cut: ClusterUnderTest): Promise<string> {
    await cut.heal();
    return 'heal';
  }
  protected label(): string {
    return 'heal';
  }
}
