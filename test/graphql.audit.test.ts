import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { serverAudits } from 'graphql-http';
import { createTestApp, type TestApp } from './helpers/app.ts';

describe('the graphql-http server audit (GraphQL over HTTP), against a listening server', () => {
  let t: TestApp;
  let url: string;
  before(async () => {
    t = await createTestApp();
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    url = `${address}/graphql`;
  });
  after(() => t.close());

  it('passes every MUST and every SHOULD audit', async () => {
    const failures: string[] = [];
    let ran = 0;
    for (const audit of serverAudits({ url, fetchFn: fetch })) {
      const result = await audit.fn();
      ran += 1;
      if (result.status === 'error' || result.status === 'warn') {
        const body = result.status === 'error' || result.status === 'warn' ? await result.response.text().catch(() => '') : '';
        failures.push(`${result.status}: ${audit.name} — ${result.reason} (${result.response.status} ${body.slice(0, 200)})`);
      }
    }
    assert.ok(ran > 50, `ran ${ran} audits`);
    assert.deepEqual(failures, []);
  });
});
