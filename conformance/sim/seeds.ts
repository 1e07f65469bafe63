/**
 * One seed, many independent PRNG streams. The simulator gives each subsystem (network, faults,
 * disks, clients, each node) its own stream, so that a change in one — a client more, a fault
 * off — does not shift every other draw of the run.
 *
 * createPrng scrambles its seed (nearby seeds give unrelated runs); a stream's seed mixes the run's
 * seed with the stream number, so streams of one run are unrelated too.
 */
import { createPrng, fmix32, type Prng } from '../prng.ts';

/** The streams, by number. Fixed forever: renumbering would change every recorded run. */
export const STREAM = Object.freeze({ swarm: 1, network: 2, faults: 3, disk: 4, clients: 5, node: 16 });

/** The seed of stream `stream` of run `seed`: a 31-bit integer, unrelated for nearby inputs. */
export function streamSeed(seed: number, stream: number): number {
  return fmix32(fmix32(seed) ^ Math.imul(stream + 1, 0x9e3779b9)) & 0x7fffffff;
}

/** The PRNG of stream `stream` of run `seed`. */
export function streamPrng(seed: number, stream: number): Prng {
  return createPrng(streamSeed(seed, stream));
}
