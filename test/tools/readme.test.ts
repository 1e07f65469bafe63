/** The README's statechart is the machine's, and its commands are the ones CI runs. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chartBlock, currentBlock } from '../../tools/readme-chart.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('embeds the current statechart (run `npm run readme` when this fails)', () => {
    expect(currentBlock(readme)).toBe(chartBlock());
    expect(chartBlock()).toMatch(/stateDiagram-v2[\s\S]*follower[\s\S]*candidate[\s\S]*leader/);
  });

  it('starts with the two commands that .ci/run executes', () => {
    const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm test');
    expect(ci).toMatch(/^npm ci$/m);
    expect(ci).toMatch(/^npm test$/m);
  });
});
