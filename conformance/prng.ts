/**
 * The one source of randomness for simulations: a seeded xoroshiro128+ from pure-rand (the
 * generator fast-check itself uses). Every random run prints its seed and replays from it.
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

export interface Prng {
  /** A uniform integer in [from, to], both included. */
  int(from: number, to: number): number;
  /** true with probability `p`. */
  chance(p: number): boolean;
  /** A uniformly chosen element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /** An index chosen with probability proportional to its weight (weights ≥ 0, not all 0). */
  weighted(weights: readonly number[]): number;
}

const RESOLUTION = 1_000_000;

/** Draws discarded from a fresh generator: enough for xoroshiro128+'s state to diffuse. */
const WARMUP_DRAWS = 8;

/** murmur3's fmix32: a bijection on 32-bit integers with full avalanche. */
export function fmix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A generator for `seed`. pure-rand's xoroshiro128+ takes a 32-bit seed into its state nearly as
 * is, so seeds 1, 2, 3 … — what people type — would start almost in lockstep (the first
 * `int(0, 2^31-1)` of seed s is 2^31-1-s). The seed is scrambled first and the first draws are
 * discarded, so nearby seeds give unrelated runs.
 */
export function createPrng(seed: number): Prng {
  const rng = xoroshiro128plus(fmix32(seed) & 0x7fffffff);
  for (let i = 0; i < WARMUP_DRAWS; i++) rng.next();
  const int = (from: number, to: number): number => uniformInt(rng, from, to);
  return {
    int,
    chance: (p) => int(0, RESOLUTION - 1) < p * RESOLUTION,
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[int(0, items.length - 1)] as T;
    },
    weighted: (weights) => {
      const total = weights.reduce((a, b) => a + b, 0);
      if (!(total > 0)) throw new Error('weighted choice needs a positive total weight');
      let point = (int(0, RESOLUTION - 1) / RESOLUTION) * total;
      for (let i = 0; i < weights.length; i++) {
        point -= weights[i] ?? 0;
        if (point < 0) return i;
      }
      return weights.length - 1;
    },
  };
}

/** A fresh seed for a run that was not given one; printed so that the run replays. */
export function freshSeed(): number {
  return Math.floor(Math.random() * 0x7fffffff);
}
