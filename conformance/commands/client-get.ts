/** ClientGet: a client gets through a chosen node, following leader hints and retrying (see cut.ts). */
import type { ClientOperation } from '../../spec/schemas/client.ts';
import type { ClusterUnderTest } from '../cut.ts';
import type { ConformanceModel } from '../model.ts';
import { ConformanceCommand, pick } from './base.ts';

export class ClientGet extends ConformanceCommand {
  readonly kind = 'client';
  constructor(readonly client: number, readonly node: number, readonly key: number) {
    super();
  }

  override check(model: Readonly<ConformanceModel>): boolean {
    return model.view.idleClients.length > 0;
  }

  protected async act(model: ConformanceModel, cut: ClusterUnderTest): Promise<string> {
    const client = pick(model.view.idleClients, this.client);
    const node = pick(model.view.nodes, this.node);
    const key = pick(model.keys, this.key) as string;
    if (client === undefined || node === undefined) return 'get: no idle client';
    const clientId = `c${client + 1}`;
    const op: ClientOperation = { kind: 'get', key };
    const opId = await cut.clientOp({ client, node: node.id, op });
    return `${clientId} get ${JSON.stringify(op).slice(1, -1)} via ${node.id} (${node.role}) op ${opId}`;
  }

  protected label(): string {
    return `get(client #${this.client}, node #${this.node}, key #${this.key})`;
  }
}
