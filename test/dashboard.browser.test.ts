import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, findChromium, outputDir } from './helpers/browser.ts';
import { startStoa, type StoaProcess } from './helpers/process.ts';
import { createScratchSchema, type ScratchSchema } from './helpers/pg-schema.ts';

// The dashboard driven in a real headless Chromium against `stoa serve` (docs/dashboard.md).
const browserFound = findChromium();
const inCi = process.env.CI === 'true';
const skip = 'missing' in browserFound && !inCi ? `browser test skipped: ${browserFound.missing}` : false;
const PASSWORD = 'correct horse battery staple';
const ADMIN_EMAIL = `dash.admin.${randomUUID()}@example.com`;
const JWT_KEYS = JSON.stringify([{ ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid: 'dash-test' }]);

if ('missing' in browserFound && inCi) {
  it('has a browser to drive (CI=true)', () => assert.fail(`CI=true needs a browser for the dashboard test: ${browserFound.missing}`));
}

describe('the dashboard in Chromium', { skip }, () => {
  let stoa: StoaProcess;
  let browser: Browser;
  let page: Page;
  let receiver: Server;
  let receiverUrl: string;
  const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  const consoleErrors: string[] = [];
  let scratch: ScratchSchema | undefined;
  let email: string;
  let token: string;
  const shots = outputDir('dashboard');

  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = { authorization: `Bearer ${token}` }) => {
    const res = await fetch(`${stoa.url}${path}`, { method, headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const shot = (name: string) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
  const tab = async (name: string) => {
    await page.getByRole('tab', { name }).click();
    await page.getByRole('heading', { level: 2, name }).waitFor();
  };

  before(async () => {
    if ('missing' in browserFound) throw new Error(`CI=true needs a browser: ${browserFound.missing}`);
    execFileSync(process.execPath, [fileURLToPath(new URL('../scripts/build-dashboard.mjs', import.meta.url))]);
    if (process.env.DATABASE_URL) scratch = await createScratchSchema('dash');
    const databaseUrl = scratch?.databaseUrl;
    stoa = await startStoa({
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { STOA_DATA_DIR: 'memory' }),
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
      STOA_JWT_KEYS: JWT_KEYS,
      STOA_SEED_DEMO: 'false',
      STOA_PASSWORD_HASH_COST: '12',
      STOA_RATE_LIMIT: 'off',
      STOA_LOAD_SHEDDING: 'off',
      STOA_WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
      STOA_WORKER_POLL_MS: '200',
      STOA_USAGE_FLUSH_MS: '1000',
      STOA_ADMIN_EMAIL: ADMIN_EMAIL,
      STOA_ADMIN_PASSWORD: PASSWORD,
    });
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

    email = `dash.${randomUUID()}@example.com`;
    const created = await api('POST', '/v1/users', { email, name: 'Dash Board', password: PASSWORD }, {});
    assert.equal(created.status, 201);
    token = (await api('POST', '/v1/auth/login', { email, password: PASSWORD }, {})).body.data.access_token;

    browser = await chromium.launch({ executablePath: browserFound.path, headless: true, args: CHROMIUM_ARGS });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stoa.url });
    page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(String(error)));
  });

  after(async () => {
    await browser?.close();
    await new Promise((r) => (receiver ? receiver.close(r) : r(undefined)));
    await stoa?.stop();
    await scratch?.drop();
  });

  it('is served by Stoa under its strict CSP, with no inline script', async () => {
    const res = await fetch(`${stoa.url}/dashboard`);
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /script-src[^;]*unsafe/);
    const html = await res.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/); // every script has a src
    assert.doesNotMatch(html, /https?:\/\//); // nothing from another origin
    assert.equal((await fetch(`${stoa.url}/dashboard/assets/app.js`)).status, 200);
    assert.equal((await fetch(`${stoa.url}/dashboard/assets/app.css`)).status, 200);
  });

  it('signs in, keeps the session over a reload without localStorage, and shows the caller', async () => {
    await page.goto(`${stoa.url}/dashboard`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: /incorrect/i }).waitFor();
    await shot('01-sign-in-error');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('who').filter({ hasText: email }).waitFor();
    await page.reload();
    await page.getByTestId('who').filter({ hasText: email }).waitFor();
    const storage = await page.evaluate<{ local: number; session: number; cookie: string }>('({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie })');
    // Nothing in web storage; the refresh cookie is HttpOnly, so scripts see only the page's "signed in here" hint.
    assert.deepEqual(storage, { local: 0, session: 0, cookie: 'stoa_dashboard_session=1' });
    await shot('02-signed-in');
    // The sections are tabs: arrow keys move between them.
    await page.getByRole('tab', { name: 'API keys' }).focus();
    await page.keyboard.press('ArrowRight');
    await page.getByRole('tab', { name: 'Webhooks', selected: true }).waitFor();
    await page.keyboard.press('ArrowLeft');
    await page.getByRole('tab', { name: 'API keys', selected: true }).waitFor();
  });

  it('creates an API key whose secret is shown once, then revokes it after a confirmation', async () => {
    await tab('API keys');
    await page.getByLabel('Name').fill('browser test key');
    await page.getByLabel('posts:read').check();
    await page.getByLabel('Pin to API version').selectOption('1');
    await page.getByLabel('Expires (optional)').fill('2030-06-30T12:00');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secretBox = page.getByTestId('new-secret');
    await secretBox.waitFor();
    const secret = await secretBox.inputValue();
    assert.match(secret, /^sk_[0-9A-Za-z]+$/);
    await page.getByText('shown only this once').waitFor();
    await page.getByRole('button', { name: 'Copy', exact: true }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    assert.equal(await page.evaluate<string>('navigator.clipboard.readText()'), secret);
    await shot('03-key-created');
    // The key works, and its row shows its prefix, scope and pinned version.
    assert.equal((await api('GET', '/v1/posts', undefined, { 'x-api-key': secret })).status, 200);
    const row = page.locator('tr', { hasText: 'browser test key' });
    await row.filter({ hasText: secret.slice(0, 11) }).waitFor();
    await row.filter({ hasText: 'v1' }).waitFor();
    await row.filter({ hasText: '2030' }).waitFor();
    assert.match((await api('GET', '/v1/api-keys')).body.data.find((k: { name: string }) => k.name === 'browser test key').expires_at, /^2030-06-30T/);
    // Shown once: after a reload the secret is nowhere on the page.
    await page.reload();
    await page.getByRole('heading', { level: 2, name: 'API keys' }).waitFor();
    await row.waitFor();
    assert.equal(await page.getByTestId('new-secret').count(), 0);
    assert.equal((await page.content()).includes(secret), false);
    // Revoke: cancel first, then confirm.
    await row.getByRole('button', { name: /Revoke/ }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await row.count(), 1);
    await row.getByRole('button', { name: /Revoke/ }).click();
    await shot('04-revoke-confirm');
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal((await api('GET', '/v1/posts', undefined, { 'x-api-key': secret })).status, 401);
  });

  it('registers a webhook endpoint, sends a test and watches deliveries arrive live, with retry', async () => {
    await tab('Webhooks');
    await page.getByLabel('URL').fill(receiverUrl);
    await page.getByLabel('post.created').check();
    await page.getByRole('button', { name: 'Register endpoint' }).click();
    const secret = await page.getByTestId('webhook-secret').inputValue();
    assert.match(secret, /^whsec_/);
    const row = page.locator('tr', { hasText: receiverUrl });
    await row.waitFor();
    await row.getByRole('button', { name: 'Send test' }).click();
    const deliveries = page.getByRole('table', { name: 'Deliveries' });
    await deliveries.locator('tr[data-status="succeeded"]', { hasText: 'webhook.test' }).waitFor({ timeout: 20_000 });
    assert.ok(received.some((r) => typeof r.headers['webhook-signature'] === 'string' && r.body.includes('webhook.test')));
    // An event over the API becomes a delivery that appears without touching the page.
    const post = await api('POST', '/v1/posts', { title: 'Hello webhooks', content: 'from the browser test' });
    assert.equal(post.status, 201);
    const delivered = deliveries.locator('tr[data-status="succeeded"]', { hasText: 'post.created' });
    await delivered.waitFor({ timeout: 20_000 });
    await delivered.filter({ hasText: '200' }).waitFor();
    await shot('05-webhook-deliveries');
    // Retry sends it again: a second attempt.
    const before = received.length;
    await delivered.getByRole('button', { name: /Retry/ }).click();
    await deliveries.locator('tr', { hasText: 'post.created' }).locator('td:nth-child(3)', { hasText: '2' }).waitFor({ timeout: 20_000 });
    assert.ok(received.length > before);
    // Disable, then enable again.
    await row.getByRole('button', { name: 'Disable' }).click();
    await row.locator('.badge.disabled').waitFor();
    await row.getByRole('button', { name: 'Enable' }).click();
    await row.locator('.badge.enabled').waitFor();
    // Rotate: a new secret, shown once.
    await row.getByRole('button', { name: 'Rotate secret' }).click();
    let rotated = secret;
    for (let i = 0; i < 100 && rotated === secret; i++) {
      await page.waitForTimeout(50);
      rotated = await page.getByTestId('webhook-secret').inputValue();
    }
    assert.match(rotated, /^whsec_/);
    assert.notEqual(rotated, secret);
    // Edit the event types.
    await row.getByRole('button', { name: 'Edit' }).click();
    await page.locator('form', { hasText: 'Save' }).getByLabel('order.created').check();
    await page.getByRole('button', { name: 'Save' }).click();
    await row.filter({ hasText: 'order.created' }).waitFor();
  });

  it('shows events live as they happen over the API, filterable, pausable and expandable', async () => {
    await tab('Live events');
    await page.getByTestId('stream-status').filter({ hasText: 'live' }).waitFor({ timeout: 15_000 });
    const post = await api('POST', '/v1/posts', { title: 'Live one', content: 'c' });
    const item = page.locator('li[data-type="post.created"]', { hasText: post.body.data.id });
    await item.waitFor({ timeout: 15_000 });
    await item.locator('summary').click();
    await item.locator('pre', { hasText: '"title": "Live one"' }).waitFor();
    await shot('06-live-events');
    // Filter: another type hides it.
    await page.getByLabel('Type').selectOption('order.created');
    await item.waitFor({ state: 'detached' });
    await page.getByLabel('Type').selectOption('');
    await item.waitFor();
    // Pause holds new events until resumed.
    await page.getByRole('button', { name: 'Pause' }).click();
    const held = await api('POST', '/v1/posts', { title: 'Held one', content: 'c' });
    await page.getByRole('button', { name: /Resume \(1 held\)/ }).waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('li', { hasText: held.body.data.id }).count(), 0);
    await page.getByRole('button', { name: /Resume/ }).click();
    await page.locator('li[data-type="post.created"]', { hasText: held.body.data.id }).waitFor();
  });

  it('draws the usage charts from the traffic it made', async () => {
    await tab('Usage');
    const total = page.getByTestId('usage-total');
    await total.filter({ hasText: /2xx: [1-9]/ }).waitFor({ timeout: 15_000 });
    const text = await total.textContent();
    const requests = Number(/^(\d+) requests/.exec(text ?? '')?.[1]);
    assert.ok(requests >= 10, text ?? '');
    // The canvas has drawn lines: count painted pixels (evaluated in the page).
    const painted = await page.evaluate<number>(`(() => {
      const canvas = document.querySelector('#chart-classes canvas');
      if (!canvas) return 0;
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
      return n;
    })()`);
    assert.ok(painted > 500, `painted pixels: ${painted}`);
    await page.locator('#chart-versions canvas').waitFor();
    // Per client and version: the key made one v1 call before it was revoked; the session called v2.
    await page.locator('tr[data-client^="key_"][data-client$="/1"]').waitFor();
    await page.locator('tr[data-client="session/2"]').waitFor();
    await page.getByRole('radio', { name: 'Last day' }).click();
    await page.getByRole('radio', { name: 'Last day', checked: true }).waitFor();
    await total.filter({ hasText: /2xx: [1-9]/ }).waitFor();
    await shot('07-usage');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot('08-usage-narrow');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("shows an administrator every caller's clients and versions", async () => {
    const adminContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const adminPage = await adminContext.newPage();
      const errors: string[] = [];
      adminPage.on('pageerror', (error) => errors.push(String(error)));
      await adminPage.goto(`${stoa.url}/dashboard#usage`);
      await adminPage.getByLabel('Email').fill(ADMIN_EMAIL);
      await adminPage.getByLabel('Password').fill(PASSWORD);
      await adminPage.getByRole('button', { name: 'Sign in' }).click();
      await adminPage.getByTestId('who').filter({ hasText: 'admin' }).waitFor();
      await adminPage.getByRole('heading', { level: 2, name: 'Usage' }).waitFor();
      const me = (await api('GET', '/v1/me')).body.data.id as string;
      // Its own usage first: the other user's sessions are not there.
      assert.equal(await adminPage.locator(`tr[data-client^="session:"]`).count(), 0);
      await adminPage.getByLabel('All callers (admin)').check();
      await adminPage.locator(`tr[data-client="session:${me}/2"]`).waitFor({ timeout: 15_000 });
      await adminPage.locator('tr[data-client^="key_"][data-client$="/1"]').waitFor();
      await adminPage.screenshot({ path: `${shots}/10-admin-usage.png`, fullPage: true });
      assert.deepEqual(errors, []);
    } finally {
      await adminContext.close();
    }
  });

  it('signs out: the session is gone, also after a reload, and the console stayed clean', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await shot('09-signed-out');
    // The one error line is Chromium logging the wrong password's 401; a visit without a session asks for nothing.
    assert.equal(consoleErrors.length, 1, consoleErrors.join('\n'));
    assert.match(consoleErrors[0]!, /401 \(Unauthorized\)/);
  });
});
