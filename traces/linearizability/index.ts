/**
 * CL-LIN: linearizability checking of client histories (Wing & Gong search with Lowe's cache,
 * partitioned by key as in Porcupine). See check.ts for the entry point.
 */
export type { HistoryOp, KeyStats, LinOptions, LinResult, LinViolation, Model, OpStatus, StepResult, UnknownReason } from './types.ts';
export { checkLinearizability, partitionByKey, DEFAULT_MAX_STEPS, DEFAULT_SHRINK_MAX_STEPS } from './check.ts';
export { KeySearch, searchLinearization, type SearchBudget, type SearchOutcome } from './search.ts';
export { shrinkViolation, type ShrinkOptions, type Shrunk } from './shrink.ts';
export { historyFromEvents, type EventHistory, type HistoryError } from './history.ts';
export { checkClientHistory, toLinearizabilityResult, describeViolation, type ClientHistoryCheck, type LocatedHistoryError } from './cl-lin.ts';
export { kvModel, type KvInput, type KvOutput, type KvState } from './models/kv.ts';
export { registerModel, REGISTER_KEY, type RegisterInput, type RegisterOutput, type RegisterValue } from './models/register.ts';
export { listAppendModel, type ListAppendInput, type ListAppendOutput, type ListAppendState } from './models/list-append.ts';
