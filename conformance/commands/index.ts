/** The conformance commands and their fast-check arbitraries, weighted by the swarm. */
import * as fc from 'fast-check';
import type { ConformanceCommand } from './base.ts';
import { ClientCas } from './client-cas.ts';
import { ClientDelete } from './client-delete.ts';
import { ClientGet } from './client-get.ts';
import { ClientPut } from './client-put.ts';
import { Crash } from './crash.ts';
import { Deliver } from './deliver.ts';
import { Drop } from './drop.ts';
import { Duplicate } from './duplicate.ts';
import { Heal } from './heal.ts';
import { IsolateLeader } from './isolate-leader.ts';
import { PartitionOneWay } from './partition-one-way.ts';
import { Partition } from './partition.ts';
import { Reorder } from './reorder.ts';
import { Restart } from './restart.ts';
import { Snapshot } from './snapshot.ts';
import { Tick } from './tick.ts';

export { ConformanceCommand, type CommandKind, type Harness } from './base.ts';
export { ClientCas, ClientDelete, ClientGet, ClientPut, Crash, Deliver, Drop, Duplicate, Heal, IsolateLeader, Partition, PartitionOneWay, Reorder, Restart, Snapshot, Tick };

/** Relative weights of the command kinds (0 turns one off). */
export interface CommandWeights {
  readonly client: number;
  readonly tick: number;
  readonly deliver: number;
  readonly drop: number;
  readonly duplicate: number;
  readonly reorder: number;
  readonly partition: number;
  /** IsolateLeader: the leader alone on one side (stale reads, Figure 8). */
  readonly isolateLeader: number;
  readonly heal: number;
  readonly crash: number;
  readonly restart: number;
  readonly snapshot: number;
}

const idx = fc.nat({ max: 1000 });

export function commandArbitrary(w: CommandWeights, maxTickStep: number): fc.Arbitrary<ConformanceCommand> {
  const entries: { arbitrary: fc.Arbitrary<ConformanceCommand>; weight: number }[] = [
    { weight: w.tick, arbitrary: fc.integer({ min: 1, max: maxTickStep }).map((n) => new Tick(n)) },
    { weight: w.client * 3, arbitrary: fc.tuple(idx, idx, idx).map(([c, n, k]) => new ClientPut(c, n, k)) },
    { weight: w.client * 3, arbitrary: fc.tuple(idx, idx, idx).map(([c, n, k]) => new ClientGet(c, n, k)) },
    { weight: w.client, arbitrary: fc.tuple(idx, idx, idx).map(([c, n, k]) => new ClientDelete(c, n, k)) },
    { weight: w.client * 2, arbitrary: fc.tuple(idx, idx, idx, fc.boolean()).map(([c, n, k, e]) => new ClientCas(c, n, k, e)) },
    { weight: w.deliver, arbitrary: idx.map((i) => new Deliver(i)) },
    { weight: w.drop, arbitrary: idx.map((i) => new Drop(i)) },
    { weight: w.duplicate, arbitrary: idx.map((i) => new Duplicate(i)) },
    { weight: w.reorder, arbitrary: fc.nat().map((s) => new Reorder(s)) },
    { weight: w.partition, arbitrary: fc.tuple(fc.array(fc.nat({ max: 2 }), { minLength: 1, maxLength: 9 }), fc.integer({ min: 2, max: 3 })).map(([g, k]) => new Partition(g, k)) },
    { weight: w.partition, arbitrary: fc.tuple(idx, idx).map(([a, b]) => new PartitionOneWay(a, b)) },
    { weight: w.isolateLeader, arbitrary: idx.map((i) => new IsolateLeader(i)) },
    { weight: w.heal, arbitrary: fc.constant(null).map(() => new Heal()) },
    { weight: w.crash, arbitrary: idx.map((i) => new Crash(i)) },
    { weight: w.restart, arbitrary: idx.map((i) => new Restart(i)) },
    { weight: w.snapshot, arbitrary: idx.map((i) => new Snapshot(i)) },
  ];
  return fc.oneof(...entries.filter((e) => e.weight > 0));
}
