/**
 * Properties of the store over random command sequences: replicas agree (S-SMS), snapshots are
 * invisible (§7), and retries change nothing (CL-ONCE). Each property comes with a check that it
 * can fail, run against a deliberately broken variant.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCommand, type KvCommand } from '../../../impl/kv/command.ts';
import { KvStore, type KvOutcome } from '../../../impl/kv/store.ts';
import { KEYS, arbHistory, arbLogItems, type LogItem } from './arbitraries.ts';

const arbMaxSessions = fc.integer({ min: 1, max: 6 });

/** Applies log items at indices 1, 2, 3…; returns every outcome (`skip` entries give none). */
function applyAll(store: KvStore, items: readonly LogItem[], encode: (cmd: KvCommand) => string = encodeCommand, firstIndex = 1): KvOutcome[] {
  const outcomes: KvOutcome[] = [];
  items.forEach((item, i) => {
    if (item.kind === 'skip') store.skip(firstIndex + i);
    else outcomes.push(store.apply(firstIndex + i, encode(item.cmd)));
  });
  return outcomes;
}

/** The same command as JSON with every object's fields in reverse order: another replica's equally valid bytes. */
function encodeReversed(cmd: KvCommand): string {
  const reverse = (o: object) => Object.fromEntries(Object.entries(o).reverse());
  return JSON.stringify(reverse({ ...cmd, op: reverse(cmd.op) }), null, 1);
}

function dataOf(store: KvStore): (string | null)[] {
  return KEYS.map((k) => store.get(k));
}

describe('(1) replicas that apply the same log agree (S-SMS)', () => {
  it('two stores fed the same commands, encoded differently, have identical outcomes, snapshots and digests at every step', () => {
    fc.assert(
      fc.property(arbLogItems, arbMaxSessions, (items, maxSessions) => {
        const a = new KvStore({ maxSessions });
        const b = new KvStore({ maxSessions });
        items.forEach((item, i) => {
          expect(applyAll(b, [item], encodeReversed, i + 1)).toStrictEqual(applyAll(a, [item], encodeCommand, i + 1));
          expect(b.digest()).toBe(a.digest());
        });
        expect(b.snapshot()).toBe(a.snapshot());
      }),
      { numRuns: 200 },
    );
  });

  it('can fail: replicas with different session bounds diverge, and the digest shows it', () => {
    const result = fc.check(
      fc.property(arbLogItems, (items) => {
        const a = new KvStore({ maxSessions: 1 });
        const b = new KvStore({ maxSessions: 5 });
        applyAll(a, items);
        applyAll(b, items);
        expect(dataOf(b)).toStrictEqual(dataOf(a));
        expect(b.digest()).toBe(a.digest());
      }),
      { numRuns: 200, seed: 7 },
    );
    expect(result.failed).toBe(true);
  });
});

describe('(2) a snapshot at any point changes nothing that follows (§7)', () => {
  it('snapshot/restore at a random point, then continuing, ends with the digest of never snapshotting', () => {
    fc.assert(
      fc.property(arbLogItems, arbMaxSessions, fc.nat(), (items, maxSessions, cutAt) => {
        const cut = cutAt % (items.length + 1);
        const straight = new KvStore({ maxSessions });
        const straightOutcomes = applyAll(straight, items);

        const before = new KvStore({ maxSessions });
        const outcomes = applyAll(before, items.slice(0, cut));
        const snapshot = before.snapshot();
        const restored = KvStore.restore(snapshot);
        expect(restored.snapshot()).toBe(snapshot);
        outcomes.push(...applyAll(restored, items.slice(cut), encodeCommand, cut + 1));

        expect(outcomes).toStrictEqual(straightOutcomes);
        expect(restored.digest()).toBe(straight.digest());
      }),
      { numRuns: 300 },
    );
  });

  it('can fail: a restore that forgets the eviction order is caught', () => {
    // The broken restore re-inserts sessions in clientId order instead of log order, as a naive
    // restore would; with small bounds the wrong client is evicted later.
    const naiveRestore = (snapshot: string): KvStore => {
      const snap = JSON.parse(snapshot) as { sessions: { clientId: string; index: number }[]; lastAppliedIndex: number };
      const renumbered = snap.sessions.map((s, i) => ({ ...s, index: snap.sessions.length - i }));
      return KvStore.restore(JSON.stringify({ ...snap, sessions: renumbered, lastAppliedIndex: Math.max(snap.lastAppliedIndex, renumbered.length) }));
    };
    const result = fc.check(
      fc.property(arbLogItems, arbMaxSessions, fc.nat(), (items, maxSessions, cutAt) => {
        const cut = cutAt % (items.length + 1);
        const straight = new KvStore({ maxSessions });
        const straightOutcomes = applyAll(straight, items);
        const before = new KvStore({ maxSessions });
        const outcomes = applyAll(before, items.slice(0, cut));
        const restored = naiveRestore(before.snapshot());
        outcomes.push(...applyAll(restored, items.slice(cut), encodeCommand, Math.max(cut, restored.lastAppliedIndex) + 1));
        expect(outcomes).toStrictEqual(straightOutcomes);
      }),
      { numRuns: 500, seed: 7 },
    );
    expect(result.failed).toBe(true);
  });
});

/** A history with retries inserted: each retry re-sends an earlier command of the history (same clientId and seq). */
const arbHistoryWithRetries = fc
  .tuple(arbHistory, fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 30 }))
  .map(([history, insertions]) => {
    // After position p (1..n) a retry of history[r] with r < p; positions and picks are resolved
    // modulo the history, so every pair stays valid while fast-check shrinks.
    const retriesAfter = new Map<number, number[]>();
    for (const [at, which] of insertions) {
      if (history.length === 0) break;
      const p = (at % history.length) + 1;
      retriesAfter.set(p, [...(retriesAfter.get(p) ?? []), which % p]);
    }
    const merged: { cmd: KvCommand; retryOf: number | null }[] = [];
    history.forEach((cmd, i) => {
      merged.push({ cmd, retryOf: null });
      for (const r of retriesAfter.get(i + 1) ?? []) merged.push({ cmd: history[r] ?? cmd, retryOf: r });
    });
    return { history, merged };
  });

describe('(3) CL-ONCE: retried commands take effect at most once', () => {
  function checkRetries(maxSessions: number) {
    return fc.property(arbHistoryWithRetries, ({ history, merged }) => {
      const once = new KvStore({ maxSessions });
      const firstOutcomes = history.map((cmd, i) => once.apply(i + 1, encodeCommand(cmd)));

      const retried = new KvStore({ maxSessions });
      const latestSeq = new Map<string, number>();
      const outcomes: KvOutcome[] = [];
      merged.forEach(({ cmd, retryOf }, i) => {
        const outcome = retried.apply(i + 1, encodeCommand(cmd));
        if (retryOf === null) {
          outcomes.push(outcome);
          latestSeq.set(cmd.clientId, cmd.seq);
        } else if (latestSeq.get(cmd.clientId) === cmd.seq) {
          // CL-ONCE: the retry of the client's latest command gets the first answer.
          expect(outcome).toStrictEqual({ kind: 'duplicate', outcome: firstOutcomes[retryOf] });
        } else {
          expect(outcome).toStrictEqual({ kind: 'stale' });
        }
      });
      // Every original command saw the same state as without retries, and the data ends the same.
      expect(outcomes).toStrictEqual(firstOutcomes);
      expect(dataOf(retried)).toStrictEqual(dataOf(once));
    });
  }

  it('CL-ONCE: inserting retries anywhere changes no outcome and no data', () => {
    fc.assert(checkRetries(10_000), { numRuns: 300 });
  });

  it('CL-ONCE can fail: with a session table too small for the clients, evicted retries apply twice and are caught', () => {
    const result = fc.check(checkRetries(1), { numRuns: 300, seed: 7 });
    expect(result.failed).toBe(true);
  });
});
