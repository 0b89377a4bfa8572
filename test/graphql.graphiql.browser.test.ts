import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, findChromium, outputDir } from './helpers/browser.ts';
import { startStoa, type StoaProcess } from './helpers/process.ts';
import { createScratchSchema, type ScratchSchema } from './helpers/pg-schema.ts';

// /graphiql driven in a real headless Chromium against `stoa serve`: the self-hosted bundle, under its CSP,
// runs a query with the Headers tab's Authorization and a subscription over graphql-ws on /graphql.
const browserFound = findChromium();
const inCi = process.env.CI === 'true';
const skip = 'missing' in browserFound && !inCi ? `browser test skipped: ${browserFound.missing}` : false;
const PASSWORD = 'correct horse battery staple';
const JWT_KEYS = JSON.stringify([{ ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid: 'graphiql-test' }]);

if ('missing' in browserFound && inCi) {
  it('has a browser to drive (CI=true)', () => assert.fail(`CI=true needs a browser for the GraphiQL test: ${browserFound.missing}`));
}

describe('GraphiQL in Chromium', { skip }, () => {
  let stoa: StoaProcess;
  let browser: Browser;
  let page: Page;
  let scratch: ScratchSchema | undefined;
  let email: string;
  let token: string;
  const consoleErrors: string[] = [];
  const requested: string[] = [];
  const socketFrames: string[] = [];
  const failed: string[] = [];
  const shots = outputDir('graphiql');

  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = { authorization: `Bearer ${token}` }) => {
    const res = await fetch(`${stoa.url}${path}`, { method, headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  /** Sets a GraphiQL editor (CodeMirror 5) as a user typing into it would, through its own API. */
  const setEditor = (selector: string, value: string) => page.evaluate(`document.querySelector(${JSON.stringify(selector)}).CodeMirror.setValue(${JSON.stringify(value)})`);
  const RESULT = `document.querySelector('section[aria-label="Result Window"] .CodeMirror').CodeMirror.getValue()`;
  const result = () => page.evaluate<string>(RESULT);
  /** Polls from here: a string predicate in page.waitForFunction is evaluated like eval, which the page's CSP refuses. */
  const waitForResult = async (pattern: RegExp, timeout = 15_000) => {
    const until = Date.now() + timeout;
    for (;;) {
      const text = await result();
      if (pattern.test(text)) return text;
      if (Date.now() > until) throw new Error(`no result matching ${pattern} within ${timeout} ms; last: ${text.slice(0, 300)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  before(async () => {
    if ('missing' in browserFound) throw new Error(`CI=true needs a browser: ${browserFound.missing}`);
    execFileSync(process.execPath, [fileURLToPath(new URL('../scripts/build-graphiql.mjs', import.meta.url))]);
    if (process.env.DATABASE_URL) scratch = await createScratchSchema('giql');
    const databaseUrl = scratch?.databaseUrl;
    stoa = await startStoa({
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { STOA_DATA_DIR: 'memory' }),
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
      STOA_JWT_KEYS: JWT_KEYS,
      STOA_SEED_DEMO: 'false',
      STOA_PASSWORD_HASH_COST: '12',
      STOA_RATE_LIMIT: 'off',
      STOA_LOAD_SHEDDING: 'off',
    });
    email = `giql.${randomUUID()}@example.com`;
    assert.equal((await api('POST', '/v1/users', { email, name: 'Graphi Ql', password: PASSWORD }, {})).status, 201);
    token = (await api('POST', '/v1/auth/login', { email, password: PASSWORD }, {})).body.data.access_token;

    browser = await chromium.launch({ executablePath: browserFound.path, headless: true, args: CHROMIUM_ARGS });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(String(error)));
    page.on('request', (request) => requested.push(request.url()));
    page.on('response', (response) => {
      if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
    });
    page.on('websocket', (socket) => {
      requested.push(socket.url());
      socket.on('framesent', (frame) => socketFrames.push(String(frame.payload)));
    });
  });

  after(async () => {
    await browser?.close();
    await stoa?.stop();
    await scratch?.drop();
  });

  it('runs `me` with the Authorization header typed in the Headers tab and shows the caller', async () => {
    await page.goto(`${stoa.url}/graphiql`);
    await page.locator('section[aria-label="Query Editor"] .CodeMirror').waitFor();
    await page.locator('button[data-name="headers"]').click();
    await setEditor('section[aria-label="Headers"] .graphiql-editor:not(.hidden) .CodeMirror', JSON.stringify({ Authorization: `Bearer ${token}` }));
    await setEditor('section[aria-label="Query Editor"] .CodeMirror', '{ me { email displayName } }');
    await page.locator('.graphiql-execute-button').click();
    await waitForResult(new RegExp(email.replace(/[.]/g, '\\.')));
    assert.deepEqual(JSON.parse(await result()).data, { me: { email, displayName: 'Graphi Ql' } });
    await page.screenshot({ path: `${shots}/01-me.png` });
  });

  it('subscribes over graphql-ws on ws://<host>/graphql, sending that header in connection_init', async () => {
    await setEditor('section[aria-label="Query Editor"] .CodeMirror', 'subscription { postCreated { title author { email } } }');
    await page.locator('.graphiql-execute-button').click();
    const deadline = Date.now() + 15_000;
    while (!socketFrames.some((f) => f.includes('"subscribe"')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const init = JSON.parse(socketFrames.find((f) => f.includes('"connection_init"')) ?? '{}');
    assert.deepEqual(init, { type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
    // The server registers the subscription just after the frame arrives: post until one shows up in the result pane.
    const title = `live ${randomUUID().slice(0, 8)}`;
    for (let attempt = 0; attempt < 20; attempt++) {
      assert.equal((await api('POST', '/v1/posts', { title, content: 'from the test' })).status, 201);
      const seen = await waitForResult(new RegExp(title), 1_000).then(() => true, () => false);
      if (seen) break;
    }
    assert.deepEqual(JSON.parse(await result()), { data: { postCreated: { title, author: { email } } } });
    assert.ok(requested.includes(`${stoa.url.replace(/^http/, 'ws')}/graphql`), `a socket to /graphql: ${requested.filter((u) => u.startsWith('ws')).join(', ')}`);
    await page.screenshot({ path: `${shots}/02-subscription.png` });
  });

  it('loaded everything from Stoa itself, with a clean console', () => {
    const origin = new URL(stoa.url);
    const foreign = requested.filter((u) => !u.startsWith('data:') && new URL(u).host !== origin.host);
    assert.deepEqual(foreign, []);
    assert.ok(requested.some((u) => u.endsWith('/graphiql/assets/graphiql.js')));
    assert.deepEqual(consoleErrors, [], `failed responses: ${failed.join(', ')}`);
    assert.deepEqual(failed, []);
  });
});
