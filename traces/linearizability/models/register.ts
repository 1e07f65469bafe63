/**
 * CL-LIN model for one read/write/compare-and-set register — the model of Jepsen's etcd tests
 * (Knossos's `cas-register`, Porcupine's etcd model). Values are Jepsen's: integers, or `null`
 * (Jepsen's `nil`) for a register never written.
 */
import type { Model, StepResult } from '../types.ts';
import { hashScalar } from './hash.ts';

export type RegisterValue = number | string | null;

export type RegisterInput =
  | { readonly f: 'read' }
  | { readonly f: 'write'; readonly value: RegisterValue }
  | { readonly f: 'cas'; readonly from: RegisterValue; readonly to: RegisterValue };

/**
 * A read returns `value`. A cas may say whether it matched: `matched: false` is a cas known to
 * have run and found another value (Porcupine's reading of Jepsen's `:fail :cas`); an `ok` cas
 * without `matched` took effect. Writes return nothing.
 */
export interface RegisterOutput {
  readonly value?: RegisterValue | undefined;
  readonly matched?: boolean | undefined;
}

/** All operations touch the same register: one partition. */
export const REGISTER_KEY = 'register';

export const registerModel: Model<RegisterValue, RegisterInput, RegisterOutput> = {
  name: 'register',
  init: () => null,
  step: registerStep,
  partition: () => REGISTER_KEY,
  equal: (a, b) => a === b,
  hash: hashScalar,
  readOnly: (input) => input.f === 'read',
  describe: describeRegister,
};

function registerStep(state: RegisterValue, input: RegisterInput, output: RegisterOutput | undefined): StepResult<RegisterValue> {
  switch (input.f) {
    case 'read':
      return { ok: output?.value === undefined || output.value === state, state };
    case 'write':
      return { ok: true, state: input.value };
    case 'cas': {
      const matches = state === input.from;
      if (output === undefined) return { ok: true, state: matches ? input.to : state };
      const claimed = output.matched ?? true;
      return { ok: matches === claimed, state: matches ? input.to : state };
    }
  }
}

function describeRegister(input: RegisterInput, output: RegisterOutput | undefined): string {
  const show = (v: RegisterValue | undefined): string => (v === undefined ? '?' : v === null ? 'nil' : String(v));
  switch (input.f) {
    case 'read':
      return `read → ${output === undefined ? '?' : show(output.value)}`;
    case 'write':
      return `write ${show(input.value)}`;
    case 'cas':
      return `cas ${show(input.from)}→${show(input.to)}${output?.matched === false ? ' (did not match)' : ''}`;
  }
}
