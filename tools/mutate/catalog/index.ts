/**
 * The mutant catalog: real Raft bugs (shared/design/bug-catalog.md), each injected into the
 * reference implementation as an AST edit, with the rule it breaks and the rules its consequences
 * may break first. Add a mutant to the file of its area; docs/mutation-testing.md says how.
 */
import type { Mutant } from '../types.ts';
import { CLIENT_MUTANTS } from './clients.ts';
import { ELECTION_MUTANTS } from './elections.ts';
import { FOLLOWER_LOG_MUTANTS } from './follower-log.ts';
import { LEADER_MUTANTS } from './leader.ts';
import { SNAPSHOT_MUTANTS } from './snapshots.ts';

export const CATALOG: readonly Mutant[] = Object.freeze([...ELECTION_MUTANTS, ...FOLLOWER_LOG_MUTANTS, ...LEADER_MUTANTS, ...SNAPSHOT_MUTANTS, ...CLIENT_MUTANTS]);

/** Cluster size of a mutant's campaign. */
export const DEFAULT_MUTANT_NODES = 3;

export function mutantNodes(mutant: Mutant): number {
  return mutant.nodes ?? DEFAULT_MUTANT_NODES;
}
