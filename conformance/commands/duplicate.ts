/** Duplicate(i): duplicate the i-th message in flight (in delivery order, i modulo the number in flight). */
import type { ClusterUnderTest } from '../cut.ts';
import { MessageCommand } from './base.ts';

export class Duplicate extends MessageCommand {
  readonly kind = 'duplicate';
  protected readonly verb = 'duplicate';
  protected perform(network: NonNullable<ClusterUnderTest['network']>, i: number): Promise<void> {
    return network.duplicate(i);
  }
}
