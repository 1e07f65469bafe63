/**
 * `figure2 rules [--json]`: the rule catalog (spec/rules.ts), so a violation's rule ID can be
 * looked up without opening the source.
 */
import type { Command } from 'commander';
import { RULE_GROUPS, RULES, type Rule } from '../../spec/rules.ts';
import { EXIT, type CliIo } from '../io.ts';

export interface RulesOptions {
  readonly json?: boolean;
}

/** Adds the `rules` command to `program`; its exit code goes to `setExit`. */
export function registerRules(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('rules')
    .description('list the rule catalog: every rule ID a violation can carry')
    .option('--json', 'print the catalog as a JSON array with every field')
    .action(async (opts: RulesOptions) => setExit(await runRules(opts, io)));
}

/** Prints the catalog: a table grouped by rule group, or (with `json`) a JSON array. */
export async function runRules(opts: RulesOptions, io: CliIo): Promise<number> {
  if (opts.json === true) {
    io.stdout(`${JSON.stringify(RULES, null, 2)}\n`);
  } else {
    io.stdout(formatRulesTable(RULES));
  }
  return EXIT.OK;
}

// The statement column is wrapped at a fixed width rather than the terminal's, so the output is
// the same everywhere (it is pasted into docs and compared in tests).
const STATEMENT_WIDTH = 64;

/** The human table: one block per group, columns ID, section, statement (wrapped), needs. */
export function formatRulesTable(rules: readonly Rule[]): string {
  const idWidth = Math.max(2, ...rules.map((r) => r.id.length));
  const sectionWidth = Math.max(7, ...rules.map((r) => r.section.length));
  const row = (id: string, section: string, statement: string, needs: string): string =>
    `  ${id.padEnd(idWidth)}  ${section.padEnd(sectionWidth)}  ${statement.padEnd(STATEMENT_WIDTH)}  ${needs}`.trimEnd();
  const lines: string[] = [];
  for (const group of RULE_GROUPS) {
    const members = rules.filter((r) => r.group === group);
    if (members.length === 0) continue;
    if (lines.length > 0) lines.push('');
    lines.push(group);
    lines.push(row('ID', 'SECTION', 'STATEMENT', 'NEEDS (any one line)'));
    for (const rule of members) {
      const statement = wrap(rule.statement, STATEMENT_WIDTH);
      const needs = rule.needs.map((alt, i) => `${i === 0 ? '' : 'or '}${alt.join('+')}`);
      const height = Math.max(statement.length, needs.length);
      for (let i = 0; i < height; i++) {
        lines.push(row(i === 0 ? rule.id : '', i === 0 ? rule.section : '', statement[i] ?? '', needs[i] ?? ''));
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Greedy word wrap; a word longer than the width gets a line of its own. */
function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let current = '';
  for (const word of text.split(/\s+/)) {
    if (current === '') current = word;
    else if (current.length + 1 + word.length <= width) current += ` ${word}`;
    else {
      out.push(current);
      current = word;
    }
  }
  if (current !== '') out.push(current);
  return out;
}
