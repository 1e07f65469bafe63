/**
 * Mutants of the AppendEntries receiver (bug-catalog.md §B): each a real bug, written into the
 * reference core (impl/core/raft-node.ts, raft-log.ts) as an AST edit.
 */
import { SyntaxKind } from 'ts-morph';
import { classOf, ifStatement, insertAtStart, member, removeStatement, swap } from '../ast.ts';
import type { Mutant } from '../types.ts';

const CORE = 'impl/core/raft-node.ts';
const LOG = 'impl/core/raft-log.ts';

/** The AE-2 condition of handleAppendEntries, which two mutants weaken differently. */
const PREV_CHECK = '!this.log.matches(msg.prevLogIndex, msg.prevLogTerm)';

export const FOLLOWER_LOG_MUTANTS: readonly Mutant[] = [
  {
    id: 'truncate-always',
    bug: 'B11',
    title: 'the follower deletes its log after prevLogIndex on every AppendEntries, conflict or not',
    rule: 'AE-3',
    consequences: {
      'S-LM': 'the follower re-appends a different suffix',
      'S-SMS': 'a committed entry deleted from a majority is overwritten and applied differently',
      'M-COMMIT': 'the follower\'s log ends below its commitIndex',
    },
    story:
      'A delayed heartbeat (prev 0) reaches a follower that has since acknowledged entry 1, which the leader committed; the follower truncates because its last index differs from prevLogIndex, and the committed entry is no longer on a majority.',
    sources: ['zhebrak/raftos#26 (SandTable §2.2)', 'databendlabs/databend PR #3914', 'Students\' Guide to Raft'],
    edits: [
      {
        file: CORE,
        describe: 'mergeEntries: truncate from prevLogIndex + 1 first, whenever the log goes past it',
        apply: (file) =>
          insertAtStart(
            member(file, 'RaftNode', 'mergeEntries'),
            [
              '// BUG B11: delete everything after prevLogIndex, conflict or not (heartbeats too).',
              'if (prevLogIndex >= this.log.snapshotIndex && prevLogIndex < this.log.lastIndex()) {',
              '  this.log.truncateFrom(prevLogIndex + 1);',
              "  this.sink?.({ ev: 'truncate', node: this.id, from: prevLogIndex + 1 });",
              '}',
            ].join('\n'),
          ),
      },
    ],
  },
  {
    id: 'conflict-keeps-tail',
    bug: 'B12',
    title: 'a conflicting entry is overwritten in place and the entries after it are kept',
    rule: 'AE-3',
    consequences: {
      assertion:
        'the simulated disk refuses the follower\'s log: the stale tail kept after the overwritten entry has older terms (terms never decrease along a Raft log); a real disk stores it, and the follower later votes and replicates from it (S-LM)',
      'S-LM': 'the kept tail pairs entries of two histories',
      liveness: 'the follower\'s log stays longer than the leader\'s: the healed cluster never converges',
    },
    story:
      'Follower [E1..E3 t1, E4 t2, E5 t2]; a new leader sends prev=3, [E4 t3]; the follower writes E4 t3 over E4 t2 and keeps the stale E5 t2 (AE-3 says: delete the entry and all that follow it).',
    sources: ['mofa-org/mofa PR #1151', 'andrewjstone/rafter PR #34'],
    edits: [
      {
        file: LOG,
        describe: 'RaftLog: a new method overwrite(entry) that writes one entry over another, keeping the rest',
        apply: (file) => {
          const cls = classOf(file, 'RaftLog');
          const truncate = member(file, 'RaftLog', 'truncateFrom');
          cls.insertMember(
            cls.getMembers().findIndex((m) => m === truncate) + 1,
            [
              '/** BUG B12: writes `entry` over the one at its index and keeps the entries after it. */',
              'overwrite(entry: Entry): void {',
              '  if (entry.index < this.memFirst) {',
              '    // Bring the durable entries from there on back into memory, to overwrite in place.',
              '    this.mem = [...this.fromStorage(entry.index, this.memFirst), ...this.mem];',
              '    this.memFirst = entry.index;',
              '  }',
              '  this.mem[entry.index - this.memFirst] = entry;',
              '  this.stableIndex = Math.min(this.stableIndex, entry.index - 1);',
              '  this.unstableFrom = Math.min(this.unstableFrom, entry.index);',
              '}',
            ].join('\n'),
          );
        },
      },
      {
        file: CORE,
        describe: 'mergeEntries: on a conflict, overwrite the entry instead of truncating from it',
        apply: (file) =>
          ifStatement(member(file, 'RaftNode', 'mergeEntries'), 'existing !== undefined').replaceWithText(
            [
              'if (existing !== undefined) {',
              '  // BUG B12: the conflicting entry is overwritten in place; the entries after it stay.',
              "  const replaced: Entry = { index, term: sent.term, kind: sent.kind ?? 'command', data: sent.digest ?? '' };",
              '  this.log.overwrite(replaced);',
              '  (appended ??= []).push(replaced);',
              '  continue;',
              '}',
            ].join('\n'),
          ),
      },
    ],
  },
  {
    id: 'commit-to-log-end',
    bug: 'B13',
    title: 'the follower sets commitIndex = min(leaderCommit, its last index), not the last new entry\'s index',
    rule: 'AE-5',
    consequences: { 'S-SMS': 'the follower applies a stale entry past the batch that the leader never had' },
    story:
      'A leads term 1, commits up to 9, logs 10, crashes; B leads term 2 and commits a different 10; B\'s empty AppendEntries (prev 9, commit 11) reaches A, which commits its stale entry 10. Stopping at the end of the log is not enough: the entries after the batch are unchecked.',
    sources: ['atomix/copycat#265 and PR #110', 'scylladb/scylladb#9965', 'lerna-stack/akka-entity-replication#165/#166', 'Students\' Guide to Raft'],
    edits: [
      {
        file: CORE,
        describe: 'handleAppendEntries: vouched = min(leaderCommit, log.lastIndex())',
        apply: (file) =>
          swap(member(file, 'RaftNode', 'handleAppendEntries'), SyntaxKind.CallExpression, 'Math.min(msg.leaderCommit, lastNewIndex)', 'Math.min(msg.leaderCommit, this.log.lastIndex())'),
      },
    ],
  },
  {
    id: 'heartbeat-skips-prev-check',
    bug: 'B13',
    title: 'an AppendEntries without entries (a heartbeat) skips the prevLogIndex/prevLogTerm check',
    rule: 'AE-2',
    consequences: {
      'AE-5': 'the unchecked heartbeat vouches for a commit index the follower\'s log does not match',
      'S-SMS': 'the follower commits and applies its own stale entry at an index the leader committed differently',
      assertion: 'the core refuses a commitIndex past its last index (`commitIndex … past the last index`): the follower trusted a heartbeat anchored beyond its log — etcd-io/raft PR #31 panicked the same way',
    },
    story:
      'Heartbeats were treated as special: with no entries, the prevLog check was skipped, the follower answered success and raised its commitIndex onto an entry that did not match the leader\'s (copycat#265; WRaft#118.2: an empty AppendEntries with prev=0 passed).',
    sources: ['atomix/copycat#265', 'willemt/raft PR 118 (SandTable §3.2)', 'Students\' Guide to Raft ("heartbeats are not special")'],
    edits: [
      {
        file: CORE,
        describe: 'handleAppendEntries: AE-2 only when entries.length > 0',
        apply: (file) => swap(member(file, 'RaftNode', 'handleAppendEntries'), SyntaxKind.PrefixUnaryExpression, PREV_CHECK, `msg.entries.length > 0 && ${PREV_CHECK}`),
      },
    ],
  },
  {
    id: 'prev-beyond-end-accepted',
    bug: 'B14',
    title: 'a prevLogIndex past the end of the follower\'s log is accepted',
    rule: 'AE-2',
    consequences: {
      assertion:
        'the core\'s log refuses to append past a gap (RaftLog.append: contiguous indices) or to commit past its end; a real implementation panics there (etcd-io/raft PR #31) or leaves a hole',
      'AE-5': 'a probe past the end vouches for a commit index the follower does not hold',
    },
    story:
      'The Students\' Guide: a prevLogIndex beyond your log is a mismatch (reply false). In etcd-io/raft PR #31 a missing entry\'s term read as 0 "matched", and the follower tried to commit beyond its last index and panicked.',
    sources: ['etcd-io/raft PR #31', 'etcd TestFollowerCheckMsgApp', 'Students\' Guide to Raft'],
    edits: [
      {
        file: CORE,
        describe: 'handleAppendEntries: AE-2 only when prevLogIndex ≤ our last index',
        apply: (file) => swap(member(file, 'RaftNode', 'handleAppendEntries'), SyntaxKind.PrefixUnaryExpression, PREV_CHECK, `msg.prevLogIndex <= this.log.lastIndex() && ${PREV_CHECK}`),
      },
    ],
  },
  {
    id: 'follower-commit-decreases',
    bug: 'B15',
    title: 'the follower sets commitIndex from every AppendEntries, lower or not',
    rule: 'M-COMMIT',
    consequences: { 'SN-1': 'a snapshot through entries the node no longer counts as committed' },
    story: 'A and B have commit 1; A replicates 2 to B and commits 2; B is elected and sends a heartbeat with commit 1; A sets its commitIndex back to 1 (no max).',
    sources: ['bakwc/PySyncObj#166 (SandTable §1.2)', 'etcd TestLogMaybeAppend "commit do not decrease"'],
    edits: [
      {
        file: CORE,
        describe: 'handleAppendEntries: commitIndex = vouched whenever they differ (and the commit event says so)',
        apply: (file) =>
          swap(
            member(file, 'RaftNode', 'handleAppendEntries'),
            SyntaxKind.IfStatement,
            'if (vouched > this.commitIndex) this.setCommitIndex(vouched);',
            "if (vouched !== this.commitIndex) {\n  // BUG B15: commitIndex follows the leader's word, down too.\n  this.commitIndex = vouched;\n  this.sink?.({ ev: 'commit', node: this.id, commitIndex: vouched });\n}",
          ),
      },
    ],
  },
  {
    id: 'reappend-compacted',
    bug: 'B16',
    title: 'entries at or below the snapshot point are appended again from a stale AppendEntries',
    rule: 'S-LM',
    consequences: {
      assertion: 'the core\'s log refuses to append an index that is not its next one (RaftLog.append): where WRaft appended it and shifted its log by one against the leader\'s',
    },
    story:
      'A duplicate AppendEntries with prev 0 and entry 1 is delayed; the follower commits and snapshots entry 1; the stale message arrives and entry 1 is appended again, shifting the log by one.',
    sources: ['willemt/raft PR 118 (SandTable §3.1)'],
    edits: [
      {
        file: CORE,
        describe: 'mergeEntries: no skip of indices inside the snapshot',
        apply: (file) => removeStatement(member(file, 'RaftNode', 'mergeEntries'), 'if (index <= this.log.snapshotIndex) continue;'),
      },
    ],
  },
];
