/**
 * The buggy twins of the reference core (conformance/buggy-cores.ts) must each be caught by the
 * simulator + trace checker (+ CL-LIN) within 30 seeds of its scenario — some violation whose rule
 * is among the core's expected rules — while the reference core, run on the same scenario and
 * all the same seeds, gives no violation at all (no false alarm), and the simulation is not
 * stopped by a SimViolation or an assertion. Runs-to-detection and seconds are printed per core.
 */
import { describe, expect, it } from 'vitest';
import { BUGGY_CORES, REFERENCE_FACTORY, checkRun, detect, type Detection } from '../../conformance/buggy-cores.ts';
import { RULE_IDS } from '../../spec/rules.ts';

const SEED_BUDGET = 30;
const SEEDS = Array.from({ length: SEED_BUDGET }, (_, i) => i + 1);

const figures: string[] = [];

describe('buggy cores', () => {
  it('are well formed: distinct ids, known rules, the bug’s own rule among the expected ones, a story citing a B-number', () => {
    expect(BUGGY_CORES.length).toBeGreaterThanOrEqual(6);
    expect(new Set(BUGGY_CORES.map((c) => c.id)).size).toBe(BUGGY_CORES.length);
    for (const core of BUGGY_CORES) {
      expect(RULE_IDS).toContain(core.rule);
      for (const r of core.expectedRules) expect(RULE_IDS).toContain(r);
      expect(core.expectedRules).toContain(core.rule);
      expect(core.story).toMatch(/\bB\d\d\b/);
    }
  });

  for (const core of BUGGY_CORES) {
    it(`${core.id} (${core.rule}) is caught within ${SEED_BUDGET} seeds`, () => {
      const found: Detection = detect(core, { seeds: SEEDS });
      const line = found.caught
        ? `${core.id}: caught by ${found.rules.join(', ')} at seed ${found.seed} — ${found.runs} run(s), ${found.seconds.toFixed(2)} s [${core.scenario.nodes} nodes, ${core.scenario.ticks} ticks, faults ${found.faults}${core.scenario.schedule === undefined ? '' : ', scripted schedule'}]`
        : `${core.id}: NOT caught in ${found.runs} runs (${found.seconds.toFixed(2)} s); rules seen: ${found.rules.join(', ') || 'none'}`;
      figures.push(line);
      process.stdout.write(`${line}\n`);
      expect(found.caught, line).toBe(true);
      expect(found.runs).toBeLessThanOrEqual(SEED_BUDGET);
      expect(found.hits).toBe(1);
      expect(core.expectedRules).toEqual(expect.arrayContaining([...found.rules]));
    });

    it(`the reference core gives no violation on the ${core.id} scenario's ${SEED_BUDGET} seeds (no false alarm)`, () => {
      for (const seed of SEEDS) {
        const verdict = checkRun(REFERENCE_FACTORY, core.scenario, seed);
        expect(verdict.rules, `reference core, ${core.id} scenario, seed ${seed}: ${JSON.stringify(verdict.messages)}`).toEqual([]);
        expect(verdict.stopped, `reference core, ${core.id} scenario, seed ${seed}`).toBeUndefined();
      }
    });
  }

  it('detect can run every seed and count the detecting runs (for the bench)', () => {
    const core = BUGGY_CORES.find((c) => c.id === 'truncate-always');
    expect(core).toBeDefined();
    if (core === undefined) return;
    const all = detect(core, { seeds: [1, 2, 3], stopAtFirst: false });
    expect(all).toMatchObject({ caught: true, seed: 1, runs: 3, hits: 3 });
    expect(all.secondsToDetection).toBeLessThanOrEqual(all.seconds);
  });

  it('prints the detection figures', () => {
    process.stdout.write(`buggy-core detection (budget ${SEED_BUDGET} seeds):\n${figures.map((f) => `  ${f}`).join('\n')}\n`);
    expect(figures.length).toBe(BUGGY_CORES.length);
  });
});
