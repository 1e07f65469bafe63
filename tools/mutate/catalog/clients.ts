/**
 * Mutants of the client-facing layer (bug-catalog.md §E): reads in the core (§8 ReadIndex) and
 * the KV state machine's client sessions (impl/kv/store.ts), each a real bug as an AST edit.
 */
import { SyntaxKind } from 'ts-morph';
import { ifStatement, member, removeStatement, swap, variable } from '../ast.ts';
import type { Mutant } from '../types.ts';

const CORE = 'impl/core/raft-node.ts';
const KV = 'impl/kv/store.ts';

export const CLIENT_MUTANTS: readonly Mutant[] = [
  {
    id: 'read-without-confirmation',
    bug: 'B27',
    title: 'a read is released at once, without the heartbeat round that confirms leadership (ReadIndex skipped)',
    rule: 'CL-LIN',
    consequences: {},
    story:
      'A partitioned leader still serves reads from its local state while the majority elects a new leader and commits writes: stale reads (Jepsen on etcd and Consul; d-engine#381 answered the ReadIndex before the confirming round).',
    sources: ['deventlab/d-engine#381', 'hashicorp/consul#54', 'hashicorp/raft#108', 'sofastack/sofa-jraft#25'],
    edits: [
      {
        file: CORE,
        describe: 'startReadRound: the leader\'s own ack is enough',
        apply: (file) => swap(member(file, 'RaftNode', 'startReadRound'), SyntaxKind.BinaryExpression, 'read.acks.size >= quorum(this.voters)', 'read.acks.size >= 1'),
      },
    ],
  },
  {
    id: 'read-before-noop',
    bug: 'B28',
    title: 'a new leader answers reads before its no-op (an entry of its term) is committed',
    rule: 'CL-NOOP',
    consequences: { 'CL-LIN': 'the read, at the new leader\'s stale commitIndex, misses a write the old leader acknowledged' },
    story:
      'The library "did not implement a no-op entry following leader election which resulted with incorrect commit index and thereby a stale read" (redisraft PR #22); etcd tests it as TestReadOnlyForNewLeader.',
    sources: ['RedisLabs/redisraft PR #22', 'etcd TestReadOnlyForNewLeader'],
    edits: [
      {
        file: CORE,
        describe: 'readIndex: no wait for an entry of the current term to commit',
        apply: (file) => ifStatement(member(file, 'RaftNode', 'readIndex'), 'this.log.term(this.commitIndex) !== this.currentTerm').remove(),
      },
    ],
  },
  {
    id: 'no-session-dedup',
    bug: 'B29',
    title: 'the state machine executes a retried command again instead of answering it from the session',
    rule: 'CL-ONCE',
    consequences: {
      assertion:
        'the KV store asserts that a session only moves to a higher sequence (`CL-ONCE: a session only moves to a higher seq`) when the retry executes; CL-ONCE itself is not checkable from a v1 trace',
      'CL-LIN': 'a write taking effect twice is seen by a read',
    },
    story:
      'A delete committed, the leader crashed before acknowledging it, the client retried on the new leader, and the retry was applied again because nothing recognized it (curvine#676); the Students\' Guide: duplicate detection by (client id, sequence number) in the replicated state machine.',
    sources: ['CurvineIO/curvine#676', 'RedisLabs/redisraft#13', 'Students\' Guide to Raft ("duplicate detection")'],
    edits: [
      {
        file: KV,
        describe: 'KvStore.apply: no answer from the session for a retry of the latest command',
        apply: (file) => removeStatement(member(file, 'KvStore', 'apply'), "if (cmd.seq === session.seq) return Object.freeze({ kind: 'duplicate', outcome: session.outcome });"),
      },
    ],
  },
  {
    id: 'sessions-not-in-snapshot',
    bug: 'B29',
    title: 'the client session table is left out of the snapshot (not replicated with the state)',
    rule: 'CL-ONCE',
    consequences: {
      'S-SMS':
        'CL-ONCE is not checkable from a v1 trace (apply events carry no client sequence); a replica restored from a snapshot executes a retry that the others drop as a duplicate, and the simulator sees the state machines diverge',
      'CL-LIN': 'a write taking effect twice is seen by a read',
    },
    story:
      'The dedup table (client id → last sequence) must live in the replicated state machine; kept outside it — cached only on the old leader, or left out of the snapshot — a retry after failover or restart is applied twice (curvine#676: a delete applied twice; Jepsen redisraft#13).',
    sources: ['CurvineIO/curvine#676', 'RedisLabs/redisraft#13 and #52', 'Students\' Guide to Raft ("duplicate detection")'],
    edits: [
      {
        file: KV,
        describe: 'KvStore.snapshot: writes no sessions',
        apply: (file) => void variable(member(file, 'KvStore', 'snapshot'), 'sessions').setInitializer('[] as never[] /* BUG B29: sessions stay out of the snapshot */'),
      },
    ],
  },
];
