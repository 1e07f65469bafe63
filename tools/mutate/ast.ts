/**
 * Finding the code a mutant edits, by structure first (class → member) and then by kind and exact
 * text, so that an edit lands on exactly one AST node or refuses to apply. Every lookup throws
 * `MutantNotApplicable` with what it looked for when the code moved (0 matches) or when the text
 * no longer pins one node (several matches): a mutant is never silently skipped, and never
 * silently applied somewhere else.
 */
import { Node, SyntaxKind, type Block, type ClassDeclaration, type IfStatement, type SourceFile, type Statement, type VariableDeclaration } from 'ts-morph';
import { MutantNotApplicable } from './types.ts';

/** Whitespace-insensitive comparison: formatting may change, the code may not. */
export function normalize(code: string): string {
  return code.replace(/\s+/g, ' ').replace(/\s*([(){}[\];,.:?])\s*/g, '$1').trim();
}

/** A class declared in `file`. */
export function classOf(file: SourceFile, className: string): ClassDeclaration {
  const cls = file.getClass(className);
  if (cls === undefined) throw new MutantNotApplicable(`${file.getBaseName()}: no class ${className}`);
  return cls;
}

/** A class member (method, arrow-function property, accessor, constructor) by name. */
export function member(file: SourceFile, className: string, name: string): Node {
  const cls = classOf(file, className);
  const found = name === 'constructor' ? cls.getConstructors()[0] : (cls.getMethod(name) ?? cls.getProperty(name) ?? cls.getGetAccessor(name));
  if (found === undefined) throw new MutantNotApplicable(`${file.getBaseName()}: class ${className} has no member ${name}`);
  return found;
}

/**
 * The one descendant of `scope` of `kind` whose text is `text` (whitespace aside). Nested matches
 * of the same text (a node and its only child) count once, as the outer node.
 */
export function find(scope: Node, kind: SyntaxKind, text: string): Node {
  const wanted = normalize(text);
  const matches = scope.getDescendantsOfKind(kind).filter((n) => normalize(n.getText()) === wanted);
  const outer = matches.filter((n) => !matches.some((m) => m !== n && m.containsRange(n.getPos(), n.getEnd())));
  const where = describeScope(scope);
  if (outer.length === 0) throw new MutantNotApplicable(`${where}: no ${SyntaxKind[kind]} \`${text}\` (the code moved?)`);
  if (outer.length > 1) throw new MutantNotApplicable(`${where}: ${outer.length} matches of ${SyntaxKind[kind]} \`${text}\`; make the target text longer`);
  return outer[0] as Node;
}

/** The one variable of `scope` declared as `name`. */
export function variable(scope: Node, name: string): VariableDeclaration {
  const matches = scope.getDescendantsOfKind(SyntaxKind.VariableDeclaration).filter((d) => d.getName() === name);
  const where = describeScope(scope);
  if (matches.length === 0) throw new MutantNotApplicable(`${where}: no variable ${name} (the code moved?)`);
  if (matches.length > 1) throw new MutantNotApplicable(`${where}: ${matches.length} variables named ${name}`);
  return matches[0] as VariableDeclaration;
}

/** Replaces the one node of `kind` with text `before` by `after`. */
export function swap(scope: Node, kind: SyntaxKind, before: string, after: string): void {
  find(scope, kind, before).replaceWithText(after);
}

/** The statement whose text is `text` (any statement kind), as a Statement in a block. */
export function statement(scope: Node, text: string): Statement {
  const wanted = normalize(text);
  const matches = scope.getDescendants().filter((n): n is Statement => Node.isStatement(n) && normalize(n.getText()) === wanted);
  const where = describeScope(scope);
  if (matches.length === 0) throw new MutantNotApplicable(`${where}: no statement \`${text}\` (the code moved?)`);
  if (matches.length > 1) throw new MutantNotApplicable(`${where}: ${matches.length} statements \`${text}\`; make the target text longer`);
  return matches[0] as Statement;
}

/** The one `if` statement of `scope` whose condition is `condition`. */
export function ifStatement(scope: Node, condition: string): IfStatement {
  const wanted = normalize(condition);
  const matches = scope.getDescendantsOfKind(SyntaxKind.IfStatement).filter((n) => normalize(n.getExpression().getText()) === wanted);
  const where = describeScope(scope);
  if (matches.length === 0) throw new MutantNotApplicable(`${where}: no \`if (${condition})\` (the code moved?)`);
  if (matches.length > 1) throw new MutantNotApplicable(`${where}: ${matches.length} statements \`if (${condition})\``);
  return matches[0] as IfStatement;
}

/** Inserts `code` (statements) right after `stmt`, in its block. */
export function insertAfterStatement(stmt: Statement, code: string): void {
  const block = enclosingBlock(stmt);
  block.insertStatements(block.getStatements().indexOf(stmt) + 1, code);
}

/** Deletes the statement `text`. */
export function removeStatement(scope: Node, text: string): void {
  statement(scope, text).remove();
}

/** Inserts `code` (statements) right after the statement `anchor`, in the same block. */
export function insertAfter(scope: Node, anchor: string, code: string): void {
  insertAfterStatement(statement(scope, anchor), code);
}

/** Inserts `code` (statements) at the start of a member's body. */
export function insertAtStart(scope: Node, code: string): void {
  const body = scope.getFirstChildByKind(SyntaxKind.Block);
  if (body === undefined) throw new MutantNotApplicable(`${describeScope(scope)}: no body`);
  body.insertStatements(0, code);
}

function enclosingBlock(stmt: Statement): Block {
  const parent = stmt.getParent();
  if (parent === undefined || !Node.isBlock(parent)) throw new MutantNotApplicable(`statement \`${stmt.getText()}\` is not directly in a block`);
  return parent;
}

function describeScope(scope: Node): string {
  const name = Node.hasName(scope) ? scope.getName() : Node.isConstructorDeclaration(scope) ? 'constructor' : scope.getKindName();
  return `${scope.getSourceFile().getBaseName()}: ${name}`;
}
