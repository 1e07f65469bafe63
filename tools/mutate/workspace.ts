/**
 * A mutant's own copy of the repository: the sources copied into a temporary directory (never
 * .git, never node_modules — that is symlinked, 134 MB against 4), the mutated files written over
 * the copies. The conformance suite then runs from the copy, so the mutant is the code under test
 * and the repository itself is never edited.
 */
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import type { MutatedFile } from './apply.ts';

/** Top-level entries never copied: history, dependencies (symlinked instead), scratch and build output. */
const SKIPPED = new Set(['.git', 'node_modules', '.scratch', 'coverage', 'out', 'tmp']);

/** A directory holding one copy per mutant, removed by `dispose` unless kept. */
export class Workspace {
  readonly dir: string;

  constructor(
    readonly root: string,
    private readonly keep: boolean,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'figure2-mutate-'));
  }

  /** A copy of the repository named `name`, with `files` (paths relative to the root) replaced. */
  copy(name: string, files: readonly MutatedFile[]): string {
    const target = join(this.dir, name);
    cpSync(this.root, target, {
      recursive: true,
      filter: (source) => {
        const rel = relative(this.root, source);
        return rel === '' || !SKIPPED.has(rel.split(sep)[0] as string);
      },
    });
    symlinkSync(join(this.root, 'node_modules'), join(target, 'node_modules'), 'dir');
    for (const file of files) writeFileSync(join(target, file.path), file.text);
    return target;
  }

  /** Removes one copy now (after its run), unless the workspace is kept. */
  release(copyDir: string): void {
    if (this.keep) return;
    // Only ever a copy this workspace made: a recursive delete must not reach anything else.
    if (!copyDir.startsWith(this.dir + sep)) throw new Error(`${copyDir} is not a copy in ${this.dir}`);
    rmSync(copyDir, { recursive: true, force: true });
  }

  dispose(): void {
    if (!this.keep) rmSync(this.dir, { recursive: true, force: true });
  }
}
