/** Deliver(i): deliver the i-th message in flight now, ahead of its schedule (i modulo the number in flight). */
import type { ClusterUnderTest } from '../cut.ts';
import { MessageCommand } from './base.ts';

export class Deliver extends MessageCommand {
  readonly kind = 'deliver';
  protected readonly verb = 'deliver now';
  protected perform(network: NonNullable<ClusterUnderTest['network']>, i: number): Promise<void> {
    return network.deliver(i);
  }
}
