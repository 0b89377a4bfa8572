import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isDatabaseUnavailable } from '../src/infra/db/unavailable.ts';
import { createTestApp, onPostgres, problemOf, type TestApp } from './helpers/app.ts';
import { cuttableProxy, type CuttableProxy } from './helpers/tcp-proxy.ts';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('a database that cannot be reached is told apart from a failing statement', () => {
  it('refused, reset, shut down, starting up, out of connections, or lost by pg: unavailable', () => {
    for (const error of [
      withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      withCode('read ECONNRESET', 'ECONNRESET'),
      withCode('terminating connection due to administrator command', '57P01'),
      withCode('the database system is starting up', '57P03'),
      withCode('sorry, too many clients already', '53300'),
      withCode('connection failure', '08006'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Client has encountered a connection error and is not queryable'),
    ]) {
      assert.equal(isDatabaseUnavailable(error), true, error.message);
    }
  });

  it('a constraint, a syntax error, a statement timeout or anything else: not unavailable', () => {
    for (const error of [withCode('duplicate key value', '23505'), withCode('syntax error', '42601'), withCode('canceling statement due to statement timeout', '57014'), new Error('boom'), 'a string']) {
      assert.equal(isDatabaseUnavailable(error), false, String(error));
    }
  });
});

describe('PostgreSQL away and back', { skip: !onPostgres && 'needs DATABASE_URL' }, () => {
  let proxy: CuttableProxy;
  let t: TestApp;
  before(async () => {
    proxy = await cuttableProxy(new URL(process.env.DATABASE_URL!));
    t = await createTestApp({ DATABASE_URL: proxy.url });
  });
  after(async () => {
    proxy.restore();
    await t.close();
    await proxy.close();
  });

  it('answers 503 SERVICE_UNAVAILABLE with Retry-After while it is away, /readyz names it, and serves again once it is back', async () => {
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/products' })).statusCode, 200);
    proxy.cut();
    for (const request of [
      { method: 'GET' as const, url: '/v1/products' },
      { method: 'POST' as const, url: '/v1/users', payload: { email: 'away@example.com', name: 'Away', password: 'correct horse battery staple' } },
    ]) {
      const res = await t.app.inject(request);
      assert.equal(res.statusCode, 503, `${request.method} ${request.url}: ${res.body}`);
      assert.ok(Number(res.headers['retry-after']) >= 1, 'Retry-After says when to come back');
      assert.equal(problemOf(res).code, 'SERVICE_UNAVAILABLE');
    }
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 503);
    assert.deepEqual(problemOf(ready).failing, ['database']);

    proxy.restore();
    // The pool drops the connections it lost as it meets them; none of them may surface as a 500.
    const statuses: number[] = [];
    for (let i = 0; i < 20 && statuses.at(-1) !== 200; i++) statuses.push((await t.app.inject({ method: 'GET', url: '/v1/products' })).statusCode);
    assert.equal(statuses.at(-1), 200, `statuses after the restore: ${statuses.join(', ')}`);
    assert.deepEqual(statuses.filter((s) => s !== 200 && s !== 503), []);
    assert.equal((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  });
});
