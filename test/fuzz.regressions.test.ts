import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { servedDocuments } from './helpers/api-walk.ts';
import type { OpenApiTruth } from './helpers/openapi-truth.ts';
import { world, type World } from './helpers/world.ts';
import { classifyRequest } from '../scripts/fuzz/conformance.ts';

/** Defects `npm run fuzz` found, each pinned by the request that showed it. */
describe('fuzz regressions', () => {
  let w: World;
  let v1: OpenApiTruth;
  let v2: OpenApiTruth;
  before(async () => {
    w = await world();
    [v1, v2] = (await servedDocuments(w.app)) as [OpenApiTruth, OpenApiTruth];
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

  /**
   * Schemathesis's positive_data_acceptance and negative_data_rejection: what
   * the served document says of a request (it fits, or breaks it), and what
   * the server answered.
   */
  const sent = async (options: { method?: 'GET' | 'POST'; url: string; headers?: Record<string, string>; payload?: unknown }) => {
    const method = options.method ?? 'GET';
    const headers = { ...(options.headers ?? {}), ...(options.payload === undefined ? {} : { 'content-type': 'application/json' }) };
    const payload = options.payload === undefined ? undefined : JSON.stringify(options.payload);
    const res = await w.app.inject({ method, url: options.url, headers, ...(payload === undefined ? {} : { payload }) });
    const truth = options.url.startsWith('/v1/') ? v1 : v2;
    return { res, verdict: classifyRequest(truth, { method, url: options.url, headers, payload }).kind };
  };

  it('a cursor-mode limit beside an offset page is answered, not refused (positive_data_acceptance)', async () => {
    const { res, verdict } = await sent({ url: '/v2/products?limit=5&page=2' });
    assert.deepEqual([verdict, res.statusCode], ['positive', 200]);
    assert.equal(res.json().pagination.per_page, 5);
  });

  it('a reversed price range is an empty page, not a 422 (positive_data_acceptance)', async () => {
    await w.product({ price: 500 });
    const { res, verdict } = await sent({ url: '/v2/products?price_min=1000&price_max=10' });
    assert.deepEqual([verdict, res.statusCode, res.json().data], ['positive', 200, []]);
  });

  it('sort, fields and include document the names a list takes: a name the document allows is answered, another is refused', async () => {
    const allowed = await sent({ url: '/v2/posts?sort=-created_at,title&fields=id,title,author.id&include=author', headers: w.ada.auth });
    assert.deepEqual([allowed.verdict, allowed.res.statusCode], ['positive', 200]);
    for (const url of ['/v2/posts?sort=zzz', '/v2/posts?fields=password_hash', '/v2/posts?include=everything', '/v2/posts?sort=']) {
      const refused = await sent({ url, headers: w.ada.auth });
      assert.deepEqual([refused.verdict, refused.res.statusCode], ['negative', 400], url);
    }
    // A relation's field without its include picks nothing, where it was a 400 the document did not foresee.
    const bare = await sent({ url: '/v2/posts?fields=id,author.id', headers: w.ada.auth });
    assert.deepEqual([bare.verdict, bare.res.statusCode], ['positive', 200]);
    // A collection with nothing to include documents no include at all.
    assert.ok(!v2.parametersOf('/v2/products', 'GET').some((p) => p.name === 'include'));
  });

  it("v1 lists users by the old name too, and only v1 documents users' offset pages", async () => {
    const old = await sent({ url: '/v1/users?sort=-name&fields=id,name', headers: w.admin.auth });
    assert.deepEqual([old.verdict, old.res.statusCode], ['positive', 200]);
    assert.ok(v1.parametersOf('/v1/users', 'GET').some((p) => p.name === 'page'));
    assert.ok(!v2.parametersOf('/v2/users', 'GET').some((p) => p.name === 'page'), 'v2 user lists are cursor-only');
  });

  it('filters of statuses, roles, plans and event types document their values', async () => {
    for (const [url, auth] of [
      ['/v2/orders?status=pending,cancelled', w.ada.auth],
      ['/v2/users?role=admin&plan=free,pro&status=active', w.admin.auth],
      ['/v2/events?type=order.*,user.created', w.ada.auth],
      ['/v2/usage?group_by=api_key,api_version', w.ada.auth],
    ] as const) {
      const { res, verdict } = await sent({ url, headers: auth });
      assert.deepEqual([verdict, res.statusCode], ['positive', 200], url);
    }
    for (const url of ['/v2/orders?status=lost', '/v2/usage?group_by=api_key,api_key', '/v2/events?type=Order']) {
      const { res, verdict } = await sent({ url, headers: w.ada.auth });
      assert.deepEqual([verdict, res.statusCode], ['negative', 400], url);
    }
  });

  it('a blank display_name and NUL in text break the document as they break the server (negative_data_rejection)', async () => {
    const blank = await sent({ method: 'POST', url: '/v2/users', payload: { email: 'blank@example.com', display_name: ' \t', password: 'correct horse battery' } });
    assert.deepEqual([blank.verdict, blank.res.statusCode], ['negative', 422]);
    const nul = await sent({ method: 'POST', url: '/v2/users', payload: { email: 'nul@example.com', display_name: 'N', password: 'correct\u0000horse battery' } });
    assert.deepEqual([nul.verdict, nul.res.statusCode], ['negative', 400]);
    const query = await sent({ url: '/v2/products?q=%00' });
    assert.deepEqual([query.verdict, query.res.statusCode], ['negative', 400]);
    const fine = await sent({ method: 'POST', url: '/v2/users', payload: { email: 'fine@example.com', display_name: ' Ada ', password: 'correct horse battery' } });
    assert.deepEqual([fine.verdict, fine.res.statusCode], ['positive', 201]);
  });

  it('GET /events asks for a credential before reading the cursor (ignored_auth: 401, not 400)', async () => {
    const { res, verdict } = await sent({ url: '/v2/events?limit=5' });
    assert.deepEqual([verdict, res.statusCode], ['positive', 401]);
    assert.equal((await sent({ url: '/v2/events?cursor=forged' })).res.statusCode, 401);
  });

  it('a currency the service does not know, a date that does not exist and a webhook URL without a host break the document', async () => {
    const product = { name: 'Mug', category: 'kitchen', price: 100, stock: 1 };
    const known = await sent({ method: 'POST', url: '/v2/products', headers: w.admin.auth, payload: { ...product, currency: 'EUR' } });
    assert.deepEqual([known.verdict, known.res.statusCode], ['positive', 201]);
    const unknown = await sent({ method: 'POST', url: '/v2/products', headers: w.admin.auth, payload: { ...product, currency: 'AAA' } });
    assert.deepEqual([unknown.verdict, unknown.res.statusCode], ['negative', 422]);
    const comma = await sent({ method: 'POST', url: '/v2/products', headers: w.admin.auth, payload: { ...product, currency: 'EUR', category: 'a,b' } });
    assert.deepEqual([comma.verdict, comma.res.statusCode], ['negative', 422]);
    const charge = await sent({ method: 'POST', url: '/v2/charges', headers: { ...w.ada.auth, 'idempotency-key': 'fuzz-regression-charge' }, payload: { amount: 100, currency: 'eUr', source: 'tok_visa' } });
    assert.deepEqual([charge.verdict, charge.res.statusCode], ['positive', 201]);
    const report = await sent({ method: 'POST', url: '/v2/reports', headers: w.ada.auth, payload: { type: 'sales', from: '2026-02-30', to: '2026-03-01' } });
    assert.deepEqual([report.verdict, report.res.statusCode], ['negative', 422], 'February 30th is no day (it used to roll over to March 2)');
    const hook = await sent({ method: 'POST', url: '/v2/webhook-endpoints', headers: w.ada.auth, payload: { url: 'htTp://', event_types: ['*'] } });
    assert.deepEqual([hook.verdict, hook.res.statusCode], ['negative', 422]);
  });

  it('the document states the headers answers carry, and they carry them (response_headers_conformance)', async () => {
    const created = await w.app.inject({ method: 'POST', url: '/v2/posts', headers: w.ada.auth, payload: { title: 'Headers', content: 'stated' } });
    const onCreate = v2.responseHeadersOf('/v2/posts', 'POST', 201).filter((h) => h.required).map((h) => h.name);
    assert.deepEqual(onCreate.sort(), ['Location', 'X-Request-Id']);
    assert.equal(created.headers.location, created.json().data.links.self);
    const read = await w.app.inject({ method: 'GET', url: String(created.headers.location), headers: w.ada.auth });
    assert.ok(v2.responseHeadersOf('/v2/posts/{id}', 'GET', 200).some((h) => h.name === 'ETag' && h.required));
    assert.match(String(read.headers.etag), /^(W\/)?"[^"]*"$/);
    assert.equal(read.headers['stoa-version'], '2');
  });

  it('an inbound webhook whose signature does not verify is a 401 (the sender failed to authenticate), not a 400 for a request that fits', async () => {
    const { res, verdict } = await sent({ method: 'POST', url: '/v2/webhooks/payment-processor' });
    assert.deepEqual([verdict, res.statusCode], ['positive', 401]);
    assert.equal(res.json().code, 'WEBHOOK_SIGNATURE_INVALID');
  });
});
