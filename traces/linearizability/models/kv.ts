/**
 * CL-LIN model for trace format v1 client histories: a key-value store of strings with
 * get / put / delete / cas (spec/schemas/client.ts). Each key is an independent register, so the
 * model's state is one key's value — `null` while the key is absent (never written, or deleted).
 */
import type { ClientOperation } from '../../../spec/schemas/client.ts';
import type { Model, StepResult } from '../types.ts';
import { hashNullableString } from './hash.ts';

export type KvInput = ClientOperation;

/** What an `ok` event returned: `value` is a get's result (null: absent); other kinds return nothing. */
export interface KvOutput {
  readonly value?: string | null | undefined;
}

/** One key's value; null when absent. */
export type KvState = string | null;

/**
 * The v1 key-value model. `ok` means the operation took effect: for a cas that the current value
 * equalled `expected` (a cas that did not match completes with `fail` and is not in the history).
 * An `ok` get without `value` is treated as an unknown result (the importer reports it as an
 * input error).
 */
export const kvModel: Model<KvState, KvInput, KvOutput> = {
  name: 'kv',
  init: () => null,
  step: kvStep,
  partition: (input) => input.key,
  equal: (a, b) => a === b,
  hash: hashNullableString,
  readOnly: (input) => input.kind === 'get',
  describe: describeKv,
};

function kvStep(state: KvState, input: KvInput, output: KvOutput | undefined): StepResult<KvState> {
  switch (input.kind) {
    case 'get':
      return { ok: output?.value === undefined || output.value === state, state };
    case 'put':
      return { ok: true, state: input.value };
    case 'delete':
      return { ok: true, state: null };
    case 'cas': {
      const matches = state === input.expected;
      // Known outcome: `ok` promises it matched. Unknown outcome: it took effect iff it matched.
      if (output !== undefined) return { ok: matches, state: matches ? input.value : state };
      return { ok: true, state: matches ? input.value : state };
    }
  }
}

function describeKv(input: KvInput, output: KvOutput | undefined): string {
  const show = (v: string | null | undefined): string => (v === undefined ? '?' : JSON.stringify(v));
  switch (input.kind) {
    case 'get':
      return `get ${input.key} → ${output === undefined ? '?' : show(output.value)}`;
    case 'put':
      return `put ${input.key}=${show(input.value)}`;
    case 'delete':
      return `delete ${input.key}`;
    case 'cas':
      return `cas ${input.key} ${show(input.expected)}→${show(input.value)}`;
  }
}
