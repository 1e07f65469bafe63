/**
 * The Zod gateway: every message the reference core sends crosses it unchanged (extras included),
 * and what the core could not trust — wrong types, missing command data, inconsistent indices,
 * another node's name — does not.
 */
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../../impl/core/types.ts';
import { decodePayload, encodeEnvelopeFrame, encodeHandshakeFrame, FrameKind, parseEnvelopeBatch, WireError } from '../../../impl/transport/wire.ts';
import { CoreCluster, within } from '../../support/core-harness.ts';
import { append, numbered } from './support.ts';

/** Every envelope the core sends in a run with elections, a conflict, reads, compaction and a snapshot install. */
function coreTraffic(): Envelope[] {
  const seen: Envelope[] = [];
  const c = new CoreCluster({ ids: ['n1', 'n2', 'n3'], seed: 3, snapshotThresholdEntries: 40, config: { snapshotChunkBytes: 256 } });
  const record = (filter: (m: Envelope) => boolean) => (m: Envelope) => {
    if (!filter(m)) return false;
    seen.push(m);
    return true;
  };
  const all = record(() => true);
  c.elect('n1', all);
  for (let i = 0; i < 5; i++) c.node('n1').propose(`a${i}`);
  c.deliver(all);
  // n1 is cut off and appends entries nobody gets; n2 leads term 2 with n3.
  for (let i = 0; i < 3; i++) c.node('n1').propose(`lost${i}`);
  c.processAll();
  c.drop();
  const n2n3 = record(within([['n2', 'n3']]));
  c.elect('n2', n2n3);
  for (let i = 0; i < 3; i++) c.node('n2').propose(`b${i}`);
  c.deliver(n2n3);
  c.drop();
  // n3 leads term 3 with n1, whose term-1 suffix conflicts: rejections carry conflictIndex/conflictTerm.
  const n1n3 = record(within([['n1', 'n3']]));
  c.elect('n3', n1n3);
  c.heartbeat('n3', 4, n1n3);
  c.drop();
  c.heartbeat('n3', 2, all);
  // A read confirmed by a heartbeat round (`round`).
  c.node('n3').readIndex('r1');
  c.heartbeat('n3', 2, all);
  // n2 falls behind the leader's snapshot and is sent it in chunks.
  const cut = record(within([['n1', 'n3'], ['n2']]));
  for (let i = 0; i < 120; i++) {
    c.node('n3').propose(`c${i}`);
    c.deliver(cut);
    c.drop();
  }
  for (let r = 0; r < 60; r++) {
    c.tick('n3', 2);
    c.deliver(all);
  }
  return seen;
}

const batchOf = (envelopes: readonly unknown[]): unknown => JSON.parse(`[${envelopes.map((e) => JSON.stringify(e)).join(',')}]`);

describe('wire gateway', () => {
  const traffic = coreTraffic();

  it('lets through, unchanged, every message the reference core sends — extras included', () => {
    const kinds = new Set(traffic.map((e) => e.msg.type));
    expect([...kinds].sort()).toEqual(['AppendEntries', 'AppendEntriesResponse', 'InstallSnapshot', 'InstallSnapshotResponse', 'RequestVote', 'RequestVoteResponse']);
    const has = (type: string, field: string): boolean => traffic.some((e) => e.msg.type === type && field in e.msg);
    for (const [type, field] of [
      ['AppendEntries', 'round'],
      ['AppendEntriesResponse', 'round'],
      ['AppendEntriesResponse', 'conflictIndex'],
      ['AppendEntriesResponse', 'conflictTerm'],
      ['InstallSnapshot', 'data'],
      ['InstallSnapshot', 'voters'],
      ['InstallSnapshotResponse', 'offset'],
      ['InstallSnapshotResponse', 'done'],
    ] as const) {
      expect(has(type, field), `${type}.${field} in the traffic`).toBe(true);
    }
    expect(traffic.some((e) => e.msg.type === 'AppendEntries' && e.msg.entries.some((x) => x.digest !== ''))).toBe(true);
    for (const to of ['n1', 'n2', 'n3']) {
      for (const from of ['n1', 'n2', 'n3']) {
        const sent = traffic.filter((e) => e.to === to && e.from === from);
        const { envelopes, rejected } = parseEnvelopeBatch(batchOf(sent), { self: to, peer: from });
        expect(rejected).toEqual([]);
        expect(envelopes).toEqual(sent);
      }
    }
  });

  it('refuses envelopes the core could not trust, one by one, and keeps the rest of the batch', () => {
    const good = append('n1', 'n2', 4);
    const m = good.msg as unknown as Record<string, unknown>;
    const entry = (m['entries'] as Record<string, unknown>[])[0] ?? {};
    const snapshot = { type: 'InstallSnapshot', term: 2, leaderId: 'n1', lastIncludedIndex: 9, lastIncludedTerm: 2, offset: 0, done: true, data: 'state', voters: ['n1', 'n2'] };
    const bad: [string, unknown, RegExp][] = [
      ['round as a string', { ...good, msg: { ...m, round: 'x' } }, /msg\.round/],
      ['a negative round', { ...good, msg: { ...m, round: -1 } }, /msg\.round/],
      ['an entry without its command', { ...good, msg: { ...m, entries: [{ ...entry, digest: undefined }] } }, /msg\.entries\.0\.digest/],
      ['an entry at the wrong index', { ...good, msg: { ...m, entries: [{ ...entry, index: 99 }] } }, /msg\.entries\.0\.index: entry index 99 should be prevLogIndex \+ 1 = 5/],
      ['a snapshot chunk without data', { from: 'n1', to: 'n2', msg: { ...snapshot, data: undefined } }, /msg\.data/],
      ['a snapshot without voters', { from: 'n1', to: 'n2', msg: { ...snapshot, voters: [] } }, /msg\.voters/],
      ['a snapshot response with a fractional offset', { from: 'n1', to: 'n2', msg: { type: 'InstallSnapshotResponse', term: 1, offset: 1.5 } }, /msg\.offset/],
      ['an unknown message type', { from: 'n1', to: 'n2', msg: { type: 'Gossip', term: 1 } }, /unknown message type "Gossip"/],
      ['a term below zero', numbered('n1', 'n2', -3), /msg\.term/],
      ['no envelope at all', 42, /\(envelope\)/],
      ['a message for another node', numbered('n1', 'n3', 1), /addressed to "n3", but this node is "n2"/],
    ];
    for (const [what, envelope, reason] of bad) {
      const { envelopes, rejected } = parseEnvelopeBatch(batchOf([numbered('n1', 'n2', 1), envelope, good]), { self: 'n2', peer: 'n1' });
      expect(envelopes, what).toEqual([numbered('n1', 'n2', 1), good]);
      expect(rejected, what).toHaveLength(1);
      expect(rejected[0]?.position, what).toBe(1);
      expect(rejected[0]?.reason, what).toMatch(reason);
    }
    expect(parseEnvelopeBatch(batchOf([{ from: 'n1', to: 'n2', msg: snapshot }]), { self: 'n2', peer: 'n1' }).rejected).toEqual([]);
  });

  it('treats a message in another node’s name as spoofing, which closes the link', () => {
    const spoofs: [string, unknown][] = [
      ['from another node', numbered('n3', 'n2', 1)],
      ['AppendEntries naming another leader', { ...append('n3', 'n2', 1), from: 'n1' }],
      ['RequestVote for another candidate', { from: 'n1', to: 'n2', msg: { type: 'RequestVote', term: 2, candidateId: 'n3', lastLogIndex: 0, lastLogTerm: 0 } }],
    ];
    for (const [what, envelope] of spoofs) {
      let error: unknown;
      try {
        parseEnvelopeBatch(batchOf([numbered('n1', 'n2', 1), envelope]), { self: 'n2', peer: 'n1' });
      } catch (e) {
        error = e;
      }
      expect(error, what).toBeInstanceOf(WireError);
      expect((error as WireError).kind, what).toBe('spoofed');
      expect((error as WireError).message, what).toMatch(/peer "n1" sent a message .*"n3".*only send in its own name/);
    }
  });

  it('decodes frame payloads by kind, and refuses what is not ours', () => {
    const envelopes = encodeEnvelopeFrame([JSON.stringify(numbered('n1', 'n2', 7))]).subarray(4);
    expect(decodePayload(envelopes)).toEqual({ kind: FrameKind.ENVELOPES, body: [numbered('n1', 'n2', 7)] });
    expect(decodePayload(encodeHandshakeFrame({ type: 'welcome' }).subarray(4))).toEqual({ kind: FrameKind.HANDSHAKE, body: { type: 'welcome' } });
    expect(encodeEnvelopeFrame([]).subarray(5).toString()).toBe('[]');
    const refusals: [Buffer, RegExp][] = [
      [Buffer.alloc(0), /an empty frame/],
      [Buffer.from([0x07, 0x7b, 0x7d]), /unknown kind 0x07/],
      [Buffer.from([FrameKind.ENVELOPES, ...Buffer.from('[{"from":')]), /not JSON/],
    ];
    for (const [payload, message] of refusals) expect(() => decodePayload(payload)).toThrow(message);
    expect(() => parseEnvelopeBatch({ from: 'n1' }, { self: 'n2', peer: 'n1' })).toThrow(/not an array/);
  });
});
