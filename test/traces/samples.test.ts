/**
 * The sample traces (traces/samples/): the checker reports exactly the rules each one's manifest
 * entry expects — nothing for the valid ones, the one rule a violation sample was made to break
 * (and nothing else) for the others. Also holds the manifest itself to account: every file listed
 * and present, every rule of the catalog either shown by a sample or declared not checkable with
 * a reason, and the simulator samples still what their recorded command produces.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createReadStream } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RULE_IDS, RuleId } from '../../spec/rules.ts';
import { checkTrace, type CheckOutcome } from '../../traces/checker/check.ts';
import type { CheckReport } from '../../traces/checker/types.ts';
import { checkClientHistory } from '../../traces/linearizability/index.ts';
import { readTraceBatches } from '../../traces/reader.ts';
import { runCli } from '../../tools/cli.ts';
import { memoryIo } from '../../tools/io.ts';

const SAMPLES = join(import.meta.dirname, '../../traces/samples');

interface SampleEntry {
  readonly file: string;
  readonly expected: readonly RuleId[];
  readonly source: 'simulator' | 'hand-made';
  readonly story: string;
  readonly command?: string;
}
interface Manifest {
  readonly description: string;
  readonly samples: readonly SampleEntry[];
  readonly notCheckable: readonly { readonly rule: RuleId; readonly reason: string }[];
}

const manifest = JSON.parse(readFileSync(join(SAMPLES, 'manifest.json'), 'utf8')) as Manifest;

/** Runs the checker on one sample as `figure2 check` does (CL-LIN with the key-value model). */
async function check(file: string): Promise<CheckOutcome> {
  const path = join(SAMPLES, file);
  return checkTrace([{ file: path, lines: readTraceBatches(createReadStream(path)) }], {
    linearizability: { model: 'kv' },
    linearizabilityChecker: (events, options) => checkClientHistory(events, options.budgetSteps === undefined ? {} : { maxSteps: options.budgetSteps }).result,
  });
}

/** The rules a report says were broken: its violations' and CL-LIN's when not linearizable. */
function reportedRules(report: CheckReport): RuleId[] {
  const rules = new Set<RuleId>(report.violations.map((v) => v.rule));
  for (const c of report.coverage) if (c.violated > 0) rules.add(c.rule);
  if (report.linearizability.verdict === 'not-linearizable') rules.add('CL-LIN');
  return [...rules].sort();
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [relative(SAMPLES, path)];
  });
}

describe('the sample manifest', () => {
  it('lists every sample file, and every listed file exists', () => {
    // third-party/ holds prefixes of real runs of other implementations, which break several rules
    // at once: each is named after its finding's rule and held to it by third-party-samples.test.ts.
    const onDisk = filesUnder(SAMPLES)
      .filter((f) => f.endsWith('.ndjson') && !f.startsWith('third-party/'))
      .sort();
    expect(manifest.samples.map((s) => s.file).sort()).toEqual(onDisk);
    expect(new Set(manifest.samples.map((s) => s.file)).size).toBe(manifest.samples.length);
  });

  it('names only catalog rules, and valid samples expect nothing', () => {
    for (const s of manifest.samples) {
      for (const id of s.expected) expect(RuleId.safeParse(id).success, `${s.file}: ${id}`).toBe(true);
      expect(s.story.length, s.file).toBeGreaterThan(20);
      if (s.file.startsWith('valid/')) expect(s.expected, s.file).toEqual([]);
      else {
        expect(s.file.startsWith('violations/'), s.file).toBe(true);
        // violations/<RULE-ID>-<short-name>.ndjson, the rule among those expected.
        const rule = s.expected.find((id) => s.file.startsWith(`violations/${id}-`));
        expect(rule, `${s.file} is named after one of ${s.expected.join(', ')}`).toBeDefined();
      }
      if (s.source === 'simulator') expect(s.command, s.file).toMatch(/^npx tsx tools\/cli\.ts simulate .* --out traces\/samples\//);
    }
  });

  it('covers every rule: shown by a violation sample, or declared not checkable with a reason', () => {
    const shown = new Set(manifest.samples.flatMap((s) => s.expected));
    const uncheckable = new Map(manifest.notCheckable.map((n) => [n.rule, n.reason]));
    for (const id of RULE_IDS) {
      expect(shown.has(id) || uncheckable.has(id), `${id} has neither a sample nor a reason`).toBe(true);
      expect(shown.has(id) && uncheckable.has(id), `${id} is both shown and declared not checkable`).toBe(false);
    }
    for (const [rule, reason] of uncheckable) expect(reason.length, rule).toBeGreaterThan(40);
  });

  it('keeps every sample small: 3 nodes, well under 1 MB, minimal hand-made ones', () => {
    for (const s of manifest.samples) {
      const path = join(SAMPLES, s.file);
      const text = readFileSync(path, 'utf8');
      expect(statSync(path).size, s.file).toBeLessThan(512 * 1024);
      const lines = text.split('\n').filter((l) => l.trim() !== '');
      const first = JSON.parse(lines[0] ?? '{}') as { ev?: string; cluster?: string[] };
      expect(first.ev, s.file).toBe('header');
      expect(first.cluster, s.file).toEqual(['n1', 'n2', 'n3']);
      if (s.source === 'hand-made') expect(lines.length, s.file).toBeLessThanOrEqual(50);
    }
  });
});

describe('the checker on the samples', () => {
  it.each(manifest.samples.map((s) => ({ ...s, name: s.file })))('$name reports exactly $expected', async (s) => {
    const outcome = await check(s.file);
    if (outcome.kind === 'input-errors') {
      throw new Error(`${s.file}: input errors: ${outcome.errors.map((e) => `${e.line}: ${e.path}: ${e.message}`).join('; ')}`);
    }
    const report = outcome.report;
    const got = reportedRules(report);
    const detail = report.violations.map((v) => `${v.rule} at line ${v.at.line}: ${v.message}`).join('\n');
    expect(got, `${s.file}\n${detail}`).toEqual([...s.expected].sort());
    // A sample that breaks a rule must also have it counted as checked and violated.
    for (const id of s.expected) {
      const row = report.coverage.find((c) => c.rule === id);
      expect(row?.checkable, `${s.file}: ${id} checkable`).toBe(true);
      expect(row?.violated ?? 0, `${s.file}: ${id} violated`).toBeGreaterThan(0);
    }
  });
});

describe('the simulator samples', () => {
  const simulated = manifest.samples.filter((s) => s.source === 'simulator' && s.command !== undefined);

  it.each(simulated.map((s) => ({ ...s, name: s.file })))('$name is what its command writes today', async (s) => {
    const dir = mkdtempSync(join(tmpdir(), 'figure2-samples-'));
    try {
      const out = join(dir, 'trace.ndjson');
      const argv = (s.command as string)
        .replace(/^npx tsx tools\/cli\.ts /, '')
        .split(/\s+/)
        .map((arg, i, all) => (all[i - 1] === '--out' ? out : arg));
      const io = memoryIo();
      expect(await runCli(argv, io), io.err()).toBe(0);
      expect(readFileSync(out, 'utf8') === readFileSync(join(SAMPLES, s.file), 'utf8'), `${s.file} differs from a fresh run of its command: regenerate it (traces/samples/manifest.json)`).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
