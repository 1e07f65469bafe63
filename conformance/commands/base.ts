/**
 * What every conformance command shares: it acts on the cluster under test, then hands over to the
 * harness, which collects the new events, runs the trace checker over them and updates the model.
 * Parameters are indices resolved against the model's view at run time (so a command stays valid
 * while shrinking); toString() prints what was resolved.
 */
import type * as fc from 'fast-check';
import type { ClusterUnderTest, NodeView } from '../cut.ts';
import type { ConformanceModel } from '../model.ts';

export interface Harness {
  readonly cut: ClusterUnderTest;
  /** Runs after every command: events → online trace checker → model. Throws on a violation. */
  after(model: ConformanceModel, command: ConformanceCommand): Promise<void>;
}

/** What a command does, for the summary's faults-by-kind table. */
export type CommandKind =
  | 'client'
  | 'tick'
  | 'deliver'
  | 'drop'
  | 'duplicate'
  | 'reorder'
  | 'partition'
  | 'partition-one-way'
  | 'heal'
  | 'crash'
  | 'restart'
  | 'snapshot';

export abstract class ConformanceCommand implements fc.AsyncCommand<ConformanceModel, Harness> {
  abstract readonly kind: CommandKind;
  private resolved = '';

  check(_model: Readonly<ConformanceModel>): boolean {
    return true;
  }

  async run(model: ConformanceModel, harness: Harness): Promise<void> {
    this.resolved = await this.act(model, harness.cut);
    await harness.after(model, this);
  }

  toString(): string {
    return this.resolved === '' ? this.label() : this.resolved;
  }

  /** Acts; returns what was resolved, in words. */
  protected abstract act(model: ConformanceModel, cut: ClusterUnderTest): Promise<string>;
  /** The command before resolution. */
  protected abstract label(): string;
}

export function pick<T>(items: readonly T[], index: number): T | undefined {
  return items.length === 0 ? undefined : items[index % items.length];
}

/** "n3 (leader, term 4)". */
export function describeNode(n: NodeView): string {
  return `${n.id} (${n.role}${n.up ? `, term ${n.term}` : ''})`;
}
