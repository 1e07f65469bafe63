/**
 * Mutants of log compaction and InstallSnapshot (bug-catalog.md §D, Figure 13): each a real bug,
 * written into the reference core (impl/core/raft-node.ts) as an AST edit.
 */
import { SyntaxKind } from 'ts-morph';
import { member, swap } from '../ast.ts';
import type { Mutant } from '../types.ts';

const CORE = 'impl/core/raft-node.ts';

/** installSnapshot's IS-6/IS-7 decision, which two mutants get wrong in opposite directions. */
const KEEP_SUFFIX = 'keepSuffix = this.log.term(snapshot.lastIncludedIndex) === snapshot.lastIncludedTerm && snapshot.lastIncludedIndex <= this.log.lastIndex()';

export const SNAPSHOT_MUTANTS: readonly Mutant[] = [
  {
    id: 'snapshot-boundary-off-by-one',
    bug: 'B23',
    title: 'the leader sends a snapshot only when nextIndex < snapshotIndex (should be ≤)',
    rule: 'L-3',
    consequences: {
      assertion:
        'with nextIndex = snapshotIndex the leader builds an AppendEntries whose prevLogIndex (snapshotIndex − 1) it has compacted: the core asserts it has no term there (`leader has no term at …`), where the C library sent one it could not build',
    },
    story: 'When next_idx == snapshot_last_idx the leader must send the snapshot; the check was `<` and was fixed to `<=`.',
    sources: ['RedisLabs/raft PR #47', 'nats-io/nats-server PR #8321', 'deventlab/d-engine#418'],
    edits: [
      {
        file: CORE,
        describe: 'sendAppend: `pr.nextIndex < this.log.snapshotIndex` starts a snapshot',
        apply: (file) => swap(member(file, 'RaftNode', 'sendAppend'), SyntaxKind.BinaryExpression, 'pr.nextIndex <= this.log.snapshotIndex', 'pr.nextIndex < this.log.snapshotIndex'),
      },
    ],
  },
  {
    id: 'snapshot-discards-matching-log',
    bug: 'B24',
    title: 'InstallSnapshot discards the whole log even when it holds the snapshot\'s last entry',
    rule: 'IS-6',
    consequences: {
      'P-1':
        'an acknowledgement of the discarded entries, created before the snapshot arrived, leaves after the discard: the node acknowledges entries its durable log no longer holds (the checker\'s IS-6 check only looks at truncations that start after the snapshot point, and this one starts at the log\'s first entry)',
      'S-LC': 'entries after the snapshot that a majority acknowledged are gone from one of that majority',
      'S-SMS': 'a committed entry lost this way is later overwritten and applied differently',
    },
    story:
      'A snapshot behind the log made the follower truncate, deleting the newer entries and keeping the prefix the snapshot covers; Figure 13 says entries following the snapshot are still valid and must be retained (zeebe#6092; openraft PR #509 treated a purged prev entry as a conflict and deleted all logs: "committed log lost").',
    sources: ['camunda/zeebe#6092', 'databendlabs/openraft PR #509/#512'],
    edits: [
      {
        file: CORE,
        describe: 'installSnapshot: keepSuffix = false',
        apply: (file) => swap(member(file, 'RaftNode', 'installSnapshot'), SyntaxKind.VariableDeclaration, KEEP_SUFFIX, 'keepSuffix = false'),
      },
    ],
  },
  {
    id: 'snapshot-keeps-conflicting-log',
    bug: 'B24',
    title: 'InstallSnapshot keeps the log after the snapshot point without checking the term there',
    rule: 'IS-7',
    consequences: {
      'P-2': 'the core keeps entries its storage discarded (the storage decides IS-7 itself): after a restart the node\'s log is not what it acknowledged',
      'S-LM': 'the kept entries belong to another history than the snapshot',
      liveness: 'every later AppendEntries fails the term check at the snapshot point and the leader resends the snapshot forever (hashicorp/raft PR #704)',
    },
    story:
      'compactLogs left the entry at the snapshot\'s last index with the wrong term; every later AppendEntries failed the term check, and the leader resent the snapshot forever (hashicorp/raft PR #704); etcd#10358 asks about a newer snapshot kept with conflicting entries after it.',
    sources: ['hashicorp/raft PR #704', 'etcd-io/etcd#10358'],
    edits: [
      {
        file: CORE,
        describe: 'installSnapshot: keepSuffix whenever the log reaches the snapshot point',
        apply: (file) => swap(member(file, 'RaftNode', 'installSnapshot'), SyntaxKind.VariableDeclaration, KEEP_SUFFIX, 'keepSuffix = snapshot.lastIncludedIndex <= this.log.lastIndex()'),
      },
    ],
  },
  {
    id: 'older-snapshot-installed',
    bug: 'B25',
    title: 'a snapshot older than what the follower committed and applied is installed',
    rule: 'IS-8',
    consequences: {
      assertion:
        'the simulator asserts IS-8 when it hands the snapshot to the state machine (`handed a snapshot at … but applied … already`), in the same tick, before the checker sees the restore event',
    },
    story: 'Installing a snapshot older than the applied state reverted the state machine, and logs between the snapshot and last_applied could never be applied again.',
    sources: ['databendlabs/openraft PR #543'],
    edits: [
      {
        file: CORE,
        describe: 'handleInstallSnapshot: ignore a snapshot only when it is not past our own snapshot (not our commitIndex)',
        apply: (file) => swap(member(file, 'RaftNode', 'handleInstallSnapshot'), SyntaxKind.BinaryExpression, 'msg.lastIncludedIndex <= this.commitIndex', 'msg.lastIncludedIndex <= this.log.snapshotIndex'),
      },
    ],
  },
];
