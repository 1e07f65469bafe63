/** validateConfig says exactly what is wrong (raft-rs's Config::validate is the model). */
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../impl/core/config.ts';
import { RaftNode } from '../../../impl/core/raft-node.ts';
import { DEFAULT_CONFIG, type Config } from '../../../impl/core/types.ts';

const base: Config = { ...DEFAULT_CONFIG, id: 'n1', voters: ['n1', 'n2', 'n3'] };

describe('validateConfig', () => {
  it('accepts the defaults', () => {
    expect(validateConfig(base)).toEqual([]);
  });

  it.each([
    [{ electionTimeoutTicksMin: 2, heartbeatIntervalTicks: 2 }, 'electionTimeoutTicksMin', /must exceed the heartbeat interval/],
    [{ electionTimeoutTicksMax: 10 }, 'electionTimeoutTicksMax', /above the minimum/],
    [{ heartbeatIntervalTicks: 0 }, 'heartbeatIntervalTicks', /positive integer/],
    [{ voters: ['n2', 'n3'] }, 'voters', /must include this node's id "n1"/],
    [{ voters: ['n1', 'n2', 'n2'] }, 'voters', /distinct/],
    [{ maxInflightMessages: 0 }, 'maxInflightMessages', /positive integer/],
    [{ maxEntriesPerMessage: 1.5 }, 'maxEntriesPerMessage', /positive integer/],
    [{ snapshotChunkBytes: -1 }, 'snapshotChunkBytes', /positive integer/],
  ] as const)('%j → %s', (override, field, message) => {
    const errors = validateConfig({ ...base, ...override });
    expect(errors.map((e) => e.field)).toContain(field);
    expect(errors.find((e) => e.field === field)?.message).toMatch(message);
  });

  it('the core refuses to start on an invalid configuration, naming every problem', () => {
    expect(() => new RaftNode({ ...base, heartbeatIntervalTicks: 30, voters: ['n2'] }, { rng: { int: (a) => a } })).toThrow(
      /invalid config: voters: .*electionTimeoutTicksMin: election timeout \(min 10 ticks\) must exceed the heartbeat interval \(30 ticks\)/,
    );
  });
});
