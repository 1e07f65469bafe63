/**
 * The Figure 3 safety predicates (spec/invariants.ts): hand-written cases that hold and that
 * break each property — including the paper's Figure 7 and Figure 8 and the B11 truncation bug
 * from the bug catalogue — and property tests that build logs the Raft way, check the predicates
 * accept them, then break one entry and check the predicates name it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkSafety,
  electionSafety,
  leaderAppendOnly,
  leaderCompleteness,
  logMatching,
  stateMachineSafety,
  type AppliedRecord,
  type ClusterView,
  type EntryView,
  type InvariantViolation,
  type NodeView,
} from '../../spec/invariants.ts';

// ---------------------------------------------------------------------------------------------
// Builders. A log is written as its terms, index 1 first; each entry's digest defaults to one
// derived from (index, term), so logs that agree on (index, term) agree on the command unless a
// test says otherwise.

const digestOf = (index: number, term: number): string => `t${term}@${index}`;

interface NodeOptions {
  readonly currentTerm?: number;
  readonly role?: NodeView['role'];
  /** Compacts entries 1..snapshotIndex of `terms` into the snapshot. */
  readonly snapshotIndex?: number;
  readonly digests?: Readonly<Record<number, string>>;
  readonly commitIndex?: number;
}

function entries(terms: readonly number[], digests: Readonly<Record<number, string>> = {}): EntryView[] {
  return terms.map((term, k) => ({ index: k + 1, term, digest: digests[k + 1] ?? digestOf(k + 1, term) }));
}

function node(id: string, terms: readonly number[], options: NodeOptions = {}): NodeView {
  const snapshotIndex = options.snapshotIndex ?? 0;
  const all = entries(terms, options.digests);
  return {
    id,
    currentTerm: options.currentTerm ?? Math.max(0, ...terms),
    role: options.role ?? 'follower',
    snapshotIndex,
    snapshotTerm: snapshotIndex === 0 ? 0 : (all[snapshotIndex - 1]?.term ?? 0),
    log: all.slice(snapshotIndex),
    commitIndex: options.commitIndex ?? 0,
  };
}

function cluster(parts: Partial<ClusterView> & Pick<ClusterView, 'nodes'>): ClusterView {
  return { leaders: [], committed: [], applied: [], ...parts };
}

/** The identifying parts of violations, for exact comparison. */
const summary = (violations: readonly InvariantViolation[]) =>
  violations.map(({ rule, nodes, index }) => ({ rule, nodes, index }));

// ---------------------------------------------------------------------------------------------

describe('electionSafety (S-ES)', () => {
  it('holds with one leader per term, counting a current leader that is also in the history', () => {
    const view = cluster({
      nodes: [node('n1', [1], { role: 'leader', currentTerm: 3 }), node('n2', [1], { currentTerm: 3 })],
      leaders: [{ term: 1, node: 'n1' }, { term: 2, node: 'n2' }, { term: 3, node: 'n1' }, { term: 3, node: 'n1' }],
    });
    expect(electionSafety(view)).toEqual([]);
  });

  it('reports two leaders in one term from the history', () => {
    const view = cluster({
      nodes: [node('n1', []), node('n2', []), node('n3', [])],
      leaders: [{ term: 1, node: 'n1' }, { term: 2, node: 'n2' }, { term: 2, node: 'n3' }],
    });
    const violations = electionSafety(view);
    expect(violations).toEqual([{
      rule: 'S-ES',
      message: 'S-ES: term 2 has 2 leaders: n2 and n3 (at most one leader per term)',
      nodes: ['n2', 'n3'],
      term: 2,
    }]);
  });

  it('counts a node that is leader now, even if the history missed its election', () => {
    const view = cluster({
      nodes: [node('n1', [], { currentTerm: 3 }), node('n2', [], { role: 'leader', currentTerm: 3 })],
      leaders: [{ term: 3, node: 'n1' }],
    });
    expect(summary(electionSafety(view))).toEqual([{ rule: 'S-ES', nodes: ['n1', 'n2'], index: undefined }]);
  });
});

describe('leaderAppendOnly (S-LAO)', () => {
  const before = node('n1', [1, 1, 2, 3], { role: 'leader', currentTerm: 3 });

  it('holds when the leader appends', () => {
    expect(leaderAppendOnly(before, node('n1', [1, 1, 2, 3, 3, 3], { role: 'leader', currentTerm: 3 }))).toEqual([]);
  });

  it('holds when entries are compacted into a snapshot with the right term (compaction is not deletion)', () => {
    const after = node('n1', [1, 1, 2, 3, 3], { role: 'leader', currentTerm: 3, snapshotIndex: 3 });
    expect(leaderAppendOnly(before, after)).toEqual([]);
    const allCompacted = node('n1', [1, 1, 2, 3, 3], { role: 'leader', currentTerm: 3, snapshotIndex: 5 });
    expect(leaderAppendOnly(before, allCompacted)).toEqual([]);
  });

  it('does not apply once the node is no longer leader of that term (a follower may truncate, AE-3)', () => {
    expect(leaderAppendOnly(before, node('n1', [1, 1], { currentTerm: 3 }))).toEqual([]);
    expect(leaderAppendOnly(before, node('n1', [1, 1, 4], { role: 'leader', currentTerm: 4 }))).toEqual([]);
  });

  it('reports a leader whose log lost an entry', () => {
    const after = node('n1', [1, 1, 2], { role: 'leader', currentTerm: 3 });
    expect(leaderAppendOnly(before, after)).toEqual([{
      rule: 'S-LAO',
      message: "S-LAO: leader n1 (term 3) lost index 4 (term 3 digest 't3@4'): its log now ends at index 3",
      nodes: ['n1'],
      index: 4,
      term: 3,
    }]);
  });

  it('reports a leader that overwrote an entry, by term or by digest', () => {
    const byTerm = node('n1', [1, 1, 3, 3], { role: 'leader', currentTerm: 3 });
    expect(summary(leaderAppendOnly(before, byTerm))).toEqual([{ rule: 'S-LAO', nodes: ['n1'], index: 3 }]);
    const byDigest = node('n1', [1, 1, 2, 3], { role: 'leader', currentTerm: 3, digests: { 2: 'put x=9' } });
    const violations = leaderAppendOnly(before, byDigest);
    expect(summary(violations)).toEqual([{ rule: 'S-LAO', nodes: ['n1'], index: 2 }]);
    expect(violations[0]?.message).toBe(
      "S-LAO: leader n1 (term 3) changed index 2 (before: term 1 digest 't1@2', after: term 1 digest 'put x=9')",
    );
  });

  it('reports a snapshot whose term contradicts the entry it claims to cover', () => {
    const after = node('n1', [1, 1, 1, 3], { role: 'leader', currentTerm: 3, snapshotIndex: 3 });
    expect(summary(leaderAppendOnly(before, after))).toEqual([{ rule: 'S-LAO', nodes: ['n1'], index: 3 }]);
  });

  it('throws when asked to compare two different nodes', () => {
    expect(() => leaderAppendOnly(before, node('n2', [1, 1, 2, 3], { role: 'leader', currentTerm: 3 }))).toThrow(/different|one node/);
  });
});

describe('logMatching (S-LM)', () => {
  it('holds for the logs of Figure 7, whose suffixes diverge with different terms', () => {
    const view = cluster({
      nodes: [
        node('leader', [1, 1, 1, 4, 4, 5, 5, 6, 6, 6], { role: 'leader', currentTerm: 8 }),
        node('a', [1, 1, 1, 4, 4, 5, 5, 6, 6]),
        node('b', [1, 1, 1, 4]),
        node('c', [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6]),
        node('d', [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7]),
        node('e', [1, 1, 1, 4, 4, 4, 4]),
        node('f', [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]),
      ],
    });
    expect(logMatching(view)).toEqual([]);
  });

  it('reports a diverging prefix under a matching (index, term), at the first divergence', () => {
    const view = cluster({
      nodes: [
        node('n1', [1, 1, 1, 2], { digests: { 3: 'put x=1' } }),
        node('n2', [1, 1]),
        node('n3', [1, 1, 2, 2], { digests: { 3: 'put x=2' } }),
      ],
    });
    expect(logMatching(view)).toEqual([{
      rule: 'S-LM',
      message: "S-LM: n1 and n3 both hold index 4 term 2 but differ at index 3 (n1: term 1 digest 'put x=1', n3: term 2 digest 'put x=2')",
      nodes: ['n1', 'n3'],
      index: 3,
      term: 2,
    }]);
  });

  it('reports the same (index, term) with different commands', () => {
    const view = cluster({ nodes: [node('n1', [1, 1, 2]), node('n2', [1, 1, 2], { digests: { 2: 'put y=1' } })] });
    const violations = logMatching(view);
    expect(summary(violations)).toEqual([{ rule: 'S-LM', nodes: ['n1', 'n2'], index: 2 }]);
    expect(violations[0]?.message).toBe(
      "S-LM: n1 and n2 both hold index 2 term 1 but with different commands (n1: term 1 digest 't1@2', n2: term 1 digest 'put y=1')",
    );
  });

  it('does not compare digests a node does not know', () => {
    const withoutDigest: NodeView = { ...node('n2', [1, 2]), log: [{ index: 1, term: 1 }, { index: 2, term: 2 }] };
    expect(logMatching(cluster({ nodes: [node('n1', [1, 2]), withoutDigest] }))).toEqual([]);
  });

  it('compares a snapshot point by its term: holds when it agrees', () => {
    const view = cluster({ nodes: [node('n1', [1, 1, 1, 2, 2], { snapshotIndex: 3 }), node('n2', [1, 1, 1, 2, 2])] });
    expect(logMatching(view)).toEqual([]);
  });

  it('compares a snapshot point by its term: reports when it disagrees under a later match', () => {
    const view = cluster({ nodes: [node('n1', [1, 1, 1, 2, 2], { snapshotIndex: 3 }), node('n2', [1, 1, 2, 2, 2])] });
    const violations = logMatching(view);
    expect(summary(violations)).toEqual([{ rule: 'S-LM', nodes: ['n1', 'n2'], index: 3 }]);
    expect(violations[0]?.message).toBe(
      "S-LM: n1 and n2 both hold index 4 term 2 but differ at index 3 (n1: term 1, n2: term 2 digest 't2@3')",
    );
  });

  it('cannot see a divergence compacted into a snapshot', () => {
    // n2 differs from n1 at index 2, but n1 keeps only the term of index 3: nothing to compare.
    const view = cluster({ nodes: [node('n1', [1, 1, 1, 2], { snapshotIndex: 3 }), node('n2', [1, 2, 1, 2], { digests: { 3: 't1@3' } })] });
    expect(logMatching(view)).toEqual([]);
  });
});

describe('leaderCompleteness (S-LC)', () => {
  const committed = [
    { index: 1, term: 1, digest: digestOf(1, 1), committedInTerm: 1 },
    { index: 2, term: 1, digest: digestOf(2, 1), committedInTerm: 2 },
    { index: 3, term: 3, digest: digestOf(3, 3), committedInTerm: 3 },
  ];

  it('holds when the leader holds every entry committed in an earlier term, some of them in its snapshot', () => {
    const view = cluster({
      nodes: [node('n1', [1, 1], { role: 'leader', currentTerm: 3 }), node('n2', [1, 1, 3, 4], { role: 'leader', currentTerm: 4, snapshotIndex: 2 })],
      committed,
    });
    // n1 leads term 3 and lacks index 3, but index 3 was committed in term 3 itself, not before it.
    expect(leaderCompleteness(view)).toEqual([]);
  });

  it('reports the lowest missing entry of a leader and counts the rest', () => {
    const view = cluster({ nodes: [node('n1', [1], { role: 'leader', currentTerm: 4 })], committed });
    expect(leaderCompleteness(view)).toEqual([{
      rule: 'S-LC',
      message:
        "S-LC: n1, leader in term 4, lacks index 2 (term 1 digest 't1@2') committed in term 2: n1's log ends at index 1" +
        ' (and 1 more committed entries missing or different)',
      nodes: ['n1'],
      index: 2,
      term: 4,
    }]);
  });

  it('reports a leader whose snapshot point contradicts a committed entry', () => {
    const view = cluster({ nodes: [node('n1', [1, 2, 4], { role: 'leader', currentTerm: 4, snapshotIndex: 2 })], committed });
    const violations = leaderCompleteness(view);
    expect(summary(violations)).toEqual([{ rule: 'S-LC', nodes: ['n1'], index: 2 }]);
    expect(violations[0]?.message).toContain("n1's snapshot ends at index 2 with term 2");
  });
});

describe('stateMachineSafety (S-SMS)', () => {
  const applied = (nodeId: string, terms: readonly number[], digests: Readonly<Record<number, string>> = {}): AppliedRecord =>
    ({ node: nodeId, entries: entries(terms, digests) });

  it('holds when nodes apply prefixes of one sequence, even re-applying an identical entry', () => {
    const again = applied('n3', [1, 1]);
    const view = cluster({
      nodes: [],
      applied: [applied('n1', [1, 1, 2]), applied('n2', []), { node: 'n3', entries: [...again.entries, ...again.entries] }],
    });
    expect(stateMachineSafety(view)).toEqual([]);
  });

  it('reports two nodes that applied different entries at an index, at the lowest such index', () => {
    const view = cluster({
      nodes: [],
      applied: [applied('n1', [1, 1, 2, 2]), applied('n2', [1, 1]), applied('n3', [1, 1, 3, 3], { 4: 't2@4' })],
    });
    const violations = stateMachineSafety(view);
    expect(violations).toEqual([{
      rule: 'S-SMS',
      message: "S-SMS: n1 and n3 applied different entries at index 3 (n1: term 2 digest 't2@3', n3: term 3 digest 't3@3')",
      nodes: ['n1', 'n3'],
      index: 3,
    }]);
  });

  it('reports a node that applied one index twice with different content', () => {
    const view = cluster({
      nodes: [],
      applied: [{ node: 'n1', entries: [...entries([1, 1]), { index: 2, term: 1, digest: 'other' }] }],
    });
    const violations = stateMachineSafety(view);
    expect(summary(violations)).toEqual([{ rule: 'S-SMS', nodes: ['n1'], index: 2 }]);
    expect(violations[0]?.message).toBe(
      "S-SMS: n1 applied index 2 twice with different entries (first term 1 digest 't1@2', then term 1 digest 'other')",
    );
  });
});

describe('paper and bug-catalogue scenarios (checkSafety)', () => {
  // Figure 8 (§5.4.2) with bug B17: S1, leader in term 4, counts replicas of its term-2 entry at
  // index 2 (on S1, S2, S3) and commits it. It crashes; S5 (last term 3) wins term 5 with votes
  // from S2, S3, S4, overwrites index 2 with its term-3 entry, and commits and applies that.
  it('Figure 8 with a previous-term entry committed and then overwritten: S-LC and S-SMS', () => {
    const view = cluster({
      nodes: [
        node('s1', [1, 2, 4], { role: 'down', currentTerm: 4, commitIndex: 2 }),
        node('s2', [1, 3], { currentTerm: 5 }),
        node('s3', [1, 3], { currentTerm: 5 }),
        node('s4', [1, 3], { currentTerm: 5 }),
        node('s5', [1, 3], { role: 'leader', currentTerm: 5, commitIndex: 2 }),
      ],
      leaders: [{ term: 1, node: 's1' }, { term: 2, node: 's1' }, { term: 3, node: 's5' }, { term: 4, node: 's1' }, { term: 5, node: 's5' }],
      committed: [
        { index: 1, term: 1, digest: digestOf(1, 1), committedInTerm: 1 },
        { index: 2, term: 2, digest: digestOf(2, 2), committedInTerm: 4 },
      ],
      applied: [
        { node: 's1', entries: entries([1, 2]) },
        { node: 's5', entries: entries([1, 3]) },
      ],
    });
    const violations = checkSafety(view);
    expect(summary(violations)).toEqual([
      { rule: 'S-LC', nodes: ['s5'], index: 2 },
      { rule: 'S-SMS', nodes: ['s1', 's5'], index: 2 },
    ]);
    expect(violations[0]?.message).toBe(
      "S-LC: s5, leader in term 5, lacks index 2 (term 2 digest 't2@2') committed in term 4: s5 holds term 3 digest 't3@2' there",
    );
  });

  // Figure 8 (e), the correct run: S1 commits index 2 only by committing its own term-4 entry at
  // index 3 on a majority, after which S5 cannot win an election.
  it('Figure 8 (e), done right: no violation', () => {
    const view = cluster({
      nodes: [
        node('s1', [1, 2, 4], { role: 'leader', currentTerm: 4, commitIndex: 3 }),
        node('s2', [1, 2, 4], { currentTerm: 4 }),
        node('s3', [1, 2, 4], { currentTerm: 4 }),
        node('s4', [1], { currentTerm: 4 }),
        node('s5', [1, 3], { role: 'down', currentTerm: 3 }),
      ],
      leaders: [{ term: 1, node: 's1' }, { term: 2, node: 's1' }, { term: 3, node: 's5' }, { term: 4, node: 's1' }],
      committed: [
        { index: 1, term: 1, committedInTerm: 1 },
        { index: 2, term: 2, committedInTerm: 4 },
        { index: 3, term: 4, committedInTerm: 4 },
      ],
      applied: [{ node: 's1', entries: entries([1, 2, 4]) }, { node: 's2', entries: entries([1, 2]) }],
    });
    expect(checkSafety(view)).toEqual([]);
  });

  // B11 (openraft variant): R1 leads term 1 and commits index 2 on R1 and R2. A stale AppendEntries
  // makes R2 truncate index 2 though nothing conflicted; R3 never had it. R2 wins term 2 with R3's
  // vote, writes its own entry at index 2, commits it with R3 and applies it — R1 applied the
  // term-1 entry there.
  it('B11: truncation without a conflict loses a committed entry: S-LC and S-SMS', () => {
    const committedBefore = [
      { index: 1, term: 1, digest: digestOf(1, 1), committedInTerm: 1 },
      { index: 2, term: 1, digest: digestOf(2, 1), committedInTerm: 1 },
    ];
    const afterElection = cluster({
      nodes: [
        node('r1', [1, 1], { role: 'down', currentTerm: 1, commitIndex: 2 }),
        node('r2', [1], { role: 'leader', currentTerm: 2 }),
        node('r3', [1], { currentTerm: 2 }),
      ],
      leaders: [{ term: 1, node: 'r1' }, { term: 2, node: 'r2' }],
      committed: committedBefore,
      applied: [{ node: 'r1', entries: entries([1, 1]) }],
    });
    expect(summary(checkSafety(afterElection))).toEqual([{ rule: 'S-LC', nodes: ['r2'], index: 2 }]);

    const afterApply = cluster({
      ...afterElection,
      nodes: [
        node('r1', [1, 1], { role: 'down', currentTerm: 1, commitIndex: 2 }),
        node('r2', [1, 2], { role: 'leader', currentTerm: 2, commitIndex: 2 }),
        node('r3', [1, 2], { currentTerm: 2, commitIndex: 2 }),
      ],
      committed: [...committedBefore, { index: 2, term: 2, digest: digestOf(2, 2), committedInTerm: 2 }],
      applied: [{ node: 'r1', entries: entries([1, 1]) }, { node: 'r2', entries: entries([1, 2]) }],
    });
    expect(summary(checkSafety(afterApply))).toEqual([
      { rule: 'S-LC', nodes: ['r2'], index: 2 },
      { rule: 'S-SMS', nodes: ['r1', 'r2'], index: 2 },
    ]);
  });
});

describe('malformed views are caller bugs and throw', () => {
  it('rejects a log whose indices do not follow the snapshot', () => {
    const gap: NodeView = { ...node('n1', [1, 1], { snapshotIndex: 1 }), log: [{ index: 3, term: 1 }] };
    expect(() => logMatching(cluster({ nodes: [gap] }))).toThrow(/log\[0\]\.index is 3, expected 2/);
  });

  it('rejects duplicate node ids, a snapshot term without a snapshot, negative terms and entry index 0', () => {
    expect(() => checkSafety(cluster({ nodes: [node('n1', []), node('n1', [])] }))).toThrow(/appears twice/);
    expect(() => checkSafety(cluster({ nodes: [{ ...node('n1', []), snapshotTerm: 2 }] }))).toThrow(/snapshotTerm 2/);
    expect(() => electionSafety(cluster({ nodes: [], leaders: [{ term: -1, node: 'n1' }] }))).toThrow(/non-negative/);
    expect(() => stateMachineSafety(cluster({ nodes: [], applied: [{ node: 'n1', entries: [{ index: 0, term: 1 }] }] }))).toThrow(/index 1/);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties. Parameters are naturals resolved modulo the current state, so every sample stays
// meaningful while fast-check shrinks it. Each property counts how often its mutation half ran,
// so a generator that stops producing breakable states fails the test instead of passing vacuously.

const RUNS = 300;

/**
 * A history built the Raft way: in term t one leader appends entries of term t to its own log,
 * and followers take a prefix of the leader's log. So each (index, term) is written once, by the
 * leader of that term, and every log is a prefix of some leader's log — Log Matching by construction.
 */
const raftHistory = fc.record({
  nodeCount: fc.integer({ min: 2, max: 5 }),
  terms: fc.array(
    fc.record({
      leader: fc.nat(),
      appends: fc.integer({ min: 0, max: 4 }),
      // `upto` past the end of the leader's log is clamped to all of it: most copies are full ones.
      copies: fc.array(fc.record({ follower: fc.nat(), upto: fc.nat({ max: 12 }) }), { minLength: 1, maxLength: 6 }),
    }),
    { minLength: 1, maxLength: 8 },
  ),
  // Most nodes keep their whole log, so entries are often shared; some compact a prefix.
  snapshots: fc.array(fc.option(fc.nat({ max: 8 }), { freq: 2 }), { minLength: 5, maxLength: 5 }),
  mutation: fc.nat(),
});

type RaftHistory = typeof raftHistory extends fc.Arbitrary<infer T> ? T : never;

function buildNodes(history: RaftHistory): NodeView[] {
  const n = history.nodeCount;
  const logs: EntryView[][] = Array.from({ length: n }, () => []);
  let commands = 0;
  history.terms.forEach((step, k) => {
    const term = k + 1;
    const leader = step.leader % n;
    const leaderLog = logs[leader] ?? [];
    for (let a = 0; a < step.appends; a++) leaderLog.push({ index: leaderLog.length + 1, term, digest: `cmd${commands++}` });
    for (const { follower, upto } of step.copies) {
      if (follower % n !== leader) logs[follower % n] = leaderLog.slice(0, Math.min(upto, leaderLog.length));
    }
  });
  return logs.map((log, i) => {
    const snapshotIndex = Math.min(history.snapshots[i] ?? 0, log.length);
    return {
      id: `n${i + 1}`,
      currentTerm: history.terms.length,
      role: 'follower',
      snapshotIndex,
      snapshotTerm: snapshotIndex === 0 ? 0 : (log[snapshotIndex - 1]?.term ?? 0),
      log: log.slice(snapshotIndex),
      commitIndex: 0,
    };
  });
}

/** Entries (node position, log position) that another node also holds in its log with the same term. */
function sharedEntries(nodes: readonly NodeView[]): { nodeAt: number; logAt: number; other: string }[] {
  const shared: { nodeAt: number; logAt: number; other: string }[] = [];
  nodes.forEach((x, nodeAt) =>
    x.log.forEach((entry, logAt) => {
      const other = nodes.find((y) => y !== x && y.log.some((e) => e.index === entry.index && e.term === entry.term));
      if (other !== undefined) shared.push({ nodeAt, logAt, other: other.id });
    }),
  );
  return shared;
}

describe('properties', () => {
  it('logMatching holds for Raft-built logs, and names the node whose entry was changed', () => {
    let mutated = 0;
    fc.assert(
      fc.property(raftHistory, (history) => {
        const nodes = buildNodes(history);
        expect(logMatching(cluster({ nodes }))).toEqual([]);

        const shared = sharedEntries(nodes);
        const target = shared[history.mutation % Math.max(shared.length, 1)];
        if (target === undefined) return;
        mutated++;
        const victim = nodes[target.nodeAt];
        const entry = victim?.log[target.logAt];
        if (victim === undefined || entry === undefined) throw new Error('sharedEntries returned a bad position');
        const changed: NodeView = {
          ...victim,
          log: victim.log.map((e, k) => (k === target.logAt ? { ...e, digest: `${e.digest ?? ''}'` } : e)),
        };
        const violations = logMatching(cluster({ nodes: nodes.map((x) => (x === victim ? changed : x)) }));
        expect(violations.length).toBeGreaterThan(0);
        for (const violation of violations) {
          expect(violation.rule).toBe('S-LM');
          expect(violation.nodes).toContain(victim.id);
          expect(violation.index).toBe(entry.index);
        }
        expect(violations.some((v) => v.nodes.includes(target.other))).toBe(true);
      }),
      { numRuns: RUNS },
    );
    expect(mutated).toBeGreaterThan(RUNS / 2);
  });

  it('stateMachineSafety holds when nodes apply prefixes of one sequence, and names the node whose entry was changed', () => {
    let mutated = 0;
    fc.assert(
      fc.property(
        fc.record({
          termSteps: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 20 }),
          prefixes: fc.array(fc.record({ length: fc.nat(), reapply: fc.boolean() }), { minLength: 2, maxLength: 5 }),
          mutation: fc.nat(),
          changeTerm: fc.boolean(),
        }),
        ({ termSteps, prefixes, mutation, changeTerm }) => {
          let term = 1;
          const sequence: EntryView[] = termSteps.map((step, k) => {
            term += step;
            return { index: k + 1, term, digest: `op${k + 1}` };
          });
          const applied: AppliedRecord[] = prefixes.map(({ length, reapply }, i) => {
            const prefix = sequence.slice(0, length % (sequence.length + 1));
            // Re-applying an identical entry is ALL-1's concern, never S-SMS's.
            return { node: `n${i + 1}`, entries: reapply ? [...prefix, ...prefix.slice(0, 1)] : prefix };
          });
          expect(stateMachineSafety(cluster({ nodes: [], applied }))).toEqual([]);

          const candidates = applied.flatMap((record, i) =>
            record.entries
              .map((entry, k) => ({ i, k, entry }))
              .filter(({ entry }) => applied.some((other, j) => j !== i && other.entries.some((e) => e.index === entry.index))),
          );
          const target = candidates[mutation % Math.max(candidates.length, 1)];
          if (target === undefined) return;
          mutated++;
          const changed = applied.map((record, i) =>
            i !== target.i
              ? record
              : {
                  node: record.node,
                  entries: record.entries.map((e, k) =>
                    k !== target.k ? e : changeTerm ? { ...e, term: e.term + 1 } : { ...e, digest: `${e.digest ?? ''}'` },
                  ),
                },
          );
          const violations = stateMachineSafety(cluster({ nodes: [], applied: changed }));
          expect(violations.length).toBeGreaterThan(0);
          for (const violation of violations) {
            expect(violation.rule).toBe('S-SMS');
            expect(violation.nodes).toContain(`n${target.i + 1}`);
            expect(violation.index).toBe(target.entry.index);
          }
        },
      ),
      { numRuns: RUNS },
    );
    expect(mutated).toBeGreaterThan(RUNS / 2);
  });

  it('leaderAppendOnly holds while a leader appends and compacts, and reports the first lost or changed index', () => {
    let mutated = 0;
    fc.assert(
      fc.property(
        fc.record({
          termSteps: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 12 }),
          beforeLength: fc.nat(),
          beforeSnapshot: fc.nat(),
          // Half the time the leader does not compact further, so its entries stay visible.
          afterSnapshot: fc.oneof(fc.constant(0), fc.nat()),
          mutation: fc.nat(),
          truncate: fc.boolean(),
        }),
        ({ termSteps, beforeLength, beforeSnapshot, afterSnapshot, mutation, truncate }) => {
          let term = 1;
          const terms = termSteps.map((step) => (term += step));
          const currentTerm = term;
          const beforeLast = beforeLength % (terms.length + 1);
          const s1 = beforeSnapshot % (beforeLast + 1);
          const s2 = s1 + (afterSnapshot % (terms.length - s1 + 1));
          const before = node('n1', terms.slice(0, beforeLast), { role: 'leader', currentTerm, snapshotIndex: s1 });
          const after = node('n1', terms, { role: 'leader', currentTerm, snapshotIndex: s2 });
          expect(leaderAppendOnly(before, after)).toEqual([]);

          // Only entries that `before` holds and `after` has not compacted can be seen to go.
          const visible = beforeLast - s2;
          if (visible <= 0) return;
          mutated++;
          const at = s2 + 1 + (mutation % visible);
          const broken: NodeView = truncate
            ? { ...after, log: after.log.slice(0, at - s2 - 1) }
            : { ...after, log: after.log.map((e) => (e.index === at ? { ...e, digest: 'overwritten' } : e)) };
          expect(summary(leaderAppendOnly(before, broken))).toEqual([{ rule: 'S-LAO', nodes: ['n1'], index: at }]);
        },
      ),
      { numRuns: RUNS },
    );
    expect(mutated).toBeGreaterThan(RUNS / 4);
  });
});
