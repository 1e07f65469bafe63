/**
 * CL-LIN on the Jepsen corpus (FIGURE2_CORPUS, default ../shared/data from the repository root):
 * every history listed in jepsen-histories/VERDICTS.txt is judged as its verdict says, every kv
 * `-ok` file is linearizable and every `-bad` one is not, and every violation found is a proof
 * (expectProvenViolation). Timings, per history and in total, are printed at the end.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkJepsenHistory as check, importJepsen } from '../../traces/importers/jepsen.ts';
import { checkLinearizability, historyFromEvents, kvModel, listAppendModel, registerModel } from '../../traces/linearizability/index.ts';
import type { LinResult } from '../../traces/linearizability/types.ts';
import { expectProvenViolation } from './linearizability/helpers.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const corpus = resolve(repoRoot, process.env['FIGURE2_CORPUS'] ?? '../shared/data');
const dir = join(corpus, 'jepsen-histories');
const verdictsFile = join(dir, 'VERDICTS.txt');

/** `[file, verdict]` per line of VERDICTS.txt; empty when the corpus is missing (the first test then fails, saying so). */
const verdicts: [string, string][] = existsSync(verdictsFile)
  ? readFileSync(verdictsFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => l.trim().split(/\s+/) as [string, string])
  : [];

const timings: { file: string; checkMs: number; shrinkMs: number; steps: number; ops: number; violation: string }[] = [];

describe('Jepsen corpus (CL-LIN)', () => {
  it('finds the corpus', () => {
    expect(existsSync(verdictsFile), `corpus not found at ${dir}; set FIGURE2_CORPUS to the directory holding jepsen-histories/`).toBe(true);
    expect(verdicts.length).toBeGreaterThan(50);
  });

  it('lists every history file of the corpus in VERDICTS.txt, with a known verdict', () => {
    for (const [file, verdict] of verdicts) {
      expect(existsSync(join(dir, file)), file).toBe(true);
      expect(['linearizable', 'not-linearizable'], file).toContain(verdict);
      // The kv file names say the verdict too: they must agree.
      if (file.endsWith('-ok.txt')) expect(verdict, file).toBe('linearizable');
      if (file.endsWith('-bad.txt')) expect(verdict, file).toBe('not-linearizable');
    }
  });

  for (const [file, verdict] of verdicts) {
    it(`${file} is ${verdict}`, () => {
      const imported = importJepsen(readFileSync(join(dir, file), 'utf8'), { file });
      expect(imported.errors).toEqual([]);
      expect(imported.model).toBe(file.startsWith('etcd/') ? 'register' : 'list-append');
      const history = imported.history!;
      // Timed without shrinking, then again with it: detection is what checking costs.
      const t0 = performance.now();
      const plain = check(history, { shrink: false });
      const t1 = performance.now();
      const result = check(history, {});
      const t2 = performance.now();
      expect(plain.verdict).toBe(verdict);
      expect(result.verdict).toBe(verdict);
      timings.push({
        file,
        checkMs: t1 - t0,
        shrinkMs: t2 - t1 - (t1 - t0),
        steps: plain.steps,
        ops: history.ops.length,
        violation: result.verdict === 'not-linearizable' ? `${result.violation.operations.length} of ${result.violation.keyOperations} ops on key ${result.violation.key}${result.violation.minimal ? ', minimal' : ''}` : '',
      });
      if (result.verdict === 'not-linearizable') {
        expect(result.violation.minimal, 'shrinking finished within its budget').toBe(true);
        expect(result.violation.operations.length).toBeLessThanOrEqual(6);
        if (history.model === 'register') expectProvenViolation(history.ops, result as LinResult<never, never>, registerModel);
        else expectProvenViolation(history.ops, result as LinResult<never, never>, listAppendModel);
      }
    });
  }

  it('judges the register histories the same through trace format v1 events and the kv model', () => {
    for (const [file, verdict] of verdicts.filter(([f]) => f.startsWith('etcd/'))) {
      const imported = importJepsen(readFileSync(join(dir, file), 'utf8'), { file });
      const viaEvents = historyFromEvents(imported.events);
      expect(viaEvents.errors, file).toEqual([]);
      expect(checkLinearizability(viaEvents.ops, kvModel, { shrink: false }).verdict, file).toBe(verdict);
    }
  });

  it('judges the register histories the same when a failed cas is read as an observation (Porcupine)', () => {
    for (const [file, verdict] of verdicts.filter(([f]) => f.startsWith('etcd/'))) {
      const imported = importJepsen(readFileSync(join(dir, file), 'utf8'), { file, failedCas: 'observe' });
      expect(check(imported.history!, { shrink: false }).verdict, file).toBe(verdict);
    }
  });

  afterAll(() => {
    if (timings.length === 0) return;
    const sum = (f: (t: (typeof timings)[number]) => number): number => timings.reduce((s, t) => s + f(t), 0);
    const worst = [...timings].sort((a, b) => b.checkMs - a.checkMs);
    const worstShrink = [...timings].sort((a, b) => b.shrinkMs - a.shrinkMs)[0]!;
    const lines = [
      `CL-LIN Jepsen corpus: ${timings.length} histories, check ${sum((t) => t.checkMs).toFixed(1)} ms in total (${sum((t) => t.steps)} steps), shrinking ${sum((t) => t.shrinkMs).toFixed(1)} ms more`,
      `  worst check: ${worst
        .slice(0, 4)
        .map((t) => `${t.file} ${t.checkMs.toFixed(1)} ms (${t.ops} ops, ${t.steps} steps)`)
        .join('; ')}`,
      `  worst shrink: ${worstShrink.file} ${worstShrink.shrinkMs.toFixed(1)} ms → ${worstShrink.violation}`,
      `  median check: ${[...timings].sort((a, b) => a.checkMs - b.checkMs)[Math.floor(timings.length / 2)]!.checkMs.toFixed(2)} ms`,
    ];
    console.log(lines.join('\n'));
  });
});
