/**
 * The statechart's shape: every state and every transition is reachable (xstate/graph paths), every
 * transition cites rules of the catalog, and the machine stays traversable (no `after`, no
 * `invoke`). The path counts are pinned so that a change in the machine's shape shows up here and
 * is looked at, not slipped in.
 */
import { createActor, type AnyStateNode, type AnyTransitionDefinition } from 'xstate';
import { createTestModel, getShortestPaths } from 'xstate/graph';
import { describe, expect, it } from 'vitest';
import { RULE_IDS } from '../../spec/rules.ts';
import type { ServerEvent, ServerInput } from '../../spec/statechart/server-context.ts';
import { serverMachine } from '../../spec/statechart/server-machine.ts';
import { representativeEvents } from '../support/spec-events.ts';
import type { ServerSnapshot } from '../support/spec-node.ts';

const input: ServerInput = { id: 'n1', voters: ['n1', 'n2', 'n3'] };
const events = (snapshot: ServerSnapshot): ServerEvent[] => representativeEvents(snapshot.context);

const guardName = (t: AnyTransitionDefinition): string => (t.guard as { type?: string } | undefined)?.type ?? '';

/** Every transition definition of the machine, with a readable name. */
function allTransitions(): Map<AnyTransitionDefinition, string> {
  const found = new Map<AnyTransitionDefinition, string>();
  const visit = (node: AnyStateNode): void => {
    for (const [eventType, list] of node.transitions) {
      list.forEach((t, i) => found.set(t, `${node.id} on ${eventType} #${i} [${guardName(t)}]`));
    }
    (node.always ?? []).forEach((t, i) => found.set(t, `${node.id} always #${i} [${guardName(t)}]`));
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(serverMachine.root);
  return found;
}

/** An abstraction of a snapshot small enough to enumerate, fine enough to enable every guard. */
function abstractState(snapshot: ServerSnapshot): string {
  const c = snapshot.context;
  return JSON.stringify({
    value: snapshot.value,
    term: Math.min(c.currentTerm, 2),
    votedFor: c.votedFor,
    last: Math.min(c.snapshot.lastIncludedIndex + c.log.length, 2),
    commit: Math.min(c.commitIndex, 2),
    compacted: Math.min(c.snapshot.lastIncludedIndex, 1),
  });
}

describe('server statechart shape', () => {
  it('reaches every state: follower, candidate, leader and down (pinned: 4 shortest paths)', () => {
    const paths = getShortestPaths(serverMachine, { input, events, serializeState: (s) => JSON.stringify(s.value) });
    const reached = paths.map((p) => JSON.stringify(p.state.value)).sort();
    expect(reached).toEqual(['"down"', '{"up":"candidate"}', '{"up":"follower"}', '{"up":"leader"}']);
    const toLeader = paths.find((p) => p.state.matches({ up: 'leader' }));
    expect(toLeader?.steps.map((s) => s.event.type)).toEqual(['xstate.init', 'ELECTION_TIMEOUT', 'REQUEST_VOTE_RESPONSE']);
  });

  it('takes every transition on some path (pinned: 177 abstract states, 56 transitions)', () => {
    const paths = getShortestPaths(serverMachine, { input, events, serializeState: abstractState });
    expect(paths).toHaveLength(177);

    const transitions = allTransitions();
    expect(transitions.size).toBe(56);
    const taken = new Set<AnyTransitionDefinition>();
    const replay = (prefix: readonly ServerEvent[], last: ServerEvent): void => {
      const actor = createActor(serverMachine, {
        input,
        inspect: (e) => {
          if (e.type === '@xstate.microstep') for (const t of e._transitions) taken.add(t);
        },
      });
      actor.start();
      for (const event of prefix) actor.send(event);
      actor.send(last);
      actor.stop();
    };
    for (const path of paths) {
      const prefix = path.steps.slice(1).map((s) => s.event);
      for (const next of events(path.state)) replay(prefix, next);
    }
    const missing = [...transitions].filter(([t]) => !taken.has(t)).map(([, name]) => name);
    expect(missing).toEqual([]);
  });

  it('cites at least one catalog rule on every transition', () => {
    const known = new Set<string>(RULE_IDS);
    for (const [t, name] of allTransitions()) {
      const rules = (t.meta as { rules?: unknown } | undefined)?.rules;
      expect(Array.isArray(rules) && rules.length > 0, `${name} cites no rule`).toBe(true);
      for (const id of rules as string[]) expect(known.has(id), `${name} cites unknown rule ${id}`).toBe(true);
    }
  });

  it('is traversable by a test model: no delayed transitions, no invoked actors', () => {
    // createTestModel rejects machines with `after` or `invoke`: timers must be events.
    expect(() => createTestModel(serverMachine, { events })).not.toThrow();
    const visit = (node: AnyStateNode): void => {
      expect(node.after, `${node.id} has delayed transitions`).toEqual([]);
      expect(node.invoke, `${node.id} invokes actors`).toEqual([]);
      for (const child of Object.values(node.states)) visit(child);
    };
    visit(serverMachine.root);
  });
});
