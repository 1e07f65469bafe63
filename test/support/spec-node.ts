/**
 * Test harness for the spec statechart: build a server in any role with any Figure 2 state, step
 * it with one event through XState's pure `transition()`, and read what it sent and applied.
 */
import { transition } from 'xstate';
import type { Message } from '../../spec/schemas/messages.ts';
import type { LogEntry } from '../../spec/schemas/trace-events.ts';
import {
  initialContext,
  type ServerContext,
  type ServerEmitted,
  type ServerEvent,
} from '../../spec/statechart/server-context.ts';
import { serverMachine } from '../../spec/statechart/server-machine.ts';

export type ServerSnapshot = ReturnType<typeof serverMachine.resolveState>;
export type RoleName = 'follower' | 'candidate' | 'leader' | 'down';

/** Log entries with consecutive indices from `first` (default 1), one per term given. */
export function entries(terms: readonly number[], first = 1): LogEntry[] {
  return terms.map((term, k) => ({ index: first + k, term }));
}

/** A server in `role` whose state is Figure 2's initial state overridden by `state`. */
export function serverAt(
  role: RoleName,
  state: Partial<ServerContext> & { readonly id?: string; readonly voters?: readonly string[] } = {},
): ServerSnapshot {
  const id = state.id ?? 'n1';
  const voters = state.voters ?? ['n1', 'n2', 'n3'];
  const context: ServerContext = { ...initialContext({ id, voters }), ...state };
  return serverMachine.resolveState({ value: role === 'down' ? 'down' : { up: role }, context });
}

export interface StepResult {
  readonly snapshot: ServerSnapshot;
  readonly context: ServerContext;
  readonly role: RoleName;
  readonly sent: readonly { readonly to: string; readonly msg: Message }[];
  readonly applied: readonly { readonly index: number; readonly term: number }[];
  readonly emitted: readonly ServerEmitted[];
}

/** The role a snapshot is in. */
export function roleOf(snapshot: ServerSnapshot): RoleName {
  if (snapshot.matches('down')) return 'down';
  if (snapshot.matches({ up: 'leader' })) return 'leader';
  if (snapshot.matches({ up: 'candidate' })) return 'candidate';
  return 'follower';
}

/** Step with one event; collect the emitted events. */
export function step(snapshot: ServerSnapshot, event: ServerEvent): StepResult {
  const [next, actions] = transition(serverMachine, snapshot, event);
  const emitted: ServerEmitted[] = [];
  for (const action of actions as readonly { readonly type: string; readonly params?: unknown }[]) {
    // XState returns emits as 'xstate.emit' actions; the typed union of action names omits it.
    if (action.type === 'xstate.emit') emitted.push((action.params as { event: ServerEmitted }).event);
  }
  return {
    snapshot: next,
    context: next.context,
    role: roleOf(next),
    emitted,
    sent: emitted.flatMap((e) => (e.type === 'SEND' ? [{ to: e.to, msg: e.msg }] : [])),
    applied: emitted.flatMap((e) => (e.type === 'APPLY' ? [{ index: e.index, term: e.term }] : [])),
  };
}

/** Step through several events in order; the result of the last. */
export function steps(snapshot: ServerSnapshot, events: readonly ServerEvent[]): StepResult {
  let result: StepResult | undefined;
  let current = snapshot;
  for (const event of events) {
    result = step(current, event);
    current = result.snapshot;
  }
  if (result === undefined) throw new Error('steps() needs at least one event');
  return result;
}

/** The only message sent in a step (fails the test when there is not exactly one). */
export function onlySent(result: StepResult): { readonly to: string; readonly msg: Message } {
  if (result.sent.length !== 1) throw new Error(`expected exactly one message, got ${JSON.stringify(result.sent)}`);
  return result.sent[0]!;
}
