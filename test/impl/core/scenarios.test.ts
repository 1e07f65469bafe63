/**
 * Named scenarios for the reference core (issue 3), each a short script citing the rule or the
 * paper figure it shows. The host is test/support/core-harness.ts: the Ready contract with a
 * memory disk, and a network the script controls.
 */
import { describe, expect, it } from 'vitest';
import type { AppendEntries, RequestVote } from '../../../spec/schemas/messages.ts';
import { encodeCommand } from '../../../impl/kv/command.ts';
import { KvStore } from '../../../impl/kv/store.ts';
import { CoreCluster, within } from '../../support/core-harness.ts';

const three = ['n1', 'n2', 'n3'];
const five = ['n1', 'n2', 'n3', 'n4', 'n5'];

function proposeAll(c: CoreCluster, leader: string, from: number, to: number): void {
  for (let i = from; i <= to; i++) {
    expect(c.node(leader).propose(`cmd-${i}`)).toMatchObject({ ok: true });
    c.deliver();
  }
}
const cmds = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, k) => `cmd-${from + k}`);

describe('elections', () => {
  it('P-1, P-2, M-VOTE: a node votes in term 5, crashes, restarts, and refuses another candidate in term 5', () => {
    const c = new CoreCluster({ ids: three });
    const vote = (candidate: string): void => {
      const msg: RequestVote = { type: 'RequestVote', term: 5, candidateId: candidate, lastLogIndex: 0, lastLogTerm: 0 };
      c.node('n3').step({ from: candidate, to: 'n3', msg });
      c.process('n3');
    };
    vote('n1');
    expect(c.network.pop()?.msg).toMatchObject({ type: 'RequestVoteResponse', term: 5, voteGranted: true });
    expect(c.host('n3').disk.hardState).toMatchObject({ currentTerm: 5, votedFor: 'n1' });
    c.crash('n3');
    c.restart('n3');
    vote('n2');
    expect(c.network.pop()?.msg).toMatchObject({ type: 'RequestVoteResponse', term: 5, voteGranted: false });
    expect(c.node('n3').status()).toMatchObject({ currentTerm: 5, votedFor: 'n1' });
  });

  it('S-ES: a 5-node cluster split [2,3] has at most one leader per side; healed, it has one', () => {
    const c = new CoreCluster({ ids: five, seed: 3 });
    c.elect('n1');
    const sides = [['n1', 'n2'], ['n3', 'n4', 'n5']];
    const partitioned = within(sides);
    // The majority side elects its own leader; the old leader keeps believing (it cannot commit).
    c.elect('n3', partitioned);
    for (const side of sides) expect(c.leaders().filter((l) => side.includes(l)).length).toBeLessThanOrEqual(1);
    expect(c.leaders()).toContain('n3');
    // Healed: the higher term reaches n1 and n2 (ALL-2); one leader remains.
    c.heartbeat('n3', 3);
    expect(c.leaders()).toEqual(['n3']);
    const terms = new Set(five.map((id) => c.node(id).status().currentTerm));
    expect(terms.size).toBe(1);
  });

  it('C-4: a split vote resolves within a bounded number of election rounds (randomized timeouts, §5.2)', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const c = new CoreCluster({ ids: five, seed });
      // Everyone times out together once: votes split among candidates.
      for (const id of five) c.campaign(id);
      c.deliver();
      let rounds = 0;
      while (c.leaders().length === 0 && rounds < 10) {
        // Time passes for everyone; whoever times out first campaigns; messages flow.
        for (let t = 0; t < 20 && c.leaders().length === 0; t++) {
          for (const id of five) c.tick(id);
          c.deliver();
        }
        rounds++;
      }
      expect(c.leaders(), `seed ${seed}`).toHaveLength(1);
      expect(rounds, `seed ${seed}`).toBeLessThanOrEqual(3);
    }
  });
});

describe('replication', () => {
  it('L-2, S-SMS: 100 commands are replicated and applied in the same order everywhere', () => {
    const c = new CoreCluster({ ids: three });
    c.elect('n1');
    proposeAll(c, 'n1', 1, 100);
    c.heartbeat('n1', 2);
    for (const id of three) expect(c.appliedData(id)).toEqual(cmds(1, 100));
  });

  it('P-2, L-3: a follower down for 10 commands catches up after restart', () => {
    const c = new CoreCluster({ ids: three });
    c.elect('n1');
    proposeAll(c, 'n1', 1, 5);
    c.crash('n3');
    proposeAll(c, 'n1', 6, 15);
    expect(c.appliedData('n1')).toEqual(cmds(1, 15));
    c.restart('n3');
    c.heartbeat('n1', 3);
    expect(c.appliedData('n3')).toEqual(cmds(1, 15));
  });

  it('S-LC: the leader killed after 50 commands; a new leader; all 100 applied in the same order', () => {
    const c = new CoreCluster({ ids: five, seed: 2 });
    c.elect('n1');
    proposeAll(c, 'n1', 1, 50);
    c.heartbeat('n1');
    c.crash('n1');
    c.elect('n2');
    expect(c.leaders()).toEqual(['n2']);
    proposeAll(c, 'n2', 51, 100);
    c.restart('n1');
    c.heartbeat('n2', 3);
    for (const id of five) expect(c.appliedData(id), id).toEqual(cmds(1, 100));
  });

  it('kill 2 of 5, keep writing, restart them: all commands applied everywhere', () => {
    const c = new CoreCluster({ ids: five, seed: 4 });
    c.elect('n1');
    proposeAll(c, 'n1', 1, 20);
    c.crash('n4');
    c.crash('n5');
    proposeAll(c, 'n1', 21, 60);
    expect(c.appliedData('n1')).toEqual(cmds(1, 60));
    c.restart('n4');
    c.restart('n5');
    c.heartbeat('n1', 4);
    for (const id of five) expect(c.appliedData(id), id).toEqual(cmds(1, 60));
  });

  it('batching and pipelining: a lagging follower is repaired in few messages, never more than maxInflight unacknowledged', () => {
    const c = new CoreCluster({ ids: three, config: { maxEntriesPerMessage: 10, maxInflightMessages: 3 } });
    c.elect('n1');
    c.crash('n3');
    for (let i = 1; i <= 200; i++) c.node('n1').propose(`cmd-${i}`);
    c.deliver();
    c.restart('n3');
    const before = c.network.length;
    c.heartbeat('n1', 1, () => true);
    expect(before).toBe(0);
    // Count AppendEntries to n3 carrying entries while it catches up.
    let carrying = 0;
    for (let round = 0; round < 40 && c.appliedData('n3').length < 200; round++) {
      c.tick('n1', 2);
      carrying += c.network.filter((m) => m.to === 'n3' && m.msg.type === 'AppendEntries' && m.msg.entries.length > 0).length;
      const toN3 = c.network.filter((m) => m.to === 'n3' && m.msg.type === 'AppendEntries' && m.msg.entries.length > 0).length;
      expect(toN3).toBeLessThanOrEqual(3);
      c.deliver();
    }
    expect(c.appliedData('n3')).toEqual(cmds(1, 200));
    expect(carrying).toBeLessThanOrEqual(25);
  });
});

describe('snapshots (§7, Figure 13)', () => {
  it('15,000 entries with threshold 10,000: a snapshot exists; a restarted node recovers from snapshot plus suffix', () => {
    const c = new CoreCluster({ ids: three, snapshotThresholdEntries: 10_000 });
    c.elect('n1');
    for (let i = 1; i <= 15_000; i++) {
      c.node('n1').propose(`cmd-${i}`);
      if (i % 500 === 0) c.deliver();
    }
    c.heartbeat('n1', 2);
    for (const id of three) {
      expect(c.compactions.get(id), id).toBeGreaterThanOrEqual(1);
      expect(c.node(id).status().snapshotIndex).toBeGreaterThanOrEqual(10_000);
    }
    c.crash('n2');
    c.restart('n2');
    const status = c.node('n2').status();
    expect(status.snapshotIndex).toBeGreaterThanOrEqual(10_000);
    expect(status.lastIndex).toBe(15_001);
    expect(c.appliedData('n2')).toEqual(cmds(1, 15_000));
  });

  it('IS-6/IS-7: a partitioned follower rejoins after the leader compacted; InstallSnapshot in chunks brings it up to date', () => {
    let chunks = 0;
    const c = new CoreCluster({
      ids: three,
      snapshotThresholdEntries: 100,
      config: { snapshotChunkBytes: 1024 },
      sink: (e) => {
        if (e.ev === 'recv' && e.node === 'n3' && e.msg.type === 'InstallSnapshot') chunks++;
      },
    });
    c.elect('n1');
    proposeAll(c, 'n1', 1, 10);
    const cut = within([['n1', 'n2'], ['n3']]);
    for (let i = 11; i <= 400; i++) {
      c.node('n1').propose(`cmd-${i}`);
      c.deliver(cut);
      c.drop();
    }
    c.heartbeat('n1', 1, cut);
    c.drop();
    expect(c.node('n1').status().snapshotIndex).toBeGreaterThan(10);
    // Heal: the leader finds n3 behind its snapshot and sends it in chunks.
    for (let round = 0; round < 200 && c.appliedData('n3').length < 400; round++) {
      c.tick('n1', 2);
      c.deliver();
    }
    expect(chunks).toBeGreaterThan(1);
    expect(c.appliedData('n3')).toEqual(cmds(1, 400));
    expect(c.node('n3').status().snapshotIndex).toBeGreaterThan(10);
  });
});

describe('clients (§8)', () => {
  it('CL-ONCE: a command retried with the same (clientId, seq) after a failover takes effect once', () => {
    const c = new CoreCluster({ ids: three, seed: 6 });
    c.elect('n1');
    // A compare-and-set from "absent": applied twice without sessions, the retry would fail.
    const cas = encodeCommand({ clientId: 'c1', seq: 1, op: { kind: 'cas', key: 'x', expected: null, value: 'a' } });
    c.node('n1').propose(cas);
    c.deliver();
    c.heartbeat('n1');
    // The leader dies before the client hears back; the client retries the same command elsewhere.
    c.crash('n1');
    c.elect('n2');
    c.node('n2').propose(cas);
    c.deliver();
    c.heartbeat('n2', 2);
    const applied = c.host('n3').applied;
    expect(applied.filter((e) => e.data === cas)).toHaveLength(2);
    const kv = new KvStore();
    const outcomes = applied.map((e) => (e.kind === 'command' ? kv.apply(e.index, e.data) : (kv.skip(e.index), undefined))).filter((o) => o !== undefined);
    expect(outcomes).toEqual([{ kind: 'ok' }, { kind: 'duplicate', outcome: { kind: 'ok' } }]);
    expect(kv.get('x')).toBe('a');
  });
});

describe('reads (§8)', () => {
  it('CL-NOOP / ReadIndex: a leader partitioned from the majority never serves a read; the new leader does', () => {
    const c = new CoreCluster({ ids: five, seed: 5 });
    c.elect('n1');
    proposeAll(c, 'n1', 1, 3);
    c.heartbeat('n1');
    const minority = within([['n1', 'n2'], ['n3', 'n4', 'n5']]);
    expect(c.node('n1').readIndex('old-read')).toEqual({ ok: true });
    c.heartbeat('n1', 5, minority);
    expect(c.host('n1').readStates).toEqual([]);
    c.elect('n3', minority);
    expect(c.leaders()).toContain('n3');
    expect(c.node('n3').readIndex('new-read')).toEqual({ ok: true });
    c.heartbeat('n3', 2, minority);
    expect(c.host('n3').readStates.map((r) => r.ctx)).toEqual(['new-read']);
    expect(c.host('n3').readStates[0]?.index).toBeGreaterThanOrEqual(4);
    // Healed: n1 learns of term change, steps down, and its old read is never answered.
    c.heartbeat('n3', 2);
    expect(c.node('n1').status().role).toBe('follower');
    expect(c.host('n1').readStates).toEqual([]);
    expect(c.node('n1').readIndex('late')).toEqual({ ok: false, reason: 'not-leader', leaderHint: 'n3' });
  });

  it('proposals only on the leader: a follower answers with the leader hint', () => {
    const c = new CoreCluster({ ids: three });
    c.elect('n2');
    expect(c.node('n1').propose('x')).toEqual({ ok: false, reason: 'not-leader', leaderHint: 'n2' });
  });
});

describe('paper figures', () => {
  it('Figure 7: a new leader brings each of six divergent follower logs into line (AE-2, AE-3, fast backtracking)', () => {
    // Terms of the entries, per server, as in Figure 7 of the paper (the leader's is the top row).
    const logs: Record<string, number[]> = {
      leader: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6],
      a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
      b: [1, 1, 1, 4],
      c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
      d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
      e: [1, 1, 1, 4, 4, 4, 4],
      f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
    };
    const ids = Object.keys(logs);
    const c = new CoreCluster({ ids });
    for (const id of ids) {
      const disk = c.host(id).disk;
      disk.entries = (logs[id] ?? []).map((term, k) => ({ index: k + 1, term, kind: 'command' as const, data: `t${term}i${k + 1}` }));
      disk.hardState = { currentTerm: 7, votedFor: null, commitIndex: 0 };
      c.restart(id);
    }
    // The leader of term 8 (its log is at least as up-to-date as a majority's: leader, a, b, c, e, f vote).
    c.campaign('leader');
    c.deliver((m) => m.to !== 'd' && m.from !== 'd');
    expect(c.leaders()).toEqual(['leader']);
    c.heartbeat('leader', 12);
    const expected = c.node('leader').entries().map((e) => `${e.index}:${e.term}`);
    expect(expected).toHaveLength(11); // the ten of the figure plus the term-8 no-op
    for (const id of ['a', 'b', 'c', 'e', 'f']) {
      expect(c.node(id).entries().map((e) => `${e.index}:${e.term}`), id).toEqual(expected);
    }
  });

  it('Figure 8 (L-4): an earlier-term entry on a majority is not committed, and is safely overwritten', () => {
    // One entry per AppendEntries, so the script can let the old entry through and hold back the no-op.
    const c = new CoreCluster({ ids: five, seed: 8, config: { maxEntriesPerMessage: 1 } });
    const among = (ids: string[]) => (m: { from: string; to: string }) => ids.includes(m.from) && ids.includes(m.to);
    // (a) S1 leads and replicates an entry to S2 only.
    c.elect('n1');
    c.heartbeat('n1');
    c.node('n1').propose('old-term-entry');
    const oldIndex = c.node('n1').status().lastIndex;
    const oldTerm = c.node('n1').status().currentTerm;
    c.deliver(among(['n1', 'n2']));
    c.drop();
    // (b) S1 crashes; S5 is elected by S3, S4 and itself (votes only: nothing of S5's log spreads),
    // appends entries of its term — its no-op lands at the same index — and crashes.
    c.crash('n1');
    c.elect('n5', (m) => among(['n3', 'n4', 'n5'])(m) && m.msg.type !== 'AppendEntries');
    expect(c.leaders()).toEqual(['n5']);
    c.drop();
    c.node('n5').propose('s5-entry');
    c.process('n5');
    c.drop();
    c.crash('n5');
    // (c) S1 restarts and is elected in a later term; the old entry reaches S3, but S1's new no-op
    // must not: S3 may see it only while it would reject it (before it holds the old entry).
    c.restart('n1');
    const noopToS3Accepted = (m: { to: string; msg: { type: string } } & { msg: unknown }): boolean =>
      m.to === 'n3' &&
      (m.msg as { type: string; entries?: { kind?: string }[] }).entries?.some((e) => e.kind === 'noop') === true &&
      c.node('n3').status().lastIndex >= oldIndex;
    c.elect('n1', (m) => among(['n1', 'n2', 'n3'])(m) && !noopToS3Accepted(m));
    expect(c.leaders()).toEqual(['n1']);
    for (const id of ['n1', 'n2', 'n3']) expect(c.node(id).entries(oldIndex, oldIndex)[0]?.data, id).toBe('old-term-entry');
    // On a majority, yet not committed: its term is not S1's current term.
    expect(c.node('n1').status().currentTerm).toBeGreaterThan(oldTerm);
    expect(c.node('n1').status().commitIndex).toBeLessThan(oldIndex);
    // (d) S1 crashes; S5 restarts and wins (its last term is higher) and overwrites the entry everywhere.
    c.crash('n1');
    c.drop();
    c.restart('n5');
    c.elect('n5', among(['n2', 'n3', 'n4', 'n5']));
    expect(c.leaders()).toEqual(['n5']);
    c.heartbeat('n5', 4, among(['n2', 'n3', 'n4', 'n5']));
    const s5Term = c.node('n5').entries(oldIndex, oldIndex)[0]?.term ?? 0;
    expect(s5Term).toBeGreaterThan(oldTerm);
    for (const id of ['n2', 'n3', 'n4', 'n5']) {
      expect(c.node(id).entries(oldIndex, oldIndex)[0]?.term, id).toBe(s5Term);
      expect(c.appliedData(id), id).toContain('s5-entry');
      expect(c.appliedData(id), id).not.toContain('old-term-entry');
    }
  });

  it('Figure 8 (L-4), exactly: acknowledgements of earlier-term entries alone never advance commitIndex', () => {
    const c = new CoreCluster({ ids: five, seed: 9 });
    const node = c.host('n1');
    node.disk.entries = [
      { index: 1, term: 1, kind: 'command', data: 'a' },
      { index: 2, term: 2, kind: 'command', data: 'b' },
    ];
    node.disk.hardState = { currentTerm: 3, votedFor: null, commitIndex: 0 };
    c.restart('n1');
    c.campaign('n1');
    c.deliver((m) => m.msg.type === 'RequestVote' || m.msg.type === 'RequestVoteResponse');
    expect(c.leaders()).toEqual(['n1']);
    c.drop();
    const term = c.node('n1').status().currentTerm;
    // Followers acknowledge index 2 (term 2) but not the leader's no-op at index 3.
    for (const follower of ['n2', 'n3']) {
      c.node('n1').step({ from: follower, to: 'n1', msg: { type: 'AppendEntriesResponse', term, success: true, matchIndex: 2 } });
      c.process('n1');
    }
    expect(c.node('n1').status().commitIndex).toBe(0);
    // One acknowledgement of the current-term no-op from each of two followers commits everything through it.
    for (const follower of ['n2', 'n3']) {
      c.node('n1').step({ from: follower, to: 'n1', msg: { type: 'AppendEntriesResponse', term, success: true, matchIndex: 3 } });
      c.process('n1');
    }
    expect(c.node('n1').status().commitIndex).toBe(3);
  });
});

describe('AppendEntries receiver details', () => {
  it('AE-3: a delayed, shorter AppendEntries does not truncate entries the follower already has (B11)', () => {
    const c = new CoreCluster({ ids: three });
    c.elect('n1');
    proposeAll(c, 'n1', 1, 3);
    c.heartbeat('n1');
    const term = c.node('n1').status().currentTerm;
    const stale: AppendEntries = { type: 'AppendEntries', term, leaderId: 'n1', prevLogIndex: 0, prevLogTerm: 0, entries: [{ index: 1, term, kind: 'noop' }], leaderCommit: 0 };
    const before = c.node('n2').entries().length;
    c.node('n2').step({ from: 'n1', to: 'n2', msg: stale });
    c.process('n2');
    expect(c.node('n2').entries().length).toBe(before);
  });
});
