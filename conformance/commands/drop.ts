/** Drop(i): drop the i-th message in flight (in delivery order, i modulo the number in flight). */
import type { ClusterUnderTest } from '../cut.ts';
import { MessageCommand } from './base.ts';

export class Drop extends MessageCommand {
  readonly kind = 'drop';
  protected readonly verb = 'drop';
  protected perform(network: NonNullable<ClusterUnderTest['network']>, i: number): Promise<void> {
    return network.drop(i);
  }
}
