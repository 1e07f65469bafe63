/**
 * The third-party targets `figure2 conform --target` and `figure2 record --target` know.
 * Each one's adapter says how its implementation maps to trace v1 (docs/targets/<id>.md).
 */
import { LIFERAFT_TARGET } from '../adapters/liferaft.ts';
import { PYSYNCOBJ_TARGET } from '../adapters/pysyncobj.ts';
import type { ConformanceTarget } from './target.ts';

export const TARGETS: readonly ConformanceTarget[] = [LIFERAFT_TARGET, PYSYNCOBJ_TARGET];

export function targetById(id: string): ConformanceTarget | undefined {
  return TARGETS.find((t) => t.id === id);
}
