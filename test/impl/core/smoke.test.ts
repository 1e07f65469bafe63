import { describe, expect, it } from 'vitest';
import { CoreCluster } from '../../support/core-harness.ts';

describe('core smoke', () => {
  it('elects, replicates 100 commands, applies them in order everywhere', () => {
    const c = new CoreCluster({ ids: ['n1', 'n2', 'n3'] });
    c.elect('n1');
    expect(c.leaders()).toEqual(['n1']);
    for (let i = 1; i <= 100; i++) {
      const r = c.node('n1').propose(`cmd-${i}`);
      expect(r.ok).toBe(true);
      c.deliver();
    }
    c.heartbeat('n1', 2);
    const expected = Array.from({ length: 100 }, (_, i) => `cmd-${i + 1}`);
    for (const id of ['n1', 'n2', 'n3']) expect(c.appliedData(id)).toEqual(expected);
  });
});
