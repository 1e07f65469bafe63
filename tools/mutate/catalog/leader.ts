/**
 * Mutants of the leader's replication bookkeeping and commitment (bug-catalog.md §C): each a real
 * bug, written into the reference core (impl/core/raft-node.ts, progress.ts) as an AST edit.
 */
import { SyntaxKind } from 'ts-morph';
import { member, swap } from '../ast.ts';
import type { Mutant } from '../types.ts';

const CORE = 'impl/core/raft-node.ts';
const PROGRESS = 'impl/core/progress.ts';

export const LEADER_MUTANTS: readonly Mutant[] = [
  {
    id: 'commit-by-counting',
    bug: 'B17',
    title: 'the leader commits the highest index on a majority, whatever its term (Figure 8)',
    rule: 'L-4',
    consequences: {
      'S-SMS': 'the entry committed by counting is overwritten by a later leader and applied differently',
      'S-LC': 'a later leader lacks the entry committed by counting',
      'S-LM': 'logs that disagree below an entry they share',
    },
    story:
      'Figure 8: a leader commits an entry of an earlier term because a majority holds it; a later leader that never had it overwrites it. PySyncObj#169 gives a 3-node path to a term-1 entry committed at term 3.',
    sources: ['bakwc/PySyncObj#169 (SandTable §1.5)', 'async-raft/async-raft#108', 'etcd TestLeaderOnlyCommitsLogFromCurrentTerm'],
    edits: [
      {
        file: CORE,
        describe: 'maybeCommit: no `log[N].term == currentTerm` condition',
        apply: (file) => swap(member(file, 'RaftNode', 'maybeCommit'), SyntaxKind.BinaryExpression, 'n <= this.commitIndex || this.log.term(n) !== this.currentTerm', 'n <= this.commitIndex'),
      },
    ],
  },
  {
    id: 'match-from-reply-time',
    bug: 'B19',
    title: 'matchIndex is set to nextIndex − 1 when a success arrives, not from the request it answers',
    rule: 'L-3',
    consequences: {
      'L-4':
        'L-3 itself is not checkable from a trace (the leader\'s nextIndex is internal); the checker counts as holders only what responses acknowledged, so the commit the inflated matchIndex allows is an L-4 violation',
      'S-SMS': 'an entry committed without a majority is lost and applied differently',
      'S-LC': 'a later leader lacks the entry committed without a majority',
    },
    story:
      'With pipelining, nextIndex runs ahead of what a follower acknowledged; a success for an older batch then raises matchIndex over entries still in flight, and the leader commits them without a majority ("Set matchIndex = prevLogIndex + len(entries[]) from the original request").',
    sources: ['Students\' Guide to Raft ("term confusion")', 'zhebrak/raftos#25 (SandTable §2.1)', 'bakwc/PySyncObj#167 (SandTable §1.4)'],
    edits: [
      {
        file: CORE,
        describe: 'handleAppendResponse: acknowledged = nextIndex − 1 at reply time',
        apply: (file) =>
          swap(member(file, 'RaftNode', 'handleAppendResponse'), SyntaxKind.VariableDeclaration, 'acknowledged = msg.matchIndex', 'acknowledged = msg.matchIndex === undefined ? undefined : pr.nextIndex - 1'),
      },
    ],
  },
  {
    id: 'next-index-below-match',
    bug: 'B20',
    title: 'a rejection sets nextIndex from its hint alone, below matchIndex + 1 if the hint is stale',
    rule: 'L-3',
    consequences: {
      assertion:
        'the core asserts its Progress invariant 0 ≤ matchIndex < nextIndex (progress.ts) as soon as a stale rejection lowers nextIndex; the trace shows only sends, and L-3 is not checkable from it (see the checker\'s UNCHECKED)',
    },
    story:
      'A stale failure reply pushed nextIndex to 1 while matchIndex was 2; nextIndex was repaired only when matchIndex grew, so the whole suffix was re-sent on every heartbeat (Truxify#8669); oraft had to "prevent the leader from decrementing next_index down to 0".',
    sources: ['Truxify#8669 and PR #8670', 'komamitsu/oraft PR #48', 'bakwc/PySyncObj#167 (SandTable §1.3)', 'etcd TestLogReplicationWithReorderedMessage'],
    edits: [
      {
        file: PROGRESS,
        describe: 'Progress.backOff: nextIndex = max(1, hint), without the clamp to [matchIndex + 1, nextIndex]',
        apply: (file) =>
          swap(member(file, 'Progress', 'backOff'), SyntaxKind.CallExpression, 'Math.max(this.matchIndex + 1, Math.min(this.nextIndex, nextIndex))', 'Math.max(1, nextIndex)'),
      },
    ],
  },
];
