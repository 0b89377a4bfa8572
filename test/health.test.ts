import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createReadiness } from '../src/platform/health/index.ts';

describe('readiness probes (platform/health)', () => {
  it('is ready when every probe answers', async () => {
    const report = await createReadiness({ database: async () => 1, redis: async () => 'PONG' }).check();
    assert.deepEqual(report, { ready: true, checks: { database: 'ok', redis: 'ok' }, failing: [] });
  });

  it('names each failing probe with its reason, whether it rejects, throws at once or hangs', async () => {
    const report = await createReadiness(
      {
        database: async () => {
          throw new Error('connection refused');
        },
        redis: () => {
          throw new Error('not connected');
        },
        queue: () => new Promise(() => {}),
        cache: async () => 'ok',
      },
      50,
    ).check();
    assert.equal(report.ready, false);
    assert.deepEqual(report.failing, ['database', 'redis', 'queue']);
    assert.equal(report.checks.database, 'failing: connection refused');
    assert.equal(report.checks.redis, 'failing: not connected');
    assert.equal(report.checks.queue, 'failing: no answer within 50 ms');
    assert.equal(report.checks.cache, 'ok');
  });

  it('bounds a failure reason to 200 characters', async () => {
    const report = await createReadiness({ db: async () => Promise.reject(new Error('x'.repeat(1000))) }).check();
    assert.equal(report.checks.db!.length, 200);
  });
});
