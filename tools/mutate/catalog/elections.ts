/**
 * Mutants of terms, votes and elections (bug-catalog.md §A): each a real bug, written into the
 * reference core (impl/core/raft-node.ts) as an AST edit.
 */
import { SyntaxKind } from 'ts-morph';
import { ifStatement, insertAfterStatement, member, removeStatement, swap, statement } from '../ast.ts';
import type { Mutant } from '../types.ts';

const CORE = 'impl/core/raft-node.ts';

export const ELECTION_MUTANTS: readonly Mutant[] = [
  {
    id: 'vote-cleared-same-term',
    bug: 'B01',
    title: 'votedFor is cleared on every step-down, also within the same term',
    rule: 'M-VOTE',
    consequences: {
      'RV-2': 'the node grants a second vote in the term while its first one stands',
      'S-ES': 'the second vote can elect a second leader of the term',
      'C-2': 'a leader elected partly by a vote that was already cast elsewhere',
    },
    story:
      'A candidate (or a voter) that hears from the leader of its own term steps down and resets votedFor, so it can vote again in that term: two leaders in one term (zeebe: node 0 voted for 1, reset on the leader\'s first message, voted for 2 in term 1195).',
    sources: ['ktoso/akka-raft#56', 'camunda/zeebe#5356', 'etcd-io/etcd PR #2461', 'microsoft/CCF#5891 and PR #8094'],
    edits: [
      {
        file: CORE,
        describe: 'becomeFollower: `this.votedFor = null` after the term-change block, not inside it',
        apply: (file) => insertAfterStatement(ifStatement(member(file, 'RaftNode', 'becomeFollower'), 'termChanged'), 'this.votedFor = null; // BUG B01: cleared within the term too'),
      },
    ],
  },
  {
    id: 'vote-not-synced',
    bug: 'B02',
    title: 'a vote granted within the current term is written but not synced before the grant leaves',
    rule: 'P-1',
    consequences: {
      'P-2': 'the trace\'s persist event cannot tell a write from a sync: the lost vote shows when the node restarts without it',
      'M-VOTE': 'the restarted node votes again in the same term',
      'RV-2': 'the restarted node grants a vote its lost one forbade',
      'S-ES': 'the second vote elects a second leader of the term',
    },
    story:
      'Figure 2 keeps votedFor on stable storage before replying. Here the decision to fsync looks at the term only, so a grant in a term the node already had leaves unsynced; a crash loses it, and the node votes for someone else in that term (cornerstone#65: N2 votes for N1, restarts, votes for N3 → two leaders of term 1).',
    sources: ['datatechnology/cornerstone#65', 'vesoft-inc/nebula PR #3415', 'xnnyygn/xraft#29'],
    edits: [
      {
        file: CORE,
        describe: 'ready: mustSync when the term changed, no longer when only the vote did',
        apply: (file) =>
          swap(
            member(file, 'RaftNode', 'ready'),
            SyntaxKind.BinaryExpression,
            'hardState.currentTerm !== this.lastHardState.currentTerm || hardState.votedFor !== this.lastHardState.votedFor',
            'hardState.currentTerm !== this.lastHardState.currentTerm',
          ),
      },
    ],
  },
  {
    id: 'stale-vote-counted',
    bug: 'B04',
    title: 'a RequestVote reply from an earlier term is counted toward the current election',
    rule: 'C-2',
    consequences: { 'S-ES': 'the stolen majority elects a second leader of the term' },
    story:
      'A votes for B in term 1, the reply is delayed; B times out and starts term 2; the term-1 vote arrives and B counts it — B leads term 2 without a term-2 majority, and C can lead term 2 too.',
    sources: ['xnnyygn/xraft#33 (SandTable §6.1)', 'andreev-io/little-raft#44'],
    edits: [
      {
        file: CORE,
        describe: 'step: stale-term RequestVoteResponses are not dropped but stepped like current ones',
        apply: (file) => swap(member(file, 'RaftNode', 'step'), SyntaxKind.BinaryExpression, 'msg.term < this.currentTerm', "msg.term < this.currentTerm && msg.type !== 'RequestVoteResponse'"),
      },
    ],
  },
  {
    id: 'duplicate-vote-counted',
    bug: 'B05',
    title: 'votes are counted per granted reply, not per distinct voter',
    rule: 'C-2',
    consequences: { 'S-ES': 'a candidate "elected" by one voter counted twice shares the term with the real winner' },
    story:
      'The candidate counts granted replies; a duplicated reply (network duplicate, retransmission) counts twice, so two real votes make a majority of five.',
    sources: ['ktoso/akka-raft#45', 'ktoso/akka-raft#47'],
    nodes: 5,
    note: 'five nodes: with three, the candidate plus any one voter is already a majority, so a vote counted twice changes nothing',
    edits: [
      {
        file: CORE,
        describe: 'handleVote: each granted reply is a new element of votesGranted',
        apply: (file) =>
          swap(member(file, 'RaftNode', 'handleVote'), SyntaxKind.ExpressionStatement, 'this.votesGranted.add(from);', 'this.votesGranted.add(`${from}#${this.votesGranted.size}`); // BUG B05: one element per reply'),
      },
    ],
  },
  {
    id: 'vote-length-only',
    bug: 'B06',
    title: 'the vote\'s up-to-date check compares log lengths only',
    rule: 'RV-2',
    consequences: {
      'S-LC': 'a leader elected without a committed entry',
      'S-SMS': 'that leader overwrites a committed entry, which another node applied',
    },
    story:
      'The voter grants to any candidate whose log is at least as long, whatever the last term: a candidate with a longer log of stale entries wins and overwrites committed ones ("No cheating and just checking the length!").',
    sources: ['ktoso/akka-raft#51 (duplicate of #30)', 'Students\' Guide to Raft'],
    edits: [
      {
        file: CORE,
        describe: 'handleRequestVote: upToDate = lastLogIndex ≥ ours',
        apply: (file) =>
          swap(
            member(file, 'RaftNode', 'handleRequestVote'),
            SyntaxKind.VariableDeclaration,
            'upToDate = msg.lastLogTerm > this.log.lastTerm() || (msg.lastLogTerm === this.log.lastTerm() && msg.lastLogIndex >= this.log.lastIndex())',
            'upToDate = msg.lastLogIndex >= this.log.lastIndex()',
          ),
      },
    ],
  },
  {
    id: 'timer-not-reset-on-grant',
    bug: 'B08',
    title: 'granting a vote does not reset the election timer',
    rule: 'F-2',
    consequences: { liveness: 'voters keep timing out right after voting and disrupt the leader they just elected' },
    story:
      'A node that has just voted becomes candidate at its next timeout anyway, deposing the leader it helped elect (hashicorp/raft PR #91: 1–2% of test runs failed; jgroups-raft#45).',
    sources: ['hashicorp/raft PR #91', 'belaban/jgroups-raft#45'],
    edits: [
      {
        file: CORE,
        describe: 'handleRequestVote: no resetElectionTimer() on a grant',
        apply: (file) => removeStatement(member(file, 'RaftNode', 'handleRequestVote'), 'this.resetElectionTimer();'),
      },
    ],
  },
  {
    id: 'candidate-never-retries',
    bug: 'B08',
    title: 'a candidate whose election timed out does not start a new election',
    rule: 'C-4',
    consequences: { liveness: 'after a split vote every candidate waits forever: the healed cluster never elects a leader' },
    story: 'After a split vote all servers stayed candidates of the same term, none restarting its election (akka-raft#31).',
    sources: ['ktoso/akka-raft#31'],
    edits: [
      {
        file: CORE,
        describe: 'tick: the election timeout fires for followers only',
        apply: (file) =>
          swap(member(file, 'RaftNode', 'tick'), SyntaxKind.BinaryExpression, 'this.electionElapsedTicks >= this.electionTimeoutTicks', "this.electionElapsedTicks >= this.electionTimeoutTicks && this.role !== 'candidate'"),
      },
    ],
  },
  {
    id: 'term-from-snapshot',
    bug: 'B10',
    title: 'a restarting node takes currentTerm from its snapshot\'s last included term',
    rule: 'M-TERM',
    consequences: {
      'P-2': 'the node recovers a term other than the one it persisted',
      'M-VOTE': 'back in an older term, it votes there again',
      'S-ES': 'a second leader of a term it had already voted in',
    },
    story: 'Loading a snapshot set current_term = last_included_term unconditionally; when the snapshot is older than the term, currentTerm goes back.',
    sources: ['willemt/raft PR 118 (SandTable §3.3)', 'RedisLabs/raft#49'],
    edits: [
      {
        file: CORE,
        describe: 'constructor: currentTerm = snapshot.lastIncludedTerm when there is a snapshot',
        apply: (file) =>
          statement(member(file, 'RaftNode', 'constructor'), 'this.currentTerm = durable?.hardState.currentTerm ?? 0;').replaceWithText(
            'this.currentTerm = this.snapshot?.lastIncludedTerm ?? durable?.hardState.currentTerm ?? 0; // BUG B10',
          ),
      },
    ],
  },
  {
    id: 'higher-term-response-ignored',
    bug: 'B07',
    title: 'a response carrying a higher term is handled without adopting the term',
    rule: 'ALL-2',
    consequences: { liveness: 'a deposed leader keeps leading its old term until a request reaches it' },
    story:
      'In the AppendEntries-reply handler the branches were swapped, so a stale leader ignored a reply carrying a higher term (verdi-raft#29); goraft updated the peer\'s index from such a reply and later panicked (PR #162).',
    sources: ['uwplse/verdi-raft#29', 'goraft/raft PR #162'],
    edits: [
      {
        file: CORE,
        describe: 'step: ALL-2 applied to requests only',
        apply: (file) => swap(member(file, 'RaftNode', 'step'), SyntaxKind.BinaryExpression, 'msg.term > this.currentTerm', "msg.term > this.currentTerm && !msg.type.endsWith('Response')"),
      },
    ],
  },
];
