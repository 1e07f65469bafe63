/**
 * The layer rules of ../shared/design/README.md, enforced: spec/ imports nothing of ours,
 * traces/ only spec/, impl/core/ only spec/, nothing imports tools/; and spec/ and impl/core/
 * do no I/O, read no clock and call no Math.random (determinism).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

function sourceFiles(dir: string): string[] {
  const abs = join(root, dir);
  let entries: string[];
  try {
    entries = readdirSync(abs);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(abs, name);
    if (statSync(path).isDirectory()) return sourceFiles(relative(root, path));
    return name.endsWith('.ts') ? [relative(root, path)] : [];
  });
}

/** Project-relative targets of a file's relative imports (`from './x.ts'`, `import('../y.ts')`). */
function localImports(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1] ?? '');
  return specifiers.map((s) => relative(root, resolve(root, file, '..', s)));
}

/** Package imports (`from 'xstate'`, `from 'node:fs'`). */
function packageImports(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*['"]([^./'"][^'"]*)['"]/g)].map((m) => m[1] ?? '');
}

const rules: readonly { folder: string; mayImport: readonly string[] }[] = [
  { folder: 'spec', mayImport: ['spec/'] },
  { folder: 'traces', mayImport: ['spec/', 'traces/'] },
  { folder: 'impl/core', mayImport: ['spec/', 'impl/core/'] },
  { folder: 'conformance', mayImport: ['spec/', 'impl/', 'traces/', 'conformance/'] },
];

describe('layers', () => {
  it('finds the source it polices', () => {
    expect(sourceFiles('spec').length).toBeGreaterThan(5);
    expect(sourceFiles('traces').length).toBeGreaterThan(0);
  });

  it.each(rules)('$folder imports only $mayImport', ({ folder, mayImport }) => {
    for (const file of sourceFiles(folder)) {
      for (const target of localImports(file)) {
        expect(mayImport.some((p) => target.startsWith(p)), `${file} imports ${target}`).toBe(true);
      }
    }
  });

  it('nothing imports tools/ (but tools/ and its tests)', () => {
    for (const folder of ['spec', 'impl', 'traces', 'conformance']) {
      for (const file of sourceFiles(folder)) {
        for (const target of localImports(file)) expect(target.startsWith('tools/'), `${file} imports ${target}`).toBe(false);
      }
    }
  });

  it('spec/ and impl/core/ do no I/O, read no clock, call no Math.random', () => {
    for (const file of [...sourceFiles('spec'), ...sourceFiles('impl/core')]) {
      // Code only: comments may (and do) say "never calls Math.random".
      const text = readFileSync(join(root, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      for (const pkg of packageImports(file)) expect(pkg.startsWith('node:'), `${file} imports ${pkg}`).toBe(false);
      expect(text, file).not.toMatch(/Math\.random|Date\.now|new Date\(|performance\.now|process\.|setTimeout|setInterval/);
    }
  });
});
