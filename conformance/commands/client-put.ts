/** ClientPut: a client puts a fresh value through a chosen node, following leader hints and retrying (see cut.ts). */
import type { ClientOperation } from '../../spec/schemas/client.ts';
import type { ConformanceModel } from '../model.ts';
import { ClientCommand } from './base.ts';

export class ClientPut extends ClientCommand {
  protected readonly opName = 'put';

  protected operation(model: ConformanceModel, key: string, clientId: string): ClientOperation {
    return { kind: 'put', key, value: model.freshValue(clientId) };
  }
}
