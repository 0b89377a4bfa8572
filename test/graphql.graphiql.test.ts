import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTestApp, type TestApp } from './helpers/app.ts';

// /graphiql is self-hosted (issue 15): its page, script and styles come from Stoa, under a policy naming no other origin.
const BUNDLE = fileURLToPath(new URL('../dist/graphiql/graphiql.js', import.meta.url));

/** The page's CSP as directive → sources. */
function policy(header: unknown): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  for (const part of String(header).split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) directives.set(name, sources);
  }
  return directives;
}

describe('GraphiQL at /graphiql, self-hosted', () => {
  let t: TestApp;
  before(async () => {
    // `npm install` builds it (prepare); a checkout that skipped the build gets it here.
    if (!existsSync(BUNDLE)) execFileSync(process.execPath, [fileURLToPath(new URL('../scripts/build-graphiql.mjs', import.meta.url))]);
    t = await createTestApp();
  });
  after(() => t?.close());

  const page = () => t.app.inject({ method: 'GET', url: '/graphiql', headers: { accept: 'text/html', host: 'stoa.example:8443' } });

  it('has no inline script, style attribute or handler, and points the bundle at /graphql', async () => {
    const res = await page();
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    const scripts = [...res.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length >= 1, 'the page loads a script');
    for (const [, attributes, body] of scripts) {
      assert.match(attributes!, /\bsrc="/, 'every script has a src');
      assert.equal(body!.trim(), '', 'and no inline code');
    }
    assert.doesNotMatch(res.body, /\sstyle=|\son[a-z]+=|<style\b/i);
    assert.match(res.body, /<div id="graphiql" data-endpoint="\/graphql"/);
  });

  it('references only same-origin assets, each served 200 with its content type', async () => {
    const res = await page();
    const references = [...res.body.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((r) => r !== 'data:,'); // (no favicon request)
    assert.deepEqual(references.sort(), ['/graphiql/assets/graphiql.css', '/graphiql/assets/graphiql.js']);
    assert.doesNotMatch(res.body, /https?:|\/\/[a-z]/i, 'no other origin anywhere in the page');
    const expected: Record<string, RegExp> = { '.js': /^(text|application)\/javascript/, '.css': /^text\/css/ };
    for (const reference of references) {
      const asset = await t.app.inject({ method: 'GET', url: reference });
      assert.equal(asset.statusCode, 200, reference);
      assert.match(String(asset.headers['content-type']), expected[reference.slice(reference.lastIndexOf('.'))]!, reference);
      assert.ok(asset.rawPayload.length > 10_000, `${reference} is the real bundle`);
      assert.doesNotMatch(asset.body, /esm\.sh|unpkg\.com|cdn\.jsdelivr/, `${reference} loads nothing from a CDN`);
    }
  });

  it('serves nothing else from the assets folder: an unknown file and a path out of it are refused', async () => {
    const unknown = await t.app.inject({ method: 'GET', url: '/graphiql/assets/nope.js' });
    assert.equal(unknown.statusCode, 404, 'a missing file is 404, not 405');
    assert.equal(unknown.json().code, 'NOT_FOUND');
    assert.match(String(unknown.headers['content-type']), /application\/problem\+json/);
    assert.equal((await t.app.inject({ method: 'GET', url: '/dashboard/assets/nope.js' })).statusCode, 404);
    assert.equal((await t.app.inject({ method: 'POST', url: '/graphiql/assets/graphiql.js' })).statusCode, 405, 'a wrong method is still 405');
    for (const url of ['/graphiql/assets/../../package.json', '/graphiql/assets/%2e%2e/%2e%2e/package.json']) {
      const res = await t.app.inject({ method: 'GET', url });
      assert.notEqual(res.statusCode, 200, url);
      assert.ok(!res.body.includes('"name": "stoa"'), url);
    }
  });

  it('answers with a CSP that names no other origin and allows no inline or eval script', async () => {
    const csp = policy((await page()).headers['content-security-policy']);
    assert.deepEqual(csp.get('script-src'), ["'self'"]);
    assert.deepEqual(csp.get('default-src'), ["'self'"]);
    for (const [directive, sources] of csp) {
      for (const source of sources) {
        const allowed = source.startsWith("'") || source === 'data:' || (directive === 'connect-src' && ['ws://stoa.example:8443', 'wss://stoa.example:8443'].includes(source));
        assert.ok(allowed, `${directive} ${source} names another origin`);
      }
    }
    // GraphiQL 4's Radix dialogs and CodeMirror write <style> elements and style attributes: styles only.
    assert.deepEqual(csp.get('style-src'), ["'self'", "'unsafe-inline'"]);
  });
});
