/**
 * What every conformance command shares: it acts on the cluster under test, then hands over to the
 * harness, which collects the new events, runs the trace checker over them and updates the model.
 * Parameters are indices resolved against the model's view at run time (so a command stays valid
 * while shrinking); toString() prints what was resolved.
 */
import type * as fc from 'fast-check';
import type { ClusterUnderTest, NodeView } from '../cut.ts';
import type { ConformanceModel } from '../model.ts';
import type { ClientOperation } from '../../spec/schemas/client.ts';

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
  | 'isolate-leader'
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

/** How long a client command waits for an idle client before giving up (a client's request times out sooner). */
export const CLIENT_WAIT_TICKS = 40;

export function pick<T>(items: readonly T[], index: number): T | undefined {
  return items.length === 0 ? undefined : items[index % items.length];
}

/** "n3 (leader, term 4)". */
export function describeNode(n: NodeView): string {
  return `${n.id} (${n.role}${n.up ? `, term ${n.term}` : ''})`;
}

/**
 * A client operation through a chosen node; redirecting and retrying are the cluster's (cut.ts).
 * Subclasses say only which operation: client, node and key are indices resolved at run time.
 */
export abstract class ClientCommand extends ConformanceCommand {
  readonly kind = 'client';
  /** The operation's name in descriptions: get, put, delete, cas. */
  protected abstract readonly opName: string;

  constructor(
    readonly client: number,
    readonly node: number,
    readonly key: number,
  ) {
    super();
  }

  /** The operation `clientId` performs on `key`. */
  protected abstract operation(model: ConformanceModel, key: string, clientId: string): ClientOperation;

  /**
   * When every client is busy, time runs (a tick at a time, at most CLIENT_WAIT_TICKS) until one is
   * idle, rather than skipping the command: skipped client commands made runs a third as long as
   * the command lists fast-check generated, and starved the workload exactly when faults piled up.
   */
  protected async act(model: ConformanceModel, cut: ClusterUnderTest): Promise<string> {
    let waited = 0;
    let view = cut.view();
    while (view.idleClients.length === 0 && waited < CLIENT_WAIT_TICKS) {
      await cut.advance(1);
      waited++;
      view = cut.view();
    }
    const client = pick(view.idleClients, this.client);
    const node = pick(view.nodes, this.node);
    const key = pick(model.keys, this.key) as string;
    const after = waited === 0 ? '' : ` (after ${waited} ticks waiting for an idle client)`;
    if (client === undefined || node === undefined) return `${this.opName}: no idle client${after}`;
    const clientId = `c${client + 1}`;
    const op = this.operation(model, key, clientId);
    const opId = await cut.clientOp({ client, node: node.id, op });
    return `${clientId} ${this.opName} ${JSON.stringify(op).slice(1, -1)} via ${describeNode(node)} op ${opId}${after}`;
  }

  protected label(): string {
    return `${this.opName}(client #${this.client}, node #${this.node}, key #${this.key})`;
  }
}

/** Something done to the i-th message in flight (in delivery order, i modulo the number in flight). */
export abstract class MessageCommand extends ConformanceCommand {
  /** How the description names the action ("deliver now", "drop", "duplicate"). */
  protected abstract readonly verb: string;

  constructor(readonly position: number) {
    super();
  }

  override check(model: Readonly<ConformanceModel>): boolean {
    return model.view.inFlight > 0;
  }

  protected abstract perform(network: NonNullable<ClusterUnderTest['network']>, i: number): Promise<void>;

  protected async act(model: ConformanceModel, cut: ClusterUnderTest): Promise<string> {
    const network = cut.network;
    if (network === undefined || model.view.inFlight === 0) return `${this.kind}: nothing in flight`;
    const i = this.position % model.view.inFlight;
    const what = network.describe(i);
    await this.perform(network, i);
    return `${this.verb} #${i} of ${model.view.inFlight} (${what})`;
  }

  protected label(): string {
    return `${this.kind} #${this.position}`;
  }
}

