/**
 * CL-LIN model for Jepsen-style append histories (the `kv` histories of Porcupine's test data):
 * per key, a value built by appending; `append k v` adds `v` at the end, `put k v` replaces the
 * value, `get k` returns the whole value; a key never written reads as empty.
 *
 * Interpretation of the data (checked against the `-ok` / `-bad` file names and VERDICTS.txt):
 * values are strings and appending is string concatenation — `get` returns e.g.
 * `"x 0 2 yx 0 5 y"` after appends of `"x 0 2 y"` and `"x 0 5 y"`, and `""` for a key never
 * written. Every appended element is unique and delimited (`x <process> <n> y`), so the string is
 * a faithful encoding of the list of appended elements: comparing strings compares lists. The
 * model keeps the string itself, plus an incrementally maintained hash so that an append costs
 * the length of the element, not of the whole value.
 */
import type { Model, StepResult } from '../types.ts';
import { EMPTY_HASH, extendHash } from './hash.ts';

export type ListAppendInput =
  | { readonly f: 'append'; readonly key: string; readonly value: string }
  | { readonly f: 'put'; readonly key: string; readonly value: string }
  | { readonly f: 'get'; readonly key: string };

/** A get's result; appends and puts return nothing. */
export interface ListAppendOutput {
  readonly value?: string | undefined;
}

/** One key's value, with `hash === extendHash(EMPTY_HASH, value)`. */
export interface ListAppendState {
  readonly value: string;
  readonly hash: number;
}

const EMPTY: ListAppendState = { value: '', hash: EMPTY_HASH };

export const listAppendModel: Model<ListAppendState, ListAppendInput, ListAppendOutput> = {
  name: 'list-append',
  init: () => EMPTY,
  step: listAppendStep,
  partition: (input) => input.key,
  equal: (a, b) => a === b || (a.hash === b.hash && a.value === b.value),
  hash: (state) => state.hash,
  readOnly: (input) => input.f === 'get',
  describe: describeListAppend,
};

function listAppendStep(state: ListAppendState, input: ListAppendInput, output: ListAppendOutput | undefined): StepResult<ListAppendState> {
  switch (input.f) {
    case 'get':
      return { ok: output?.value === undefined || output.value === state.value, state };
    case 'append':
      return { ok: true, state: { value: state.value + input.value, hash: extendHash(state.hash, input.value) } };
    case 'put':
      return { ok: true, state: { value: input.value, hash: extendHash(EMPTY_HASH, input.value) } };
  }
}

function describeListAppend(input: ListAppendInput, output: ListAppendOutput | undefined): string {
  switch (input.f) {
    case 'get':
      return `get ${input.key} → ${output?.value === undefined ? '?' : JSON.stringify(output.value)}`;
    case 'append':
      return `append ${input.key} ${JSON.stringify(input.value)}`;
    case 'put':
      return `put ${input.key} ${JSON.stringify(input.value)}`;
  }
}
