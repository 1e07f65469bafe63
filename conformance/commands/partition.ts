/** Partition(groups): node i goes to group groupOf[i] mod k; at least two groups are non-empty. */
import type { ClusterUnderTest } from '../cut.ts';
import type { ConformanceModel } from '../model.ts';
import { ConformanceCommand } from './base.ts';

export class Partition extends ConformanceCommand {
  readonly kind = 'partition';
  constructor(readonly groupOf: readonly number[], readonly groupCount: number) {
    super();
  }
  protected async act(model: ConformanceModel, cut: ClusterUnderTest): Promise<string> {
    const ids = model.nodes;
    const k = Math.max(2, Math.min(this.groupCount, ids.length));
    const of = ids.map((_, i) => (this.groupOf[i % Math.max(1, this.groupOf.length)] ?? 0) % k);
    if (of.every((g) => g === of[0])) of[0] = ((of[0] ?? 0) + 1) % k;
    const groups = Array.from({ length: k }, (_, g) => ids.filter((_, i) => of[i] === g)).filter((g) => g.length > 0);
    await cut.partition(groups);
    return `partition ${groups.map((g) => `{${g.join(',')}}`).join(' | ')}`;
  }
  protected label(): string {
    return `partition [${this.groupOf.join(',')}] into ${this.groupCount}`;
  }
}
