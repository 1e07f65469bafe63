/**
 * Applying a mutant: its AST edits on an in-memory ts-morph project of the repository, then a
 * type-check of what changed, then the original text restored — the repository on disk is never
 * touched; the mutated texts go to a copy (workspace.ts).
 *
 * Type-checking without a full `tsc` per mutant (17 s here): one ts-morph Project lives across
 * mutants, holding the edited files and what they import; after an edit only the edited files'
 * diagnostics are computed (about 0.5 s). That is enough when the edit leaves each file's
 * declarations (its emitted .d.ts) unchanged, since other files only see a file through them. When
 * the declarations did change (a mutant that adds a method), every file of the tsconfig that
 * imports the edited one is checked too, counting only the errors the edit adds.
 */
import { join } from 'node:path';
import { Project, ts, type SourceFile } from 'ts-morph';
import { MutantNotApplicable, type Edit, type Mutant } from './types.ts';

export interface MutatedFile {
  /** Relative to the repository root. */
  readonly path: string;
  readonly text: string;
  /** The changed lines, `-` before and `+` after (a compact diff for reports). */
  readonly diff: string;
}

export interface AppliedMutant {
  readonly id: string;
  readonly files: readonly MutatedFile[];
}

/** The mutant does not type-check: it is no real program, so running it would prove nothing. */
export class MutantTypeError extends Error {
  override readonly name = 'MutantTypeError';
}

export class MutationWorkbench {
  private readonly project: Project;
  private readonly declarations = new Map<string, string>();
  private wholeProjectLoaded = false;

  constructor(readonly root: string) {
    this.project = new Project({
      tsConfigFilePath: join(root, 'tsconfig.json'),
      skipAddingFilesFromTsConfig: true,
      compilerOptions: {
        // ts-morph ignores package.json's "type": "module" under NodeNext (dsherret/ts-morph#1446)
        // and checks every file as CommonJS; ESNext with bundler resolution reads our ESM as tsc does.
        module: ts.ModuleKind.ESNext,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        // Declarations only: to compare a file's public face before and after an edit.
        noEmit: false,
        declaration: true,
        emitDeclarationOnly: true,
      },
    });
  }

  /**
   * The mutated files of `mutant`, type-checked. Throws MutantNotApplicable when an edit's target
   * is gone, MutantTypeError when the result does not compile; the project is left as it was.
   */
  apply(mutant: Mutant): AppliedMutant {
    if (mutant.edits.length === 0) throw new MutantNotApplicable(`${mutant.id}: no edits`);
    const files = new Map<string, SourceFile>();
    for (const edit of mutant.edits) if (!files.has(edit.file)) files.set(edit.file, this.sourceFile(edit.file));
    const originals = new Map([...files].map(([path, sf]) => [path, sf.getFullText()]));
    const restore = (): void => {
      for (const [path, sf] of files) sf.replaceWithText(originals.get(path) as string);
    };
    try {
      for (const edit of mutant.edits) applyEdit(mutant, edit, files.get(edit.file) as SourceFile);
      const texts = new Map([...files].map(([path, sf]) => [path, sf.getFullText()]));
      for (const [path, text] of texts) {
        if (text === originals.get(path)) throw new MutantNotApplicable(`${mutant.id}: the edits leave ${path} unchanged`);
      }
      this.typeCheck(mutant.id, files, { restore, mutate: () => files.forEach((sf, path) => sf.replaceWithText(texts.get(path) as string)) });
      return { id: mutant.id, files: [...texts].map(([path, text]) => ({ path, text, diff: lineDiff(originals.get(path) as string, text) })) };
    } finally {
      restore();
    }
  }

  /** The file at `path`, added to the project (with what it imports) on first use; its unmutated state recorded. */
  private sourceFile(path: string): SourceFile {
    const absolute = join(this.root, path);
    let sf = this.project.getSourceFile(absolute);
    if (sf === undefined) {
      try {
        sf = this.project.addSourceFileAtPath(absolute);
      } catch {
        throw new MutantNotApplicable(`no file ${path}`);
      }
      this.project.resolveSourceFileDependencies();
    }
    if (!this.declarations.has(path)) {
      const errors = errorsOf(sf);
      // The unmutated file must compile, or a mutant's errors could not be told from the tree's.
      if (errors.length > 0) throw new MutantTypeError(`${path} does not type-check before any edit: ${errors[0]}`);
      this.declarations.set(path, declarationsOf(sf));
    }
    return sf;
  }

  /**
   * The edited files must compile; so must the files importing one whose declarations changed —
   * judged by the errors the edit adds, since those files are checked here without their own
   * baseline (`toggle` switches the edited files between original and mutated text).
   */
  private typeCheck(id: string, files: ReadonlyMap<string, SourceFile>, toggle: { readonly restore: () => void; readonly mutate: () => void }): void {
    for (const [path, sf] of files) {
      const errors = errorsOf(sf);
      if (errors.length > 0) throw new MutantTypeError(`${id} does not type-check: ${path}: ${errors.slice(0, 3).join('; ')}`);
    }
    const changed = [...files].filter(([path, sf]) => declarationsOf(sf) !== this.declarations.get(path)).map(([, sf]) => sf);
    if (changed.length === 0) return;
    this.loadWholeProject();
    const dependents = new Set(changed.flatMap((sf) => sf.getReferencingSourceFiles()).filter((sf) => ![...files.values()].includes(sf)));
    toggle.restore();
    const before = new Map([...dependents].map((sf) => [sf, new Set(errorsOf(sf))]));
    toggle.mutate();
    for (const sf of dependents) {
      const added = errorsOf(sf).filter((e) => !(before.get(sf) as Set<string>).has(e));
      if (added.length > 0) throw new MutantTypeError(`${id} does not type-check: ${this.relative(sf)}: ${added.slice(0, 3).join('; ')}`);
    }
  }

  private loadWholeProject(): void {
    if (this.wholeProjectLoaded) return;
    this.project.addSourceFilesFromTsConfig(join(this.root, 'tsconfig.json'));
    this.project.resolveSourceFileDependencies();
    this.wholeProjectLoaded = true;
  }

  private relative(sf: SourceFile): string {
    return sf.getFilePath().slice(this.root.length + 1);
  }
}

/** An edit that throws for any reason is one that no longer applies: an error of that mutant, not of the run. */
function applyEdit(mutant: Mutant, edit: Edit, file: SourceFile): void {
  try {
    edit.apply(file);
  } catch (err) {
    if (err instanceof MutantNotApplicable) throw err;
    throw new MutantNotApplicable(`${mutant.id}: edit "${edit.describe}" failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function errorsOf(sf: SourceFile): string[] {
  return sf
    .getPreEmitDiagnostics()
    .filter((d) => d.getCategory() === 1) // ts.DiagnosticCategory.Error
    .map((d) => {
      const text = d.getMessageText();
      const message = typeof text === 'string' ? text : text.getMessageText();
      return `line ${d.getLineNumber() ?? '?'}: ${message}`;
    });
}

function declarationsOf(sf: SourceFile): string {
  return sf
    .getEmitOutput({ emitOnlyDtsFiles: true })
    .getOutputFiles()
    .map((f) => f.getText())
    .join('\n');
}

/**
 * The lines between the common prefix and the common suffix: enough to show a mutant, which
 * changes one place per edit (several edits in a file show as one hunk spanning them).
 */
export function lineDiff(before: string, after: string): string {
  const a = before.split('\n');
  const b = after.split('\n');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length - 1;
  let endB = b.length - 1;
  while (endA >= start && endB >= start && a[endA] === b[endB]) {
    endA--;
    endB--;
  }
  const removed = a.slice(start, endA + 1).map((l) => `- ${l.trim()}`);
  const added = b.slice(start, endB + 1).map((l) => `+ ${l.trim()}`);
  return [`@@ line ${start + 1}`, ...removed, ...added].join('\n');
}
