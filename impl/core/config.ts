/**
 * Configuration checks: `validateConfig` says exactly what is wrong, as raft-rs's
 * Config::validate does, instead of letting a bad value surface as a stuck cluster.
 */
import type { Config } from './types.ts';

export interface ConfigError {
  readonly field: keyof Config;
  readonly message: string;
}

const positiveInteger = (value: number): boolean => Number.isSafeInteger(value) && value > 0;

/** Every problem with `config`; an empty list means it is usable. */
export function validateConfig(config: Config): readonly ConfigError[] {
  const errors: ConfigError[] = [];
  const check = (ok: boolean, field: keyof Config, message: string): void => {
    if (!ok) errors.push({ field, message });
  };
  check(config.id.length > 0, 'id', 'id must be a non-empty string');
  check(config.voters.includes(config.id), 'voters', `voters must include this node's id ${JSON.stringify(config.id)}`);
  check(new Set(config.voters).size === config.voters.length, 'voters', 'voters must be distinct');
  check(config.voters.every((v) => v.length > 0), 'voters', 'voter ids must be non-empty strings');
  check(positiveInteger(config.heartbeatIntervalTicks), 'heartbeatIntervalTicks', 'heartbeat interval must be a positive integer number of ticks');
  check(positiveInteger(config.electionTimeoutTicksMin), 'electionTimeoutTicksMin', 'election timeout minimum must be a positive integer number of ticks');
  check(
    config.electionTimeoutTicksMin > config.heartbeatIntervalTicks,
    'electionTimeoutTicksMin',
    `election timeout (min ${config.electionTimeoutTicksMin} ticks) must exceed the heartbeat interval (${config.heartbeatIntervalTicks} ticks), or followers time out between heartbeats`,
  );
  check(
    Number.isSafeInteger(config.electionTimeoutTicksMax) && config.electionTimeoutTicksMax > config.electionTimeoutTicksMin,
    'electionTimeoutTicksMax',
    `election timeout maximum (${config.electionTimeoutTicksMax}) must be an integer above the minimum (${config.electionTimeoutTicksMin}): randomization is what breaks split votes (§5.2)`,
  );
  check(positiveInteger(config.maxEntriesPerMessage), 'maxEntriesPerMessage', 'max entries per message must be a positive integer');
  check(positiveInteger(config.maxBytesPerMessage), 'maxBytesPerMessage', 'max bytes per message must be a positive integer');
  check(positiveInteger(config.maxInflightMessages), 'maxInflightMessages', 'max in-flight messages must be a positive integer');
  check(positiveInteger(config.snapshotChunkBytes), 'snapshotChunkBytes', 'snapshot chunk size must be a positive integer');
  check(
    config.maxCommittedEntriesPerReady === undefined || positiveInteger(config.maxCommittedEntriesPerReady),
    'maxCommittedEntriesPerReady',
    'max committed entries per Ready must be a positive integer',
  );
  return errors;
}
