/**
 * The traces of what figure2 found in third-party implementations (traces/samples/third-party/,
 * written up in docs/targets/): each file is named `<target>-<RULE>-<what>.ndjson`, and
 * `figure2 check` must reject it with that rule — the findings stay reproducible from their
 * evidence, and the checker keeps catching them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RULE_IDS } from '../../spec/rules.ts';
import { runCli } from '../../tools/cli.ts';
import { memoryIo } from '../../tools/io.ts';

const DIR = 'traces/samples/third-party';
const NAME = /^(liferaft|pysyncobj)-([A-Z]+-[A-Z0-9]+)-[a-z0-9-]+\.ndjson$/;
const files = readdirSync(DIR).filter((f) => f.endsWith('.ndjson'));

describe('third-party findings: each sample trace shows its rule', () => {
  it('has samples for both targets, all named <target>-<RULE>-<what>.ndjson with a catalog rule', () => {
    expect(files.some((f) => f.startsWith('liferaft-'))).toBe(true);
    for (const f of files) {
      const m = NAME.exec(f);
      expect(m, `${f}: not named <target>-<RULE>-<what>.ndjson`).not.toBeNull();
      expect(RULE_IDS as readonly string[]).toContain(m?.[2]);
    }
  });

  it.each(files.map((f) => [f, NAME.exec(f)?.[2] ?? '?'] as const))('%s: figure2 check reports %s', async (file, rule) => {
    const path = join(DIR, file);
    const io = memoryIo({ [path]: readFileSync(path, 'utf8') });
    expect(await runCli(['check', path, '--json'], io)).toBe(1);
    const report = JSON.parse(io.out()) as { violations: { rule: string }[]; linearizability?: { verdict: string } };
    // CL-LIN is the linearizability checker's verdict, not a trace-checker violation.
    const rules = [...report.violations.map((v) => v.rule), ...(report.linearizability?.verdict === 'not-linearizable' ? ['CL-LIN'] : [])];
    expect(rules).toContain(rule);
  });
});
