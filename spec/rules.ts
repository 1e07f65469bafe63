/**
 * The rule catalog (../shared/design/rules.md) as data. Every violation figure2 reports carries
 * one of these IDs; the statechart's transitions, the reference implementation's comments, the
 * checker and the tests cite them.
 *
 * `needs` says which trace evidence a checker must see to check the rule: a list of alternatives,
 * any one of which suffices, each a set of event kinds (`ev` values) — plus `state`, the optional
 * per-event state snapshot — that must all be present in the trace. A trace missing every
 * alternative gets "not checkable (needs: …)" for that rule, never a guessed verdict.
 */
import { z } from 'zod';
import { TRACE_EVENT_KINDS, type TraceEventKind } from './schemas/trace-events.ts';

export const RULE_IDS = [
  'RV-1', 'RV-2',
  'AE-1', 'AE-2', 'AE-3', 'AE-4', 'AE-5',
  'ALL-1', 'ALL-2', 'F-1', 'F-2', 'C-1', 'C-2', 'C-3', 'C-4', 'L-1', 'L-2', 'L-3', 'L-4',
  'P-1', 'P-2',
  'S-ES', 'S-LAO', 'S-LM', 'S-LC', 'S-SMS',
  'M-TERM', 'M-VOTE', 'M-COMMIT',
  'IS-1', 'IS-6', 'IS-7', 'IS-8', 'SN-1',
  'CL-LIN', 'CL-ONCE', 'CL-NOOP',
  'MC-1', 'MC-2', 'MC-3',
] as const;

export const RuleId = z.enum(RULE_IDS);
export type RuleId = z.infer<typeof RuleId>;

/** Evidence a rule can need: an event kind, or `state` (the optional after-event state snapshot). */
export type TraceNeed = TraceEventKind | 'state';
export const TRACE_NEEDS: readonly TraceNeed[] = [...TRACE_EVENT_KINDS, 'state'];

export const RULE_GROUPS = [
  'RequestVote receiver',
  'AppendEntries receiver',
  'Rules for servers',
  'Persistence',
  'Safety properties (Figure 3)',
  'Monotonicity',
  'Log compaction (Figure 13)',
  'Clients (§8)',
  'Membership changes (§6)',
] as const;
export type RuleGroup = (typeof RULE_GROUPS)[number];

export interface Rule {
  readonly id: RuleId;
  readonly group: RuleGroup;
  /** Where the rule comes from in the extended paper (or the thesis for membership changes). */
  readonly section: string;
  /** The rule in one sentence. */
  readonly statement: string;
  /** Alternatives; any one suffices. Each is a set of evidence kinds that must all be present. */
  readonly needs: readonly (readonly TraceNeed[])[];
}

const rule = (id: RuleId, group: RuleGroup, section: string, statement: string, ...needs: TraceNeed[][]): Rule =>
  Object.freeze({ id, group, section, statement, needs: Object.freeze(needs.map((n) => Object.freeze(n))) });

const RV = 'RequestVote receiver';
const AE = 'AppendEntries receiver';
const SRV = 'Rules for servers';
const P = 'Persistence';
const S = 'Safety properties (Figure 3)';
const M = 'Monotonicity';
const IS = 'Log compaction (Figure 13)';
const CL = 'Clients (§8)';
const MC = 'Membership changes (§6)';

/** The catalog, in rules.md order. */
export const RULES: readonly Rule[] = Object.freeze([
  rule('RV-1', RV, 'Figure 2, §5.1', 'Reply false if term < currentTerm.', ['recv', 'send']),
  rule('RV-2', RV, 'Figure 2, §5.2, §5.4.1',
    'Grant a vote only if votedFor is null or the candidate, and the candidate\'s log is at least as up-to-date as ours (higher last term, or same last term and last index ≥ ours).',
    ['recv', 'send', 'append'], ['recv', 'send', 'init', 'state']),
  rule('AE-1', AE, 'Figure 2, §5.1', 'Reply false if term < currentTerm.', ['recv', 'send']),
  rule('AE-2', AE, 'Figure 2, §5.3',
    'Reply false if the log has no entry at prevLogIndex whose term is prevLogTerm, including when prevLogIndex is past the end of the log.',
    ['recv', 'send', 'append']),
  rule('AE-3', AE, 'Figure 2, §5.3',
    'If an existing entry conflicts with a new one (same index, different term), delete it and all that follow; never truncate without a conflict.',
    ['recv', 'append', 'truncate']),
  rule('AE-4', AE, 'Figure 2', 'Append any new entries not already in the log.', ['recv', 'append']),
  rule('AE-5', AE, 'Figure 2',
    'If leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of last new entry).',
    ['recv', 'commit', 'append'], ['recv', 'state']),
  rule('ALL-1', SRV, 'Figure 2',
    'If commitIndex > lastApplied, apply the next entry: entries are applied in index order, each exactly once, never beyond commitIndex.',
    ['apply', 'commit']),
  rule('ALL-2', SRV, 'Figure 2, §5.1',
    'If a request or response carries T > currentTerm, set currentTerm = T and become follower before handling the rest of the message.',
    ['recv', 'role'], ['recv', 'persist'], ['recv', 'state']),
  rule('F-1', SRV, 'Figure 2', 'A follower responds to RPCs from candidates and leaders.', ['recv', 'send']),
  rule('F-2', SRV, 'Figure 2, §5.2',
    'A follower becomes candidate only when its election timeout elapses without AppendEntries from the current leader or a vote granted.',
    ['timeout', 'role']),
  rule('C-1', SRV, 'Figure 2, §5.2',
    'On becoming candidate: increment currentTerm, vote for self, reset the election timer, send RequestVote to all other servers.',
    ['role', 'send'], ['role', 'persist']),
  rule('C-2', SRV, 'Figure 2, §5.2',
    'Become leader only with votes from a majority of distinct voters of the current configuration, all cast in the current term.',
    ['role', 'recv']),
  rule('C-3', SRV, 'Figure 2, §5.2',
    'A candidate that receives AppendEntries from a leader of its term or higher becomes follower.',
    ['recv', 'role'], ['recv', 'state']),
  rule('C-4', SRV, 'Figure 2, §5.2', 'If the election timeout elapses, start a new election.', ['timeout', 'role']),
  rule('L-1', SRV, 'Figure 2, §5.2',
    'On election, send AppendEntries (heartbeat) to every server; repeat during idle periods.',
    ['role', 'send']),
  rule('L-2', SRV, 'Figure 2, §5.3',
    'A client command is appended to the leader\'s own log; the leader responds after it is applied.',
    ['append', 'invoke', 'ok', 'apply']),
  rule('L-3', SRV, 'Figure 2, §5.3',
    'Send AppendEntries from nextIndex; on success set nextIndex/matchIndex from the request sent (matchIndex never decreases); on an inconsistency lower nextIndex (never below matchIndex + 1 or 1) and retry.',
    ['send', 'recv']),
  rule('L-4', SRV, 'Figure 2, §5.4.2, Figure 8',
    'Advance commitIndex to N only if N > commitIndex, a majority has matchIndex ≥ N, and log[N].term == currentTerm.',
    ['commit', 'recv', 'send', 'append']),
  rule('P-1', P, 'Figure 2 (persistent state)',
    'currentTerm, votedFor and log entries reach stable storage before any message that depends on them is sent; a leader counts its own log toward a majority only up to what it persisted.',
    ['persist', 'send']),
  rule('P-2', P, 'Figure 2 (persistent state)',
    'A restarted node recovers exactly its persisted state: nothing persisted is lost, nothing unpersisted appears.',
    ['persist', 'crash', 'init']),
  rule('S-ES', S, 'Figure 3, §5.2', 'Election Safety: at most one leader per term.', ['role'], ['state']),
  rule('S-LAO', S, 'Figure 3, §5.3', 'Leader Append-Only: a leader never overwrites or deletes entries in its log.',
    ['role', 'truncate'], ['role', 'append']),
  rule('S-LM', S, 'Figure 3, §5.3',
    'Log Matching: if two logs contain an entry with the same index and term, it is the same entry and the logs are identical up to that index.',
    ['append']),
  rule('S-LC', S, 'Figure 3, §5.4',
    'Leader Completeness: an entry committed in a term is present in the logs of the leaders of all higher terms.',
    ['append', 'commit', 'role']),
  rule('S-SMS', S, 'Figure 3, §5.4.3', 'State Machine Safety: no two servers apply different entries at the same index.', ['apply']),
  rule('M-TERM', M, 'Figure 2, §5.1', 'currentTerm never decreases, also across restarts and snapshot loads.',
    ['role'], ['persist'], ['state'], ['init']),
  rule('M-VOTE', M, 'Figure 2, §5.2', 'votedFor is set at most once per term, also across restarts.',
    ['persist'], ['state']),
  rule('M-COMMIT', M, 'Figure 2, §5.3', 'commitIndex never decreases while a node is up.', ['commit'], ['state']),
  rule('IS-1', IS, 'Figure 13, §7', 'Reply immediately if term < currentTerm.', ['recv', 'send']),
  rule('IS-6', IS, 'Figure 13, §7',
    'If the log has an entry with the snapshot\'s last index and term, keep the entries after it.',
    ['recv', 'restore', 'append']),
  rule('IS-7', IS, 'Figure 13, §7', 'Otherwise discard the entire log.', ['recv', 'restore', 'truncate']),
  rule('IS-8', IS, 'Figure 13, §7',
    'Reset the state machine from the snapshot; never regress below what was already applied.',
    ['restore', 'apply']),
  rule('SN-1', IS, '§7',
    'A snapshot covers only committed entries (lastIncludedIndex ≤ commitIndex) with the correct lastIncludedTerm.',
    ['snapshot', 'commit', 'append']),
  rule('CL-LIN', CL, '§8', 'The client history is linearizable against the key-value model.', ['invoke', 'ok']),
  rule('CL-ONCE', CL, '§8', 'A command with the same (clientId, sequence) takes effect at most once.', ['invoke', 'ok', 'apply']),
  rule('CL-NOOP', CL, '§8', 'A new leader commits an entry of its own term before it answers a read.',
    ['role', 'commit', 'append', 'invoke', 'ok']),
  rule('MC-1', MC, '§6, thesis §4', 'At most one configuration change is uncommitted at a time.', ['append', 'commit']),
  rule('MC-2', MC, '§6, thesis §4',
    'A leader appends a configuration entry only after an entry of its current term is committed.',
    ['append', 'commit', 'role']),
  rule('MC-3', MC, '§6, thesis §4', 'A server uses the latest configuration in its log, committed or not.',
    ['config', 'append']),
]);

const byId = new Map<RuleId, Rule>(RULES.map((r) => [r.id, r]));

/** The rule with this ID. Every RuleId is in the catalog (a test asserts it), so this never fails. */
export function ruleById(id: RuleId): Rule {
  const found = byId.get(id);
  if (found === undefined) throw new Error(`rule catalog has no ${id}`);
  return found;
}

/**
 * Which of a rule's alternatives a trace with these evidence kinds satisfies: the first
 * satisfiable alternative, or `undefined` when the rule is not checkable on this trace.
 */
export function satisfiedNeeds(rule: Rule, present: ReadonlySet<TraceNeed>): readonly TraceNeed[] | undefined {
  return rule.needs.find((alternative) => alternative.every((need) => present.has(need)));
}
