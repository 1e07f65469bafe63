/**
 * The executable spec: trace format v1 and RPC schemas, the rule catalog, the server statechart
 * (Figure 2 + Figure 13) with its guards and effects, and the Figure 3 safety predicates.
 */
export * from './schemas/index.ts';
export * from './rules.ts';
export * from './invariants.ts';
export * from './statechart/log.ts';
export * from './statechart/server-context.ts';
export * as guards from './statechart/guards.ts';
export * as effects from './statechart/effects.ts';
export { serverMachine, type ServerMachine, type TransitionMeta } from './statechart/server-machine.ts';
