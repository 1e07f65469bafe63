/** ClientCas: a client compares-and-sets a key through a chosen node, following leader hints and retrying (see cut.ts). */
import type { ClientOperation } from '../../spec/schemas/client.ts';
import type { ConformanceModel } from '../model.ts';
import { ClientCommand } from './base.ts';

export class ClientCas extends ClientCommand {
  protected readonly opName = 'cas';
  constructor(
    client: number,
    node: number,
    key: number,
    /** Expect the value last known to the model (likely to match) rather than absence. */
    readonly expectKnown: boolean,
  ) {
    super(client, node, key);
  }

  protected operation(model: ConformanceModel, key: string, clientId: string): ClientOperation {
    return { kind: 'cas', key, expected: this.expectKnown ? (model.lastKnown.get(key) ?? null) : null, value: model.freshValue(clientId) };
  }
}
