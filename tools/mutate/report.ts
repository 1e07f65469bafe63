/**
 * The kill matrix, for humans (a table, then what needs attention) and for machines (JSON).
 * Pure functions of a MutationReport.
 */
import type { MutantResult, MutationReport } from './types.ts';

interface Column {
  readonly title: string;
  readonly right?: boolean;
  readonly cell: (r: MutantResult) => string;
}

const dash = '—';

/** The verdict as the matrix shows it: `assertion (M-COMMIT)` for an assertion citing a rule. */
export function verdictCell(r: MutantResult): string {
  if (r.status !== 'killed') return r.status.toUpperCase();
  const verdict = r.assertionRule === undefined ? (r.verdict ?? dash) : `${r.verdict ?? ''} (${r.assertionRule})`;
  return r.explained === true ? verdict : `${verdict} !`;
}

const COLUMNS: readonly Column[] = [
  { title: 'mutant', cell: (r) => r.id },
  { title: 'bug', cell: (r) => r.bug },
  { title: 'targets', cell: (r) => r.rule },
  { title: 'killed by', cell: verdictCell },
  { title: 'detector', cell: (r) => r.detector ?? dash },
  { title: 'nodes', right: true, cell: (r) => String(r.nodes) },
  { title: 'runs', right: true, cell: (r) => (r.runs === undefined ? dash : String(r.runs)) },
  { title: 'seconds', right: true, cell: (r) => (r.seconds === undefined ? dash : r.seconds.toFixed(2)) },
  { title: 'shrunk', right: true, cell: (r) => (r.shrunk === undefined ? dash : String(r.shrunk)) },
];

/** The matrix as an aligned text table (also valid Markdown when `markdown`). */
export function matrixTable(results: readonly MutantResult[], options: { readonly markdown?: boolean } = {}): string {
  const rows = results.map((r) => COLUMNS.map((c) => c.cell(r)));
  if (options.markdown === true) {
    const head = `| ${COLUMNS.map((c) => c.title).join(' | ')} |`;
    const rule = `|${COLUMNS.map((c) => (c.right === true ? '---:' : '---')).join('|')}|`;
    return [head, rule, ...rows.map((cells) => `| ${cells.map((c, i) => (i === 0 ? `\`${c}\`` : c)).join(' | ')} |`)].join('\n');
  }
  const widths = COLUMNS.map((c, i) => Math.max(c.title.length, ...rows.map((cells) => (cells[i] as string).length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (COLUMNS[i]?.right === true ? cell.padStart(widths[i] as number) : cell.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(COLUMNS.map((c) => c.title)), ...rows.map(line)].join('\n');
}

export function counts(results: readonly MutantResult[]): { killed: number; survived: number; timeout: number; error: number; unexplained: number } {
  const of = (status: MutantResult['status']): number => results.filter((r) => r.status === status).length;
  return {
    killed: of('killed'),
    survived: of('survived'),
    timeout: of('timeout'),
    error: of('error'),
    unexplained: results.filter((r) => r.status === 'killed' && r.explained !== true).length,
  };
}

/** Median of the seconds to detection of the killed mutants (undefined when none was killed). */
export function medianSecondsToKill(results: readonly MutantResult[]): number | undefined {
  const seconds = results.filter((r) => r.status === 'killed' && r.seconds !== undefined).map((r) => r.seconds as number).sort((a, b) => a - b);
  if (seconds.length === 0) return undefined;
  const mid = Math.floor(seconds.length / 2);
  return seconds.length % 2 === 1 ? (seconds[mid] as number) : ((seconds[mid - 1] as number) + (seconds[mid] as number)) / 2;
}

/** The human report: header, baseline, matrix, score, then every row that needs attention. */
export function renderText(report: MutationReport): string {
  const c = counts(report.results);
  const median = medianSecondsToKill(report.results);
  const lines = [
    `figure2 mutate: ${report.results.length} mutants, campaign seed ${report.campaign.seed}, budget ${report.campaign.runs} runs each (fail-fast), ${report.jobs} workers, ${report.seconds.toFixed(1)} s`,
    `baseline (the unmutated implementation on every run that killed a mutant): ${report.baseline.map((b) => `${b.nodes} nodes ${b.ok ? `ok, ${b.runs} runs in ${b.seconds.toFixed(1)} s` : `FAILED: ${b.error ?? ''}`}`).join('; ') || 'nothing killed, nothing to check'}`,
    '',
    matrixTable(report.results),
    '',
    `mutation score: ${c.killed + c.timeout}/${report.results.length - c.error} detected (${(report.score * 100).toFixed(1)}%); killed ${c.killed}, survived ${c.survived}, timeout ${c.timeout}, error ${c.error}; unexplained kills ${c.unexplained}` +
      (median === undefined ? '' : `; median ${median.toFixed(2)} s to kill`),
    '(killed by: the verdict of the first failing run — the rule the mutant targets, or a consequence its catalog entry explains; `!` marks an unexplained one)',
  ];
  const attention = report.results.filter((r) => r.status !== 'killed' || r.explained !== true);
  if (attention.length > 0) lines.push('', 'needs attention:');
  for (const r of attention) {
    if (r.status === 'survived') lines.push(`  SURVIVED ${r.id} (${r.bug}, ${r.rule}): ${r.runs ?? 0} runs passed — a hole in the suite (docs/mutation-testing.md)`);
    else if (r.status === 'killed') lines.push(`  UNEXPLAINED ${r.id}: killed by ${r.verdict ?? '?'}, which its entry does not explain: ${r.message ?? ''}`, `    replay (in its copy, --keep): ${r.replay ?? ''}`);
    else lines.push(`  ${r.status.toUpperCase()} ${r.id}: ${r.error ?? ''}`);
  }
  return `${lines.join('\n')}\n`;
}

export function renderJson(report: MutationReport): string {
  const c = counts(report.results);
  return `${JSON.stringify({ ...report, counts: c, medianSecondsToKill: medianSecondsToKill(report.results) ?? null }, null, 2)}\n`;
}
