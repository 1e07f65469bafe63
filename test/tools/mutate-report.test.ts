/**
 * Mutation testing's pure parts (tools/mutate/): reading a worker's conform JSON, classifying a
 * verdict (who detected it, is it explained), the score, and the kill matrix's text and JSON.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lineDiff } from '../../tools/mutate/apply.ts';
import { CATALOG } from '../../tools/mutate/catalog/index.ts';
import { assertionRule, detectorOf, isExplained, resultOf } from '../../tools/mutate/classify.ts';
import { counts, matrixTable, medianSecondsToKill, renderJson, renderText, verdictCell } from '../../tools/mutate/report.ts';
import { baselinePlans, isClean, mutationScore } from '../../tools/mutate/runner.ts';
import type { Mutant, MutantResult, MutationReport } from '../../tools/mutate/types.ts';
import { conformArgv, readOutcome } from '../../tools/mutate/worker.ts';

const mutant: Mutant = {
  id: 'some-bug',
  bug: 'B99',
  title: 'a bug',
  rule: 'M-VOTE',
  consequences: { 'S-ES': 'two leaders follow', assertion: 'the core asserts first' },
  story: 'a story',
  sources: ['somewhere#1'],
  edits: [],
};

/** `figure2 conform --json` as the worker reads it. */
function conformJson(failure?: { rule: string; message: string; commands?: string[] }, runs = 7): string {
  return JSON.stringify({
    ok: failure === undefined,
    runs,
    seconds: 1.5,
    commands: 100,
    failures: failure === undefined ? [] : [{ seed: 42, path: 'c60~0', replay: "figure2 conform --seed 42 --path 'c60~0'", commands: failure.commands ?? ['tick 3', 'crash n1'], violation: failure }],
  });
}

const killed = (over: Partial<MutantResult> = {}): MutantResult => ({
  id: 'a',
  bug: 'B01',
  rule: 'M-VOTE',
  nodes: 3,
  status: 'killed',
  verdict: 'M-VOTE',
  detector: 'checker',
  explained: true,
  runs: 3,
  seconds: 2,
  shrunk: 4,
  ...over,
});

describe('the worker reads conform --json', () => {
  it('runs the copy\'s CLI with the campaign, fail-fast and JSON', () => {
    expect(conformArgv({ seed: 5, runs: 300, nodes: 3 }, '/tmp/t')).toEqual(['--import', 'tsx', 'tools/cli.ts', 'conform', '--seed', '5', '--runs', '300', '--nodes', '3', '--fail-fast', '--json', '--trace-dir', '/tmp/t']);
  });

  it('exit 0 with ok: a passed campaign', () => {
    expect(readOutcome(0, conformJson(undefined, 300), '', 9)).toEqual({ kind: 'passed', runs: 300, seconds: 1.5, wallSeconds: 9 });
  });

  it('exit 1 with a failure: its rule, message, seed, replay and shrunk length', () => {
    const outcome = readOutcome(1, conformJson({ rule: 'M-VOTE', message: 'n1 voted twice (event 9)' }), '', 3);
    expect(outcome).toEqual({
      kind: 'failed',
      runs: 7,
      seconds: 1.5,
      wallSeconds: 3,
      failure: { seed: 42, rule: 'M-VOTE', message: 'n1 voted twice (event 9)', shrunk: 2, replay: "figure2 conform --seed 42 --path 'c60~0'" },
    });
  });

  it('anything else is an error naming what went wrong', () => {
    expect(readOutcome(2, '', 'figure2: conform: --nodes "x": invalid value\n', 1)).toMatchObject({ kind: 'error', message: expect.stringContaining('--nodes') });
    expect(readOutcome(1, 'not json', '', 1)).toMatchObject({ kind: 'error', message: expect.stringContaining('no JSON') });
    expect(readOutcome(0, JSON.stringify({ ok: true }), '', 1)).toMatchObject({ kind: 'error', message: expect.stringContaining('not as expected') });
    expect(readOutcome(1, conformJson(undefined), '', 1)).toMatchObject({ kind: 'error', message: expect.stringContaining('reported no failure') });
    expect(readOutcome(null, '', '', 1)).toMatchObject({ kind: 'error', message: expect.stringContaining('a signal') });
  });
});

describe('classifying a kill', () => {
  it('names the detector from the runner\'s verdict and message', () => {
    expect(detectorOf({ rule: 'M-VOTE', message: 'n1 changed its persisted vote (event 51)' })).toBe('checker');
    expect(detectorOf({ rule: 'S-SMS', message: 'S-SMS at tick 170: digests differ' })).toBe('simulator');
    expect(detectorOf({ rule: 'liveness', message: 'liveness at tick 2041: did not converge' })).toBe('liveness');
    expect(detectorOf({ rule: 'assertion', message: 'progress invariant broken' })).toBe('assertion');
    expect(detectorOf({ rule: 'CL-LIN', message: 'CL-LIN: on key "k2" …' })).toBe('linearizability');
    expect(detectorOf({ rule: 'error', message: 'TypeError' })).toBe('error');
  });

  it('finds the rule an assertion cites, and only a real rule ID', () => {
    expect(assertionRule('commitIndex going back from 4 to 2 (M-COMMIT)')).toBe('M-COMMIT');
    expect(assertionRule('entries are applied in increasing index order, each once (ALL-1): got 3 after 5')).toBe('ALL-1');
    expect(assertionRule('disk: entry 8 has term 8 after term 9')).toBeUndefined();
    expect(assertionRule('UTF-8 is not a rule')).toBeUndefined();
  });

  it('a kill is explained by the targeted rule or a listed consequence, and nothing else', () => {
    expect(isExplained(mutant, 'M-VOTE')).toBe(true);
    expect(isExplained(mutant, 'S-ES')).toBe(true);
    expect(isExplained(mutant, 'assertion')).toBe(true);
    expect(isExplained(mutant, 'RV-2')).toBe(false);
    expect(isExplained(mutant, 'liveness')).toBe(false);
  });

  it('turns each outcome into a result', () => {
    const failed = readOutcome(1, conformJson({ rule: 'RV-2', message: 'n2 granted (event 3)' }), '', 2);
    expect(resultOf(mutant, 3, failed)).toMatchObject({ status: 'killed', verdict: 'RV-2', detector: 'checker', explained: false, runs: 7, shrunk: 2, seed: 42 });
    const asserted = readOutcome(1, conformJson({ rule: 'assertion', message: 'commitIndex going back from 4 to 2 (M-COMMIT)' }), '', 2);
    expect(resultOf(mutant, 3, asserted)).toMatchObject({ status: 'killed', detector: 'assertion', assertionRule: 'M-COMMIT', explained: true });
    expect(resultOf(mutant, 5, { kind: 'passed', runs: 300, seconds: 12, wallSeconds: 13 })).toMatchObject({ status: 'survived', runs: 300, nodes: 5 });
    expect(resultOf(mutant, 3, { kind: 'timeout', wallSeconds: 300 })).toMatchObject({ status: 'timeout' });
    expect(resultOf(mutant, 3, { kind: 'error', message: 'boom', wallSeconds: 1 })).toMatchObject({ status: 'error', error: 'boom' });
    const crashed = readOutcome(1, conformJson({ rule: 'error', message: 'TypeError: x is undefined' }), '', 2);
    expect(resultOf(mutant, 3, crashed)).toMatchObject({ status: 'error', error: expect.stringContaining('the suite crashed') });
  });
});

describe('score and verdict of a whole run', () => {
  const report = (results: MutantResult[], baselineOk = true): MutationReport => ({
    campaign: { seed: 1, runs: 300 },
    baseline: [{ nodes: 3, ok: baselineOk, runs: 300, seconds: 10 }],
    results,
    score: mutationScore(results),
    seconds: 100,
    jobs: 2,
  });

  it('the score counts kills and timeouts over the mutants that ran', () => {
    expect(mutationScore([killed(), killed({ status: 'survived' }), killed({ status: 'error' }), killed({ status: 'timeout' })])).toBeCloseTo(2 / 3);
    expect(mutationScore([])).toBe(0);
  });

  it('is clean only with a passing baseline and every mutant killed with an explained verdict', () => {
    expect(isClean(report([killed(), killed({ id: 'b' })]))).toBe(true);
    expect(isClean(report([killed(), killed({ status: 'survived' })]))).toBe(false);
    expect(isClean(report([killed({ explained: false })]))).toBe(false);
    expect(isClean(report([killed({ status: 'error' })]))).toBe(false);
    expect(isClean(report([killed({ status: 'timeout' })]))).toBe(false);
    expect(isClean(report([killed()], false))).toBe(false);
  });

  it('the median seconds to kill is over killed mutants only', () => {
    expect(medianSecondsToKill([killed({ seconds: 1 }), killed({ seconds: 5 }), killed({ seconds: 3 }), killed({ status: 'survived', seconds: 100 })])).toBe(3);
    expect(medianSecondsToKill([killed({ seconds: 1 }), killed({ seconds: 2 })])).toBe(1.5);
    expect(medianSecondsToKill([killed({ status: 'survived' })])).toBeUndefined();
  });

  it('the matrix shows the verdict, the detector, runs, seconds and shrunk length; `!` marks an unexplained kill', () => {
    const text = matrixTable([killed(), killed({ id: 'bbb', verdict: 'assertion', detector: 'assertion', assertionRule: 'M-COMMIT' }), killed({ id: 'c', verdict: 'RV-2', explained: false }), killed({ id: 'd', status: 'survived', verdict: undefined, detector: undefined, runs: 300, seconds: 9, shrunk: undefined })]);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^mutant\s+bug\s+targets\s+killed by\s+detector\s+nodes\s+runs\s+seconds\s+shrunk$/);
    expect(lines[1]).toMatch(/^a\s+B01\s+M-VOTE\s+M-VOTE\s+checker\s+3\s+3\s+2\.00\s+4$/);
    expect(lines[2]).toContain('assertion (M-COMMIT)');
    expect(lines[3]).toContain('RV-2 !');
    expect(lines[4]).toMatch(/SURVIVED\s+—\s+3\s+300\s+9\.00\s+—$/);
    expect(verdictCell(killed({ status: 'timeout' }))).toBe('TIMEOUT');
    const md = matrixTable([killed()], { markdown: true }).split('\n');
    expect(md[0]).toBe('| mutant | bug | targets | killed by | detector | nodes | runs | seconds | shrunk |');
    expect(md[2]).toBe('| `a` | B01 | M-VOTE | M-VOTE | checker | 3 | 3 | 2.00 | 4 |');
  });

  it('the text report lists what needs attention; the JSON carries counts and the median', () => {
    const r = report([killed(), killed({ id: 'hole', status: 'survived', runs: 300 }), killed({ id: 'stale', status: 'error', error: 'does not apply: raft-node.ts: no statement' })]);
    const text = renderText(r);
    expect(text).toContain('mutation score: 1/2 detected (50.0%); killed 1, survived 1, timeout 0, error 1');
    expect(text).toContain('SURVIVED hole (B01, M-VOTE): 300 runs passed');
    expect(text).toContain('ERROR stale: does not apply: raft-node.ts: no statement');
    const json = JSON.parse(renderJson(r)) as { counts: ReturnType<typeof counts>; medianSecondsToKill: number; results: unknown[] };
    expect(json.counts).toEqual({ killed: 1, survived: 1, timeout: 0, error: 1, unexplained: 0 });
    expect(json.medianSecondsToKill).toBe(2);
    expect(json.results).toHaveLength(3);
  });
});

describe('the catalog', () => {
  it('has at least 20 mutants with unique kebab-case ids, a bug number, sources and edits', () => {
    expect(CATALOG.length).toBeGreaterThanOrEqual(20);
    expect(new Set(CATALOG.map((m) => m.id)).size).toBe(CATALOG.length);
    for (const m of CATALOG) {
      expect(m.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(m.bug).toMatch(/^B\d{2}$/);
      expect(m.sources.length, m.id).toBeGreaterThan(0);
      expect(m.edits.length, m.id).toBeGreaterThan(0);
      for (const e of m.edits) expect(e.file, m.id).toMatch(/^impl\//);
    }
  });

  it('is documented: each mutant has its rows in docs/mutation-testing.md (catalog and kill matrix)', () => {
    const docs = readFileSync(new URL('../../docs/mutation-testing.md', import.meta.url), 'utf8');
    for (const m of CATALOG) {
      const rows = docs.split('\n').filter((line) => line.startsWith(`| \`${m.id}\` | ${m.bug} | ${m.rule} |`));
      expect(rows, m.id).toHaveLength(2);
    }
  });

  it('explains every consequence it accepts, and never lists its own rule as one', () => {
    for (const m of CATALOG) {
      expect(Object.keys(m.consequences), m.id).not.toContain(m.rule);
      for (const [verdict, why] of Object.entries(m.consequences)) expect(why, `${m.id}: ${verdict}`).toMatch(/\w{3,}.*\w{3,}/);
    }
  });
});

describe('lineDiff', () => {
  it('shows the changed lines between the common prefix and suffix', () => {
    expect(lineDiff('a\nb\nc\n', 'a\nB\nB2\nc\n')).toBe('@@ line 2\n- b\n+ B\n+ B2');
    expect(lineDiff('a\nb\nc', 'a\nc')).toBe('@@ line 2\n- b');
  });
});

describe('baselinePlans', () => {
  it('checks, per cluster size, every run up to the latest kill, and nothing for survivors or errors', () => {
    const five: Mutant = { ...mutant, id: 'five', nodes: 5 };
    const mutants = [mutant, { ...mutant, id: 'b' }, five, { ...mutant, id: 'c' }, { ...mutant, id: 'd' }];
    const results = [killed({ runs: 7 }), killed({ id: 'b', runs: 102 }), killed({ id: 'five', runs: 13, nodes: 5 }), killed({ id: 'c', status: 'survived', runs: 300 }), undefined];
    expect(baselinePlans(mutants, results)).toEqual([
      { nodes: 3, runs: 102 },
      { nodes: 5, runs: 13 },
    ]);
    expect(baselinePlans([mutant], [killed({ status: 'error', runs: undefined })])).toEqual([]);
  });
});
