/**
 * Where the real-world corpus is: FIGURE2_CORPUS, or ../shared/data beside the repository. It is
 * not ours to commit; CI always has it. Tests that need it say clearly when it is absent.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '../..');

/** The corpus directory (holding etcd-raft-traces/ and jepsen-histories/). */
export const CORPUS = resolve(repoRoot, process.env['FIGURE2_CORPUS'] ?? '../shared/data');

export const corpusPresent = (): boolean => existsSync(resolve(CORPUS, 'jepsen-histories', 'VERDICTS.txt'));

export const CORPUS_MISSING = `corpus not found at ${CORPUS}; set FIGURE2_CORPUS to the directory holding etcd-raft-traces/ and jepsen-histories/`;
