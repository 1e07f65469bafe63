/** ClientGet: a client gets a key through a chosen node, following leader hints and retrying (see cut.ts). */
import type { ClientOperation } from '../../spec/schemas/client.ts';
import type { ConformanceModel } from '../model.ts';
import { ClientCommand } from './base.ts';

export class ClientGet extends ClientCommand {
  protected readonly opName = 'get';

  protected operation(_model: ConformanceModel, key: string): ClientOperation {
    return { kind: 'get', key };
  }
}
