/**
 * A real host steps the core while a Ready is still being persisted (impl/server/node-host.ts
 * awaits the fsync; the simulator never does). Two trace bugs the chaos test found that way, on
 * real processes, pinned here on a bare RaftNode:
 *
 * 1. P-2: a snapshot installed while a Ready was out moved stableIndex on, and that Ready's
 *    `persist` claimed the snapshot's index as durable — a restart then showed less (seed 11, n5).
 * 2. ALL-1: the outstanding Ready's `apply` events came out after the `restore` that superseded
 *    them, although the host applies them first (seed 11, n1).
 */
import { describe, expect, it } from 'vitest';
import { RaftNode } from '../../../impl/core/raft-node.ts';
import { DEFAULT_CONFIG, type Entry } from '../../../impl/core/types.ts';
import type { Message } from '../../../spec/schemas/messages.ts';
import type { TraceEvent } from '../../../spec/schemas/trace-events.ts';
import { TraceChecker } from '../../../traces/checker/checker.ts';

function scenario(): TraceEvent[] {
  const events: TraceEvent[] = [{ ev: 'header', format: 'raft-trace', version: 1, cluster: ['n1', 'n2', 'n3'] }];
  const node = new RaftNode({ ...DEFAULT_CONFIG, id: 'n2', voters: ['n1', 'n2', 'n3'] }, { rng: { int: (from) => from }, sink: (e) => void events.push(e) });
  const entries: Entry[] = [1, 2, 3, 4, 5].map((index) => ({ index, term: 1, kind: 'command', data: `c${index}` }));
  const ae = { type: 'AppendEntries', term: 1, leaderId: 'n1', prevLogIndex: 0, prevLogTerm: 0, entries: entries.map((e) => ({ index: e.index, term: e.term, kind: e.kind, digest: e.data })), leaderCommit: 5 } as Message;
  events.push({ ev: 'send', node: 'n1', to: 'n2', msg: ae });
  node.step({ from: 'n1', to: 'n2', msg: ae });
  const first = node.ready(); // entries 1–5 and their commit: being persisted…
  expect(first.committedEntries.length).toBeGreaterThan(0);
  const snapshot = { type: 'InstallSnapshot', term: 1, leaderId: 'n1', lastIncludedIndex: 10, lastIncludedTerm: 1, offset: 0, done: true, data: 'x', voters: ['n1', 'n2', 'n3'] } as Message;
  events.push({ ev: 'send', node: 'n1', to: 'n2', msg: snapshot });
  node.step({ from: 'n1', to: 'n2', msg: snapshot }); // …when a snapshot arrives
  node.advance(first.number);
  const second = node.ready();
  expect(second.snapshot?.lastIncludedIndex).toBe(10);
  node.advance(second.number);
  return events;
}

describe('trace of a Ready that is outstanding while the core is stepped', () => {
  it('persist claims only what that Ready made durable, not a snapshot installed meanwhile (P-2)', () => {
    const events = scenario();
    const persists = events.filter((e): e is Extract<TraceEvent, { ev: 'persist' }> => e.ev === 'persist');
    expect(persists[0]?.lastIndex).toBe(5);
    expect(persists[persists.length - 1]?.lastIndex).toBe(10);
  });

  it("the outstanding Ready's applies come before the restore that supersedes them (ALL-1)", () => {
    const events = scenario();
    const order = events.filter((e) => e.node === 'n2' && (e.ev === 'apply' || e.ev === 'restore')).map((e) => e.ev);
    expect(order.indexOf('restore')).toBeGreaterThan(order.lastIndexOf('apply'));
    const checker = new TraceChecker();
    events.forEach((event, i) => checker.feed({ file: 'outstanding', line: i + 1, event }));
    expect(checker.errors).toEqual([]);
    expect(checker.finish().violations).toEqual([]);
  });
});
