/**
 * The Figure 3 safety properties (rules.md S-ES, S-LAO, S-LM, S-LC, S-SMS) as pure predicates over
 * a cluster view: what each node holds now, plus the few histories a property quantifies over
 * (leaders ever elected, entries ever committed, entries ever applied).
 *
 * Every predicate returns the violations it finds (empty = the property holds) and never throws
 * for a cluster that breaks Raft — reporting that is its job. It throws only for a view that is
 * malformed (a log whose indices do not follow the snapshot, duplicate node ids, negative terms):
 * that is a bug in the caller that built the view, and a verdict about it would be a guess.
 *
 * Whoever builds the view (the trace checker, the conformance simulator) keeps the histories; these
 * functions keep nothing between calls, read no clock and do no I/O.
 */
import type { RuleId } from './rules.ts';
import type { Role } from './schemas/primitives.ts';

/** A log entry as the predicates see it. `digest` identifies the command; it is compared only when both sides have one. */
export interface EntryView {
  readonly index: number;
  readonly term: number;
  readonly digest?: string | undefined;
}

/**
 * One server's current state. `role` is the Figure 2 role (`precandidate` too, so a trace's
 * `state.role` passes straight through) or `down` for a crashed server; a down server's `log`,
 * `snapshotIndex` and `snapshotTerm` should be what it has persisted, since S-LM is about logs
 * whether or not their owner is running.
 */
export interface NodeView {
  readonly id: string;
  readonly currentTerm: number;
  readonly role: Role | 'down';
  /** Entries with index ≤ snapshotIndex are compacted (Figure 13); 0 means no snapshot. */
  readonly snapshotIndex: number;
  /** Term of the entry at snapshotIndex; 0 when snapshotIndex is 0. */
  readonly snapshotTerm: number;
  /** Entries snapshotIndex+1 .. lastIndex in index order: `log[k].index === snapshotIndex + 1 + k`. */
  readonly log: readonly EntryView[];
  readonly commitIndex: number;
}

/** One election won: `node` became leader in `term`. */
export interface LeaderRecord {
  readonly term: number;
  readonly node: string;
}

/** An entry known committed, with the term in which it was first known committed (the committing leader's currentTerm). */
export interface CommittedRecord {
  readonly index: number;
  readonly term: number;
  readonly digest?: string | undefined;
  readonly committedInTerm: number;
}

/** What one node has applied to its state machine, in apply order. */
export interface AppliedRecord {
  readonly node: string;
  readonly entries: readonly EntryView[];
}

/**
 * The cluster as the predicates see it. The three histories are arrays of plain records — like
 * the trace events they are built from — so a view serializes to JSON as is and keeps a
 * deterministic order, which keeps reports reproducible. A checker that accumulates applies in a
 * `Map` converts with `[...map].map(([node, entries]) => ({ node, entries }))`.
 */
export interface ClusterView {
  readonly nodes: readonly NodeView[];
  /** History: every (term, node) that ever became leader — Election Safety is about history, not one moment. */
  readonly leaders: readonly LeaderRecord[];
  /** History: every entry known committed, with the term in which it was first known committed. */
  readonly committed: readonly CommittedRecord[];
  /** History: per node (each node at most once), entries applied to its state machine, in apply order. */
  readonly applied: readonly AppliedRecord[];
}

/**
 * One broken property. `nodes` names the servers involved; `index` is the log index where the
 * property first fails; `term` is the term the violation is about (see each predicate).
 */
export interface InvariantViolation {
  readonly rule: RuleId;
  readonly message: string;
  readonly nodes: readonly string[];
  readonly index?: number | undefined;
  readonly term?: number | undefined;
}

// ---------------------------------------------------------------------------------------------
// Predicates

/**
 * S-ES (Figure 3, §5.2): at most one leader per term, over the whole history — `view.leaders`
 * plus every node whose current role is leader (in its currentTerm), so a caller that only has
 * the present moment still gets it checked. One violation per term with two or more distinct
 * leaders, in term order; `term` is that term.
 */
export function electionSafety(view: ClusterView): readonly InvariantViolation[] {
  assertClusterView(view);
  const leadersByTerm = new Map<number, string[]>();
  const record = (term: number, node: string): void => {
    const leaders = leadersByTerm.get(term) ?? [];
    if (!leaders.includes(node)) leaders.push(node);
    leadersByTerm.set(term, leaders);
  };
  for (const { term, node } of view.leaders) record(term, node);
  for (const node of view.nodes) if (node.role === 'leader') record(node.currentTerm, node.id);

  return [...leadersByTerm]
    .filter(([, leaders]) => leaders.length > 1)
    .sort(([a], [b]) => a - b)
    .map(([term, leaders]) => ({
      rule: 'S-ES',
      message: `S-ES: term ${term} has ${leaders.length} leaders: ${listNames(leaders)} (at most one leader per term)`,
      nodes: leaders,
      term,
    }));
}

/**
 * S-LAO (Figure 3, §5.3): a leader never overwrites or deletes entries in its log. Compares two
 * states of the same node; applies only when the node is leader in both, in the same term (a new
 * term is a new leadership, and a follower's log may be truncated by AE-3). Every entry `before`
 * held must still be in `after` with the same term and digest, except that entries compacted into
 * `after`'s snapshot are not deleted: they are fine as long as the snapshot point's term agrees.
 * Reports the first lost or changed index; `term` is the leader's currentTerm.
 * Throws if `before` and `after` are different nodes — comparing them is a caller bug.
 */
export function leaderAppendOnly(before: NodeView, after: NodeView): readonly InvariantViolation[] {
  assertNodeView(before);
  assertNodeView(after);
  if (before.id !== after.id) {
    throw new Error(`leaderAppendOnly: before is node '${before.id}' but after is node '${after.id}'; compare two states of one node`);
  }
  const stillLeading =
    before.role === 'leader' && after.role === 'leader' && before.currentTerm === after.currentTerm;
  if (!stillLeading) return [];

  const who = `leader ${after.id} (term ${after.currentTerm})`;
  // Below max(snapshotIndex) one side knows nothing to compare; index 0 is the empty prefix.
  const from = Math.max(before.snapshotIndex, after.snapshotIndex, 1);
  for (let index = from; index <= lastIndexOf(before); index++) {
    const was = entryWithin(before, index);
    if (index > lastIndexOf(after)) {
      return [{
        rule: 'S-LAO',
        message: `S-LAO: ${who} lost index ${index} (${describe(was)}): its log now ends at index ${lastIndexOf(after)}`,
        nodes: [after.id], index, term: after.currentTerm,
      }];
    }
    const now = entryWithin(after, index);
    if (!sameEntry(was, now)) {
      return [{
        rule: 'S-LAO',
        message: `S-LAO: ${who} changed index ${index} (before: ${describe(was)}, after: ${describe(now)})`,
        nodes: [after.id], index, term: after.currentTerm,
      }];
    }
  }
  return [];
}

/**
 * S-LM (Figure 3, §5.3): if two logs hold an entry with the same index and term, the entries are
 * identical (same digest when both have one) and so is every earlier entry both logs hold. For
 * each pair of nodes, one upward pass over the indices both know (outside either snapshot;
 * a snapshot point is known by its term only) finds the first index where they differ and whether
 * any entry at or after it still has the same term on both sides — which Log Matching forbids.
 * Divergence hidden inside a snapshot cannot be seen and is not reported.
 * One violation per offending pair: `index` is the first divergence, `term` the term of the
 * shared (index, term) that proves it.
 */
export function logMatching(view: ClusterView): readonly InvariantViolation[] {
  assertClusterView(view);
  const violations: InvariantViolation[] = [];
  view.nodes.forEach((a, i) => {
    for (const b of view.nodes.slice(i + 1)) {
      const violation = logMatchingPair(a, b);
      if (violation !== undefined) violations.push(violation);
    }
  });
  return violations;
}

/**
 * S-LC (Figure 3, §5.4): an entry committed in term C is in the log of the leader of every term
 * T > C. Checked for every node that is leader now, in term T = its currentTerm, against every
 * committed entry with committedInTerm < T: the leader must hold that index with the same term
 * (and digest when both are known), or have compacted it into its snapshot (below the snapshot
 * point it is covered; at the snapshot point the snapshotTerm must agree).
 * One violation per incomplete leader, at the lowest missing or different index; `term` is the
 * leader's term.
 */
export function leaderCompleteness(view: ClusterView): readonly InvariantViolation[] {
  assertClusterView(view);
  const violations: InvariantViolation[] = [];
  for (const leader of view.nodes) {
    if (leader.role !== 'leader') continue;
    const missing = view.committed
      .filter((entry) => entry.committedInTerm < leader.currentTerm && !holdsCommitted(leader, entry))
      .sort((x, y) => x.index - y.index);
    const first = missing[0];
    if (first === undefined) continue;
    const more = missing.length > 1 ? ` (and ${missing.length - 1} more committed entries missing or different)` : '';
    violations.push({
      rule: 'S-LC',
      message:
        `S-LC: ${leader.id}, leader in term ${leader.currentTerm}, lacks index ${first.index} (${describe(first)}) ` +
        `committed in term ${first.committedInTerm}: ${whatNodeHolds(leader, first.index)}${more}`,
      nodes: [leader.id],
      index: first.index,
      term: leader.currentTerm,
    });
  }
  return violations;
}

/**
 * S-SMS (Figure 3, §5.4.3): no two servers apply different entries (term, or digest when both
 * are known) at the same index. Also checks each node against itself: applying one index twice
 * with different content is the same failure within one state machine. (Applying the same entry
 * twice is ALL-1's business, not this property's.)
 * One violation per node that contradicts itself (its first such index) and per pair of nodes
 * that disagree (their lowest such index); no `term`.
 */
export function stateMachineSafety(view: ClusterView): readonly InvariantViolation[] {
  assertClusterView(view);
  const violations: InvariantViolation[] = [];
  const firstApplied = view.applied.map(({ node, entries }) => {
    const byIndex = new Map<number, EntryView>();
    let selfConflict: InvariantViolation | undefined;
    for (const entry of entries) {
      const earlier = byIndex.get(entry.index);
      if (earlier === undefined) {
        byIndex.set(entry.index, entry);
      } else if (selfConflict === undefined && !sameEntry(earlier, entry)) {
        selfConflict = {
          rule: 'S-SMS',
          message: `S-SMS: ${node} applied index ${entry.index} twice with different entries (first ${describe(earlier)}, then ${describe(entry)})`,
          nodes: [node],
          index: entry.index,
        };
      }
    }
    if (selfConflict !== undefined) violations.push(selfConflict);
    return { node, byIndex };
  });

  firstApplied.forEach((a, i) => {
    for (const b of firstApplied.slice(i + 1)) {
      const index = lowestDisagreement(a.byIndex, b.byIndex);
      if (index === undefined) continue;
      violations.push({
        rule: 'S-SMS',
        message:
          `S-SMS: ${a.node} and ${b.node} applied different entries at index ${index} ` +
          `(${a.node}: ${describe(present(a.byIndex.get(index)))}, ${b.node}: ${describe(present(b.byIndex.get(index)))})`,
        nodes: [a.node, b.node],
        index,
      });
    }
  });
  return violations;
}

/**
 * All the safety properties that a single view can show: S-ES, S-LM, S-LC and S-SMS, in that
 * order. S-LAO compares two moments of one leader, so the caller runs `leaderAppendOnly` on
 * each step.
 */
export function checkSafety(view: ClusterView): readonly InvariantViolation[] {
  return [
    ...electionSafety(view),
    ...logMatching(view),
    ...leaderCompleteness(view),
    ...stateMachineSafety(view),
  ];
}

// ---------------------------------------------------------------------------------------------
// Leaves

/** The index of the last entry a node holds, compacted or not. */
function lastIndexOf(node: NodeView): number {
  return node.snapshotIndex + node.log.length;
}

/**
 * The entry at `index`, for snapshotIndex ≤ index ≤ lastIndex. At the snapshot point only the
 * term survives compaction, so the entry has no digest (and index 0 is the empty prefix, term 0).
 */
function entryWithin(node: NodeView, index: number): EntryView {
  if (index === node.snapshotIndex) return { index, term: node.snapshotTerm };
  const entry = node.log[index - node.snapshotIndex - 1];
  if (entry === undefined) {
    throw new Error(`entryWithin: ${node.id} holds indices ${node.snapshotIndex}..${lastIndexOf(node)}, not ${index}`);
  }
  return entry;
}

/** Same term, and same digest unless one side does not know it. */
function sameEntry(x: EntryView, y: EntryView): boolean {
  return x.term === y.term && (x.digest === undefined || y.digest === undefined || x.digest === y.digest);
}

/** The first S-LM violation between two logs, if any (see `logMatching`). */
function logMatchingPair(a: NodeView, b: NodeView): InvariantViolation | undefined {
  const from = Math.max(a.snapshotIndex, b.snapshotIndex, 1);
  const to = Math.min(lastIndexOf(a), lastIndexOf(b));
  let divergence: { readonly index: number; readonly atA: EntryView; readonly atB: EntryView } | undefined;
  for (let index = from; index <= to; index++) {
    const atA = entryWithin(a, index);
    const atB = entryWithin(b, index);
    if (divergence === undefined && !sameEntry(atA, atB)) divergence = { index, atA, atB };
    // A shared (index, term) at or after the first difference: the logs should be identical up to here.
    if (divergence !== undefined && atA.term === atB.term) {
      const at = divergence.index;
      const message =
        at === index
          ? `S-LM: ${a.id} and ${b.id} both hold index ${index} term ${atA.term} but with different commands ` +
            `(${a.id}: ${describe(atA)}, ${b.id}: ${describe(atB)})`
          : `S-LM: ${a.id} and ${b.id} both hold index ${index} term ${atA.term} but differ at index ${at} ` +
            `(${a.id}: ${describe(divergence.atA)}, ${b.id}: ${describe(divergence.atB)})`;
      return { rule: 'S-LM', message, nodes: [a.id, b.id], index: at, term: atA.term };
    }
  }
  return undefined;
}

/** Whether `leader` holds the committed entry, or has compacted it consistently. */
function holdsCommitted(leader: NodeView, entry: CommittedRecord): boolean {
  if (entry.index < leader.snapshotIndex) return true;
  if (entry.index > lastIndexOf(leader)) return false;
  return sameEntry(entryWithin(leader, entry.index), entry);
}

/** What a node has at `index`, for a message. */
function whatNodeHolds(node: NodeView, index: number): string {
  if (index > lastIndexOf(node)) return `${node.id}'s log ends at index ${lastIndexOf(node)}`;
  if (index === node.snapshotIndex) return `${node.id}'s snapshot ends at index ${index} with term ${node.snapshotTerm}`;
  return `${node.id} holds ${describe(entryWithin(node, index))} there`;
}

/** The lowest index both maps hold with different entries. */
function lowestDisagreement(a: ReadonlyMap<number, EntryView>, b: ReadonlyMap<number, EntryView>): number | undefined {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  let lowest: number | undefined;
  for (const [index, entry] of small) {
    const other = large.get(index);
    if (other !== undefined && !sameEntry(entry, other) && (lowest === undefined || index < lowest)) lowest = index;
  }
  return lowest;
}

function present<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('present: value missing');
  return value;
}

/** "term 1 digest 'put x=1'", or "term 1" when the digest is unknown. */
function describe(entry: { readonly term: number; readonly digest?: string | undefined }): string {
  return entry.digest === undefined ? `term ${entry.term}` : `term ${entry.term} digest '${entry.digest}'`;
}

/** "n1", "n1 and n2", "n1, n2 and n3". */
function listNames(names: readonly string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

// ---------------------------------------------------------------------------------------------
// Shape assertions: a malformed view is a caller bug, so it throws rather than being judged.

function assertCount(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`malformed view: ${what} is ${value}, expected a non-negative integer`);
}

function assertEntry(entry: EntryView, what: string): void {
  assertCount(entry.index, `${what}.index`);
  if (entry.index < 1) throw new Error(`malformed view: ${what}.index is 0; entries start at index 1`);
  assertCount(entry.term, `${what}.term`);
}

function assertNodeView(node: NodeView): void {
  if (node.id.length === 0) throw new Error('malformed view: a node has an empty id');
  const where = `node ${node.id}`;
  assertCount(node.currentTerm, `${where} currentTerm`);
  assertCount(node.snapshotIndex, `${where} snapshotIndex`);
  assertCount(node.snapshotTerm, `${where} snapshotTerm`);
  assertCount(node.commitIndex, `${where} commitIndex`);
  if (node.snapshotIndex === 0 && node.snapshotTerm !== 0) {
    throw new Error(`malformed view: ${where} has no snapshot (snapshotIndex 0) but snapshotTerm ${node.snapshotTerm}`);
  }
  node.log.forEach((entry, k) => {
    assertEntry(entry, `${where} log[${k}]`);
    const expected = node.snapshotIndex + 1 + k;
    if (entry.index !== expected) {
      throw new Error(
        `malformed view: ${where} log[${k}].index is ${entry.index}, expected ${expected} (snapshotIndex ${node.snapshotIndex} + 1 + ${k})`,
      );
    }
  });
}

function assertUnique(ids: readonly string[], what: string): void {
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw new Error(`malformed view: node '${id}' appears twice in ${what}`);
    seen.add(id);
  }
}

function assertClusterView(view: ClusterView): void {
  view.nodes.forEach(assertNodeView);
  assertUnique(view.nodes.map((node) => node.id), 'nodes');
  view.leaders.forEach((leader, k) => {
    assertCount(leader.term, `leaders[${k}].term`);
    if (leader.node.length === 0) throw new Error(`malformed view: leaders[${k}].node is empty`);
  });
  view.committed.forEach((entry, k) => {
    assertEntry(entry, `committed[${k}]`);
    assertCount(entry.committedInTerm, `committed[${k}].committedInTerm`);
  });
  assertUnique(view.applied.map((record) => record.node), 'applied');
  for (const { node, entries } of view.applied) entries.forEach((entry, k) => assertEntry(entry, `applied ${node}[${k}]`));
}
