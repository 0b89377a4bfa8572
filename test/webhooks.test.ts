import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import type { WorkRunner } from '../src/platform/jobs/index.ts';
import { createWorker } from '../src/workers/index.ts';
import { world, type World } from './helpers/world.ts';
import type { SignedUp } from './helpers/app.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(read: () => Promise<T> | T, ok: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > until) throw new Error(`condition not met in time; last value ${JSON.stringify(value)}`);
    await sleep(25);
  }
}

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

type Behaviour = (res: ServerResponse) => void;

/** A local receiver: records every request; each path answers as told (default 200). */
class Receiver {
  readonly received: Received[] = [];
  readonly behaviours = new Map<string, Behaviour>();
  #server: Server | undefined;
  port = 0;
  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        this.received.push({ path: req.url ?? '', headers: req.headers, body, at: Date.now() });
        const behave = this.behaviours.get(req.url ?? '');
        if (behave) behave(res);
        else res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    this.port = (this.#server.address() as { port: number }).port;
  }
  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }
  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }
  async close(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise((r) => this.#server?.close(r));
  }
}

const ENV = {
  STOA_WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
  STOA_WEBHOOK_RETRY_SCHEDULE: '150ms,300ms',
  STOA_WEBHOOK_TIMEOUT_MS: '1000',
  STOA_WORKER_POLL_MS: '50',
  STOA_WEBHOOK_ENDPOINT_CONCURRENCY: '2',
};

describe('outbound webhooks', () => {
  let w: World;
  let worker: WorkRunner;
  const receiver = new Receiver();
  let path = 0;
  const fresh = () => `/hook-${++path}`;

  before(async () => {
    await receiver.start();
    // A loaded machine can take over a second to answer the local receiver; a timeout there would be retried (with
    // the same webhook-id, as at-least-once allows) and break the exact counts below. Timeouts are tested further down.
    w = await world({ env: { ...ENV, STOA_WEBHOOK_TIMEOUT_MS: '10000' } });
    worker = createWorker(w.t.container);
    await worker.start();
  });
  after(async () => {
    await worker.stop(100);
    await w.close();
    await receiver.close();
  });

  const call = (who: { authorization: string } | { 'x-api-key': string }, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
    w.app.inject({ method, url, headers: who, ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}) });

  async function endpoint(who: SignedUp, fields: Record<string, unknown> = {}) {
    const res = await call(who.auth, 'POST', '/v1/webhook-endpoints', { url: receiver.url(fresh()), event_types: ['*'], ...fields });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().data as { id: string; url: string; secret: string; status: string; event_types: string[] };
  }

  const pathOf = (url: string) => new URL(url).pathname;
  const deliveries = async (who: SignedUp, id: string, query = '') => {
    const res = await call(who.auth, 'GET', `/v1/webhook-endpoints/${id}/deliveries${query}`);
    assert.equal(res.statusCode, 200, res.body);
    return res.json().data as Array<Record<string, unknown> & { id: string; status: string; attempts: number }>;
  };

  describe('endpoints', () => {
    it('creates an endpoint: 201, Location, a whsec_ secret shown only then', async () => {
      const res = await call(w.ada.auth, 'POST', '/v1/webhook-endpoints', { url: receiver.url('/x'), event_types: ['order.*', 'charge.succeeded'], description: 'fulfilment' });
      assert.equal(res.statusCode, 201, res.body);
      const body = res.json().data;
      assert.match(body.id, /^whe_/);
      assert.match(body.secret, /^whsec_[A-Za-z0-9+/]+=*$/);
      assert.ok(Buffer.from(body.secret.slice(6), 'base64').length >= 24);
      assert.deepEqual(body.event_types, ['order.*', 'charge.succeeded']);
      assert.equal(body.status, 'enabled');
      assert.equal(body.description, 'fulfilment');
      assert.match(res.headers.location as string, new RegExp(`/webhook-endpoints/${body.id}$`));
      const got = await call(w.ada.auth, 'GET', `/v1/webhook-endpoints/${body.id}`);
      assert.equal(got.statusCode, 200);
      assert.equal(got.json().data.secret, undefined);
      assert.equal(got.json().data.url, receiver.url('/x'));
      const list = await call(w.ada.auth, 'GET', '/v1/webhook-endpoints?limit=100');
      assert.equal(list.statusCode, 200);
      assert.ok(list.json().data.some((e: { id: string; secret?: string }) => e.id === body.id && e.secret === undefined));
    });

    it("another user's endpoint is 404 on every route, and not in their list", async () => {
      const mine = await endpoint(w.ada);
      for (const [method, url, payload] of [
        ['GET', `/v1/webhook-endpoints/${mine.id}`],
        ['PATCH', `/v1/webhook-endpoints/${mine.id}`, { description: 'x' }],
        ['DELETE', `/v1/webhook-endpoints/${mine.id}`],
        ['POST', `/v1/webhook-endpoints/${mine.id}/rotate-secret`, {}],
        ['POST', `/v1/webhook-endpoints/${mine.id}/test`],
        ['GET', `/v1/webhook-endpoints/${mine.id}/deliveries`],
      ] as const) {
        for (const who of [w.bob, w.admin]) {
          const res = await call(who.auth, method, url, payload);
          assert.equal(res.statusCode, 404, `${method} ${url}: ${res.body}`);
        }
      }
      const list = await call(w.bob.auth, 'GET', '/v1/webhook-endpoints?limit=100');
      assert.ok(!list.json().data.some((e: { id: string }) => e.id === mine.id));
      assert.equal((await call(w.ada.auth, 'GET', `/v1/webhook-endpoints/${mine.id}`)).statusCode, 200);
    });

    it('scopes: webhooks:read lists, webhooks:write changes; a key without them is 403', async () => {
      const mine = await endpoint(w.ada);
      const reader = await w.apiKey(w.ada, ['webhooks:read']);
      const writer = await w.apiKey(w.ada, ['webhooks:write']);
      const none = await w.apiKey(w.ada, ['orders:read']);
      assert.equal((await call(reader, 'GET', '/v1/webhook-endpoints')).statusCode, 200);
      assert.equal((await call(reader, 'GET', `/v1/webhook-endpoints/${mine.id}/deliveries`)).statusCode, 200);
      const refused = await call(reader, 'POST', '/v1/webhook-endpoints', { url: receiver.url('/k'), event_types: ['*'] });
      assert.equal(refused.statusCode, 403);
      assert.equal(refused.json().code, 'INSUFFICIENT_SCOPE');
      assert.equal((await call(reader, 'PATCH', `/v1/webhook-endpoints/${mine.id}`, { description: 'r' })).statusCode, 403);
      assert.equal((await call(none, 'GET', '/v1/webhook-endpoints')).statusCode, 403);
      assert.equal((await call(writer, 'POST', '/v1/webhook-endpoints', { url: receiver.url('/k'), event_types: ['*'] })).statusCode, 201);
      assert.equal((await call(writer, 'PATCH', `/v1/webhook-endpoints/${mine.id}`, { description: 'w' })).statusCode, 200);
    });

    it('PATCH changes url, event_types, description and status; DELETE is 204 then 404', async () => {
      const mine = await endpoint(w.ada);
      const res = await call(w.ada.auth, 'PATCH', `/v1/webhook-endpoints/${mine.id}`, { url: receiver.url('/moved'), event_types: ['post.created'], description: null, status: 'disabled' });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json().data;
      assert.equal(body.url, receiver.url('/moved'));
      assert.deepEqual(body.event_types, ['post.created']);
      assert.equal(body.description, null);
      assert.equal(body.status, 'disabled');
      const bad = await call(w.ada.auth, 'PATCH', `/v1/webhook-endpoints/${mine.id}`, { status: 'paused' });
      assert.equal(bad.statusCode, 422);
      assert.equal((await call(w.ada.auth, 'PATCH', `/v1/webhook-endpoints/${mine.id}`, {})).statusCode, 422);
      const ssrf = await call(w.ada.auth, 'PATCH', `/v1/webhook-endpoints/${mine.id}`, { url: 'http://10.0.0.1/' });
      assert.equal(ssrf.statusCode, 422);
      assert.deepEqual(ssrf.json().errors.map((e: { field: string; code: string }) => [e.field, e.code]), [['url', 'forbidden_address']]);
      assert.equal((await call(w.ada.auth, 'DELETE', `/v1/webhook-endpoints/${mine.id}`)).statusCode, 204);
      assert.equal((await call(w.ada.auth, 'GET', `/v1/webhook-endpoints/${mine.id}`)).statusCode, 404);
      assert.equal((await call(w.ada.auth, 'DELETE', `/v1/webhook-endpoints/${mine.id}`)).statusCode, 404);
    });

    it('refuses bad input with 422 and field codes', async () => {
      const cases: Array<[Record<string, unknown>, string, string]> = [
        [{ event_types: ['*'] }, 'url', 'required'],
        [{ url: receiver.url('/v') }, 'event_types', 'required'],
        [{ url: receiver.url('/v'), event_types: [] }, 'event_types', 'too_few_items'],
        [{ url: receiver.url('/v'), event_types: ['Order created'] }, 'event_types.0', 'invalid_format'],
        [{ url: receiver.url('/v'), event_types: ['*', '*'] }, 'event_types', 'duplicate_items'],
        [{ url: 'ftp://example.com/x', event_types: ['*'] }, 'url', 'invalid_value'],
        [{ url: 'file:///etc/passwd', event_types: ['*'] }, 'url', 'invalid_value'],
        [{ url: 'not a url', event_types: ['*'] }, 'url', 'invalid_value'],
        [{ url: receiver.url('/v'), event_types: ['*'], extra: 1 }, 'extra', 'unknown_field'],
        [{ url: receiver.url('/v'), event_types: ['*'], description: 'x'.repeat(501) }, 'description', 'too_long'],
      ];
      for (const [payload, field, code] of cases) {
        const res = await call(w.ada.auth, 'POST', '/v1/webhook-endpoints', payload);
        assert.equal(res.statusCode, 422, `${JSON.stringify(payload)}: ${res.body}`);
        assert.ok(res.json().errors.some((e: { field: string; code: string }) => e.field === field && e.code === code), `${JSON.stringify(payload)} → ${res.body}`);
      }
    });
  });

  describe('SSRF', () => {
    const FORBIDDEN = [
      'http://127.0.0.2/', // loopback outside the allowed /32
      'http://localhost:1/', // a name for loopback (resolved below by the test resolver)
      'http://10.1.2.3/',
      'http://172.16.0.1/',
      'http://192.168.1.1/',
      'http://100.64.0.1/', // CGNAT
      'http://169.254.169.254/latest/meta-data/', // link-local (cloud metadata)
      'http://0.0.0.0/',
      'http://224.0.0.1/', // multicast
      'http://255.255.255.255/',
      'http://[::1]/',
      'http://[::]/',
      'http://[::ffff:127.0.0.2]/', // IPv4-mapped
      'http://[::ffff:a9fe:a9fe]/', // IPv4-mapped, hex
      'http://[64:ff9b::a00:1]/', // NAT64 of 10.0.0.1
      'http://[2002:a9fe:a9fe::1]/', // 6to4 of 169.254.169.254
      'http://[fe80::1]/',
      'http://[fc00::1]/',
      'http://[fd12:3456::1]/',
      'http://[ff02::1]/',
      'http://2130706434/', // 127.0.0.2 as one number (the URL parser normalises it)
      'http://0x7f.0.0.2/',
      'https://private.example.test/', // a name that resolves to a private address
      'https://mixed.example.test/', // a name with a public and a private address
    ];
    before(() => {
      w.t.container.webhookResolver.current = async (host) => {
        if (host === 'localhost') return [{ address: '127.0.0.2', family: 4 }];
        if (host === 'private.example.test') return [{ address: '10.0.0.7', family: 4 }];
        if (host === 'mixed.example.test') return [{ address: '93.184.216.34', family: 4 }, { address: 'fd00::1', family: 6 }];
        if (host === 'public.example.test') return [{ address: '93.184.216.34', family: 4 }];
        if (host === 'pinned.example.test') return [{ address: '127.0.0.1', family: 4 }];
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      };
    });

    it('refuses every non-public address form at registration: 422, field url, code forbidden_address', async () => {
      for (const url of FORBIDDEN) {
        const res = await call(w.ada.auth, 'POST', '/v1/webhook-endpoints', { url, event_types: ['*'] });
        assert.equal(res.statusCode, 422, `${url}: ${res.body}`);
        assert.deepEqual(res.json().errors.map((e: { field: string; code: string }) => [e.field, e.code]), [['url', 'forbidden_address']], url);
      }
    });

    it('accepts public addresses and names (a name that does not resolve now is checked at delivery)', async () => {
      for (const url of ['https://93.184.216.34/hook', 'https://[2606:4700::1111]/hook', 'https://public.example.test/hook', 'https://unknown.example.test/hook']) {
        const res = await call(w.ada.auth, 'POST', '/v1/webhook-endpoints', { url, event_types: ['webhook_endpoint.*'] });
        assert.equal(res.statusCode, 201, `${url}: ${res.body}`);
      }
    });

    it('checks again at delivery, after resolution, and connects to the checked address (pinned, no second lookup)', async () => {
      // Registered while the name answered a public address; now it answers the metadata address.
      const res = await call(w.ada.auth, 'POST', '/v1/webhook-endpoints', { url: `http://public.example.test:${receiver.port}/rebound`, event_types: ['webhook.test'] });
      assert.equal(res.statusCode, 201);
      const id = res.json().data.id;
      const previous = w.t.container.webhookResolver.current;
      w.t.container.webhookResolver.current = async (host) => (host === 'public.example.test' ? [{ address: '169.254.169.254', family: 4 }] : previous(host));
      try {
        assert.equal((await call(w.ada.auth, 'POST', `/v1/webhook-endpoints/${id}/test`)).statusCode, 202);
        const [d] = await eventually(() => deliveries(w.ada, id), (ds) => ds[0]?.attempts === 1);
        assert.equal(d!.last_status_code, null);
        assert.match(String(d!.last_error), /forbidden_address/);
        assert.equal(receiver.at('/rebound').length, 0);
      } finally {
        w.t.container.webhookResolver.current = previous;
      }
      // A name only the injected resolver knows reaches the receiver: the connection goes to the checked address.
      const pinned = await call(w.ada.auth, 'POST', '/v1/webhook-endpoints', { url: `http://pinned.example.test:${receiver.port}/pinned`, event_types: ['webhook.test'] });
      assert.equal(pinned.statusCode, 201);
      assert.equal((await call(w.ada.auth, 'POST', `/v1/webhook-endpoints/${pinned.json().data.id}/test`)).statusCode, 202);
      const got = await eventually(() => receiver.at('/pinned'), (r) => r.length === 1);
      assert.equal(got[0]!.headers.host, `pinned.example.test:${receiver.port}`);
    });
  });

  describe('deliveries', () => {
    it('delivers each visible event once per endpoint, signed per Standard Webhooks (verified by the standardwebhooks library)', async () => {
      const ep = await endpoint(w.ada, { event_types: ['post.*'] });
      const postId = await w.post(w.ada, { title: 'Hello hooks' });
      const [got] = await eventually(() => receiver.at(pathOf(ep.url)), (r) => r.length === 1);
      const payload = new Webhook(ep.secret).verify(got!.body, got!.headers as Record<string, string>) as { id: string; type: string; timestamp: string; data: { id: string; title: string } };
      assert.equal(payload.type, 'post.created');
      assert.equal(payload.data.id, postId);
      assert.equal(payload.data.title, 'Hello hooks');
      assert.match(payload.id, /^evt_/);
      assert.ok(!Number.isNaN(Date.parse(payload.timestamp)));
      assert.deepEqual(Object.keys(JSON.parse(got!.body)).sort(), ['data', 'id', 'timestamp', 'type']);
      assert.equal(got!.headers['webhook-id'], payload.id);
      assert.match(String(got!.headers['webhook-timestamp']), /^\d+$/);
      assert.match(String(got!.headers['webhook-signature']), /^v1,[A-Za-z0-9+/]+=*$/);
      assert.equal(got!.headers['content-type'], 'application/json');
      assert.match(String(got!.headers['user-agent']), /Stoa/);
      // The event is the log's: same id as GET /v1/events shows.
      const events = (await call(w.ada.auth, 'GET', '/v1/events?type=post.created&limit=100')).json().data as Array<{ id: string }>;
      assert.ok(events.some((e) => e.id === payload.id));
      const [d] = await eventually(() => deliveries(w.ada, ep.id), (ds) => ds[0]?.status === 'succeeded');
      assert.equal(d!.event_id, payload.id);
      assert.equal(d!.event_type, 'post.created');
      assert.equal(d!.attempts, 1);
      assert.equal(d!.last_status_code, 200);
      assert.equal(typeof d!.last_latency_ms, 'number');
      assert.equal(d!.last_error, null);
      assert.equal(d!.next_attempt_at, null);
      assert.match(String(d!.id), /^whd_/);
      assert.ok((d!.links as { self: string }).self);
      // A wrong secret does not verify.
      assert.throws(() => new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(got!.body, got!.headers as Record<string, string>));
      await sleep(200);
      assert.equal(receiver.at(pathOf(ep.url)).length, 1, 'delivered once');
    });

    it('an endpoint receives only events its owner may see and only the types it subscribes to', async () => {
      const adas = await endpoint(w.ada, { event_types: ['order.*'] });
      const bobs = await endpoint(w.bob, { event_types: ['order.*', 'post.created'] });
      const product = await w.product({ stock: 5 });
      const order = await w.order(w.ada, [{ product_id: product, quantity: 1 }]);
      await w.post(w.ada, { title: 'seen by everyone' });
      const got = await eventually(() => receiver.at(pathOf(adas.url)), (r) => r.length >= 1);
      assert.ok(got.every((r) => JSON.parse(r.body).type.startsWith('order.')));
      assert.equal(JSON.parse(got[0]!.body).data.id, order.id);
      await eventually(() => receiver.at(pathOf(bobs.url)), (r) => r.length >= 1);
      await sleep(300);
      const bobGot = receiver.at(pathOf(bobs.url)).map((r) => JSON.parse(r.body).type);
      assert.deepEqual(bobGot, ['post.created'], "bob does not receive ada's order");
    });

    it('secret rotation: both signatures until the previous one expires; each verifies with its secret; 0 retires at once', async () => {
      const ep = await endpoint(w.ada, { event_types: ['webhook.test'] });
      const rotated = await call(w.ada.auth, 'POST', `/v1/webhook-endpoints/${ep.id}/rotate-secret`, { expire_previous_after_seconds: 3600 });
      assert.equal(rotated.statusCode, 200, rotated.body);
      const second = rotated.json().data.secret as string;
      assert.match(second, /^whsec_/);
      assert.notEqual(second, ep.secret);
      assert.equal((await call(w.ada.auth, 'POST', `/v1/webhook-endpoints/${ep.id}/test`)).statusCode, 202);
      const [got] = await eventually(() => receiver.at(pathOf(ep.url)), (r) => r.length === 1);
      assert.equal(String(got!.headers['webhook-signature']).split(' ').length, 2);
      new Webhook(ep.secret).verify(got!.body, got!.headers as Record<string, string>);
      new Webhook(second).verify(got!.body, got!.headers as Record<string, string>);
      // A second rotation retires the oldest at once: at most two signatures.
      const third = (await call(w.ada.auth, 'POST', `/v1/webhook-endpoints/${ep.id}/rotate-secret`, {})).json().data.secret as string;
      await call(w.ada.auth, 'POST', `/v1/webhook-endpoints/${ep.id}/test`);
      const [, next] = await eventually(() => receiver.at(pathOf(ep.url)), (r) => r.length === 2);
      assert.equal(String(next!.headers['webhook-signature']).split(' ').length, 2);
      new Webhook(third).verify(next!.body, next!.headers as Record<string, string>);
      new Webhook(second).verify(next!.body, next!.headers as Record<string, string>);
      assert.throws(() => new Webhook(ep.secret).verify(next!.body, next!.headers as Record<string, string>));
      // 0: the previous secret stops at once.
      const fourth = (await call(w.ada.auth, 'POST', `/v1/webhook-endpoints/${ep.id}/rotate-secret`, { expire_previous_after_seconds: 0 })).json().data.secret as string;
      await call(w.ada.auth, 'POST', `/v1/webhook-endpoints/${ep.id}/test`);
      const [, , last] = await eventually(() => receiver.at(pathOf(ep.url)), (r) => r.length === 3);
      assert.equal(String(last!.headers['webhook-signature']).split(' ').length, 1);
      new Webhook(fourth).verify(last!.body, last!.headers as Record<string, string>);
      assert.throws(() => new Webhook(third).verify(last!.body, last!.headers as Record<string, string>));
      const bad = await call(w.ada.auth, 'POST', `/v1/webhook-endpoints/${ep.id}/rotate-secret`, { expire_previous_after_seconds: -1 });
      assert.equal(bad.statusCode, 422);
      assert.deepEqual(bad.json().errors.map((e: { field: string; code: string }) => [e.field, e.code]), [['expire_previous_after_seconds', 'out_of_range']]);
      assert.equal((await call(w.ada.auth, 'POST', `/v1/webhook-endpoints/${ep.id}/rotate-secret`, { expire_previous_after_seconds: 'soon' })).statusCode, 422);
      // The body may be left out (the default overlap, 24 h).
      const bare = await call(w.ada.auth, 'POST', `/v1/webhook-endpoints/${ep.id}/rotate-secret`);
      assert.equal(bare.statusCode, 200, bare.body);
      assert.match(bare.json().data.secret, /^whsec_/);
    });

    it('retries follow the schedule (same webhook-id), then the delivery is failed; 3xx is a failure (not followed)', async () => {
      const ep = await endpoint(w.ada, { event_types: ['webhook.test'] });
      const p = pathOf(ep.url);
      receiver.behaviours.set(p, (res) => res.writeHead(503).end());
      const test = await call(w.ada.auth, 'POST', `/v1/webhook-endpoints/${ep.id}/test`);
      assert.equal(test.statusCode, 202);
      assert.equal(test.json().data.event_type, 'webhook.test');
      const attempts = await eventually(() => receiver.at(p), (r) => r.length === 3, 10_000);
      const [d] = await eventually(() => deliveries(w.ada, ep.id), (ds) => ds[0]?.status === 'failed');
      assert.equal(d!.attempts, 3);
      assert.equal(d!.last_status_code, 503);
      assert.equal(d!.next_attempt_at, null);
      assert.equal(new Set(attempts.map((a) => a.headers['webhook-id'])).size, 1, 'the same webhook-id on every attempt');
      // Gaps follow 150 ms then 300 ms, ±20 % (and polling).
      const gaps = [attempts[1]!.at - attempts[0]!.at, attempts[2]!.at - attempts[1]!.at];
      assert.ok(gaps[0]! >= 115 && gaps[0]! < 1_000, String(gaps));
      assert.ok(gaps[1]! >= 235 && gaps[1]! < 1_500, String(gaps));
      await sleep(500);
      assert.equal(receiver.at(p).length, 3, 'no attempt after the last');
      // A redirect is not followed.
      const moved = await endpoint(w.ada, { event_types: ['webhook.test'] });
      receiver.behaviours.set(pathOf(moved.url), (res) => res.writeHead(302, { location: receiver.url('/elsewhere') }).end());
      await call(w.ada.auth, 'POST', `/v1/webhook-endpoints/${moved.id}/test`);
      const [m] = await eventually(() => deliveries(w.ada, moved.id), (ds) => ds[0]?.attempts === 1);
      assert.equal(m!.last_status_code, 302);
      assert.equal(m!.status, 'pending');
      assert.equal(receiver.at('/elsewhere').length, 0);
      // Manual retry: 202 and an attempt now, even for a failed delivery.
      receiver.behaviours.delete(p);
      const retried = await call(w.ada.auth, 'POST', `/v1/webhook-deliveries/${d!.id}/retry`);
      assert.equal(retried.statusCode, 202, retried.body);
      assert.equal(retried.json().data.status, 'pending');
      const [again] = await eventually(() => deliveries(w.ada, ep.id), (ds) => ds[0]?.status === 'succeeded');
      assert.equal(again!.attempts, 4);
      assert.equal((await call(w.bob.auth, 'POST', `/v1/webhook-deliveries/${d!.id}/retry`)).statusCode, 404);
      // The log filters by status.
      assert.equal((await deliveries(w.ada, ep.id, '?status=failed')).length, 0);
      assert.equal((await deliveries(w.ada, ep.id, '?status=succeeded')).length, 1);
      assert.equal((await call(w.ada.auth, 'GET', `/v1/webhook-endpoints/${ep.id}/deliveries?status=lost`)).statusCode, 400);
    });
  });
});

describe('isolation between endpoints', () => {
  let w: World;
  let worker: WorkRunner;
  const receiver = new Receiver();
  before(async () => {
    await receiver.start();
    w = await world({ env: ENV });
    worker = createWorker(w.t.container);
    await worker.start();
  });
  after(async () => {
    await worker.stop(100);
    await w.close();
    await receiver.close();
  });

  it('an endpoint that hangs does not delay deliveries to another endpoint; at most STOA_WEBHOOK_ENDPOINT_CONCURRENCY in flight to it', async () => {
    const make = async (who: SignedUp, path: string) =>
      (await w.app.inject({ method: 'POST', url: '/v1/webhook-endpoints', headers: who.auth, payload: { url: receiver.url(path), event_types: ['post.created'] } })).json().data as { id: string };
    await make(w.ada, '/slow');
    await make(w.bob, '/fast');
    receiver.behaviours.set('/slow', () => {}); // never answers: each attempt times out after 1 s
    for (let i = 0; i < 6; i++) await w.post(w.ada, { title: `burst ${i}` });
    const fast = await eventually(() => receiver.at('/fast'), (r) => r.length === 6, 5_000);
    const slow = receiver.at('/slow');
    assert.ok(slow.length >= 1);
    // Every fast delivery arrived before the first hanging attempt timed out.
    assert.ok(fast.at(-1)!.at < slow[0]!.at + 1_000, `fast ${fast.map((r) => r.at - slow[0]!.at)} ms after the first slow attempt`);
    await sleep(300);
    assert.equal(receiver.at('/slow').length, 2, 'two attempts in flight to the hanging endpoint, no more');
  });
});

describe('auto-disable and re-enable', () => {
  let w: World;
  let worker: WorkRunner;
  const receiver = new Receiver();
  before(async () => {
    await receiver.start();
    w = await world({ env: { ...ENV, STOA_WEBHOOK_RETRY_SCHEDULE: '100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms', STOA_WEBHOOK_DISABLE_AFTER: '300ms' } });
    worker = createWorker(w.t.container);
    await worker.start();
  });
  after(async () => {
    await worker.stop(100);
    await w.close();
    await receiver.close();
  });

  it('disables an endpoint failing for STOA_WEBHOOK_DISABLE_AFTER, records webhook_endpoint.disabled, queues nothing new, and resumes pending deliveries when enabled', async () => {
    const created = await w.app.inject({ method: 'POST', url: '/v1/webhook-endpoints', headers: w.ada.auth, payload: { url: receiver.url('/down'), event_types: ['post.created', 'webhook_endpoint.disabled'] } });
    const ep = created.json().data as { id: string; secret: string };
    receiver.behaviours.set('/down', (res) => res.writeHead(500).end());
    await w.post(w.ada, { title: 'before the outage ends' });
    const disabled = await eventually(async () => (await w.app.inject({ method: 'GET', url: `/v1/webhook-endpoints/${ep.id}`, headers: w.ada.auth })).json().data, (e) => e.status === 'disabled', 10_000);
    assert.equal(disabled.status, 'disabled');
    const events = (await w.app.inject({ method: 'GET', url: '/v1/events?type=webhook_endpoint.disabled&limit=100', headers: w.ada.auth })).json().data as Array<{ type: string; data: { id: string } }>;
    assert.ok(events.some((e) => e.data.id === ep.id), JSON.stringify(events));
    // Bob does not see ada's endpoint event.
    const bobs = (await w.app.inject({ method: 'GET', url: '/v1/events?type=webhook_endpoint.disabled&limit=100', headers: w.bob.auth })).json().data as Array<{ data: { id: string } }>;
    assert.ok(!bobs.some((e) => e.data.id === ep.id));
    const attemptsWhenDisabled = receiver.at('/down').length;
    // While disabled: no attempts and no new deliveries.
    await w.post(w.ada, { title: 'while disabled' });
    await sleep(500);
    assert.equal(receiver.at('/down').length, attemptsWhenDisabled);
    const log = (await w.app.inject({ method: 'GET', url: `/v1/webhook-endpoints/${ep.id}/deliveries`, headers: w.ada.auth })).json().data as Array<{ status: string; event_type: string }>;
    assert.equal(log.length, 1);
    assert.equal(log[0]!.status, 'pending');
    // Fixed and enabled again: the pending delivery goes out.
    receiver.behaviours.delete('/down');
    const enabled = await w.app.inject({ method: 'PATCH', url: `/v1/webhook-endpoints/${ep.id}`, headers: w.ada.auth, payload: { status: 'enabled' } });
    assert.equal(enabled.statusCode, 200);
    await eventually(async () => (await w.app.inject({ method: 'GET', url: `/v1/webhook-endpoints/${ep.id}/deliveries`, headers: w.ada.auth })).json().data[0].status, (s) => s === 'succeeded');
    const last = receiver.at('/down').at(-1)!;
    assert.equal(JSON.parse(new Webhook(ep.secret).verify(last.body, last.headers as Record<string, string>) ? last.body : '{}').data.title, 'before the outage ends');
  });
});
