/** Trace format v1 and the RPC messages, as Zod schemas with their inferred types. */
export * from './primitives.ts';
export * from './messages.ts';
export * from './client.ts';
export * from './trace-events.ts';
