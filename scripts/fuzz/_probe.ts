import { world } from '../../test/helpers/world.ts';
import { makeFixtures } from '../../test/helpers/api-walk.ts';
const w = await world({ env: { STOA_WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32' } });
const f = await makeFixtures(w, w.ada);
const probes: Array<[string, string, any, any?]> = [
  ['GET', '/v2/products?sort=zzz', {}],
  ['GET', '/v2/products?fields=zzz', {}],
  ['GET', '/v2/products?include=zzz', {}],
  ['GET', '/v2/products?sort=', {}],
  ['GET', '/v2/products?cursor=abc', {}],
  ['GET', '/v2/products?cursor=', {}],
  ['GET', '/v2/products?limit=5&page=2', {}],
  ['GET', '/v2/products?page=2&per_page=3&cursor=x', {}],
  ['GET', '/v2/products?price_min=10&price_max=5', {}],
  ['GET', '/v2/products?category=%00', {}],
  ['GET', '/v2/products?q=%20', {}],
  ['GET', '/v2/products?limit=1000', {}],
  ['GET', '/v2/products?page=10000000', {}],
  ['GET', '/v2/products/%00', {}],
  ['GET', '/v2/posts?created_after=2026-02-01T00:00:00Z&created_before=2026-01-01T00:00:00Z', w.ada.auth],
  ['GET', '/v2/posts?status=zzz', w.ada.auth],
  ['GET', '/v2/users?role=zzz', w.admin.auth],
  ['GET', '/v2/users?plan=zzz', w.admin.auth],
  ['GET', '/v2/orders?status=zzz', w.ada.auth],
  ['GET', '/v2/orders?total_min=10&total_max=1', w.ada.auth],
  ['GET', '/v2/usage?group_by=zzz', w.admin.auth],
  ['GET', '/v2/usage?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', w.admin.auth],
  ['GET', '/v2/events?last_event_id=zzz', w.ada.auth],
  ['GET', '/v2/events?ticket=zzz', {}],
  ['PATCH', `/v2/posts/${f.posts}`, { ...w.ada.auth, 'if-match': '' }, { title: 'x' }],
  ['PATCH', `/v2/posts/${f.posts}`, { ...w.ada.auth, 'if-match': 'zzz' }, { title: 'x' }],
  ['POST', '/v2/orders', { ...w.ada.auth }, { items: [{ product_id: f.products, quantity: 1 }] }],
  ['POST', '/v2/orders', { ...w.ada.auth, 'idempotency-key': ' ' }, { items: [{ product_id: f.products, quantity: 1 }] }],
  ['POST', '/v2/orders', { ...w.ada.auth, 'idempotency-key': 'k1' }, { items: [{ product_id: f.products, quantity: 1 }] }],
  ['POST', '/v2/orders', { ...w.ada.auth, 'idempotency-key': 'k1' }, { items: [{ product_id: f.products, quantity: 2 }] }],
  ['PUT', '/v2/products', {}, {}],
  ['PUT', '/v2/orders', {}, {}],
  ['PUT', '/v2/orders/x', {}, {}],
  ['DELETE', '/v2/me', w.ada.auth, undefined],
  ['OPTIONS', '/v2/orders', {}, undefined],
  ['OPTIONS', `/v2/posts/${f.posts}`, {}, undefined],
  ['GET', '/v2/orders/ord_x', { 'x-api-key': 'garbage' }],
  ['GET', '/v2/orders/ord_x', { authorization: 'Bearer garbage' }],
  ['POST', '/v2/users', {}, { email: "!#$%&'*+-/=?^_`{|}~@example.com", password: '0000000000000000', display_name: ' ' }],
  ['POST', '/v2/users', {}, { email: 'a@b', password: '0000000000000000', display_name: 'A' }],
  ['POST', '/v2/auth/login', {}, { email: 'a@b.co', password: '0' }],
];
for (const [method, url, headers, payload] of probes) {
  const r = await w.app.inject({ method: method as any, url, headers, ...(payload !== undefined ? { payload } : {}) });
  console.log(r.statusCode, method, url.slice(0, 90), JSON.stringify(headers).slice(0, 60), r.headers.allow ? `Allow: ${r.headers.allow}` : '', r.body.slice(0, 160));
}
await w.close();
