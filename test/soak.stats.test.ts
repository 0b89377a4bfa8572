import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { linearFit, quantile, table } from '../scripts/soak/stats.ts';

describe('soak statistics', () => {
  it('quantile: nearest rank, whatever the order of the values', () => {
    const values = [50, 10, 40, 20, 30, 100, 90, 80, 70, 60];
    assert.equal(quantile(values, 0.5), 50);
    assert.equal(quantile(values, 0.99), 100);
    assert.equal(quantile(values, 0), 10);
    assert.ok(Number.isNaN(quantile([], 0.5)));
  });

  it('linearFit: the slope of memory growing 2 MB a minute under noise that averages out; flat is 0', () => {
    const noise = [0.5, -0.5, 0.3, -0.3];
    const growing = Array.from({ length: 20 }, (_, i) => ({ x: i / 4, y: 70 + 2 * (i / 4) + noise[i % 4]! }));
    assert.ok(Math.abs(linearFit(growing).slope - 2) < 0.1);
    assert.equal(linearFit([{ x: 0, y: 5 }, { x: 1, y: 5 }, { x: 2, y: 5 }]).slope, 0);
    assert.ok(Number.isNaN(linearFit([{ x: 1, y: 5 }]).slope));
  });

  it('table: numbers right-aligned to one decimal, text left-aligned', () => {
    assert.equal(table(['op', 'ms'], [['GET', 1.25], ['POST /orders', 12]]), ['op            ms', '------------  ---', 'GET           1.3', 'POST /orders   12'].join('\n'));
  });
});
