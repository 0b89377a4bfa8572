import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { servedDocuments } from './helpers/api-walk.ts';
import type { OpenApiTruth } from './helpers/openapi-truth.ts';
import { world, type World } from './helpers/world.ts';

/** Defects `npm run fuzz` found, each pinned by the request that showed it. */
describe('fuzz regressions', () => {
  let w: World;
  let v2: OpenApiTruth;
  before(async () => {
    w = await world();
    v2 = (await servedDocuments(w.app))[1]!;
  });
  after(() => w.close());

  const checked = async (options: { method: 'DELETE'; url: string; headers: Record<string, string>; payload?: string }) => {
    const res = await w.app.inject(options);
    const departures = v2.check({ method: options.method, url: options.url, status: res.statusCode, contentType: res.headers['content-type'] as string | undefined, body: res.body });
    return { res, departures };
  };

  it('a DELETE with a body of a refused media type answers a documented 415 and deletes nothing', async () => {
    const post = await w.post(w.ada);
    const { res, departures } = await checked({ method: 'DELETE', url: `/v2/posts/${post}`, headers: { ...w.ada.auth, 'content-type': 'application/xml' }, payload: '<a/>' });
    assert.equal(res.statusCode, 415);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    assert.deepEqual(departures, []);
    assert.equal((await w.app.inject({ method: 'GET', url: `/v2/posts/${post}`, headers: w.ada.auth })).statusCode, 200);
  });

  it('a DELETE with a body over the limit answers a documented 413', async () => {
    const { res, departures } = await checked({
      method: 'DELETE',
      url: '/v2/api-keys/key_0000000000000000',
      headers: { ...w.ada.auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ x: 'a'.repeat(2 * 1024 * 1024) }),
    });
    assert.equal(res.statusCode, 413);
    assert.deepEqual(departures, []);
  });
});
